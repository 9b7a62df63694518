"""Purchasing commands: ``import-suppliers`` and ``orders`` (issue 19's command-line contract, docs/cli.md)."""
from __future__ import annotations

import argparse
import sys

from forecasting.cli.db_commands import database_command, services_from_args
from forecasting.core.errors import ForecastingError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-suppliers`` and ``orders`` to the ``python -m forecasting`` parser."""
    p = database_command(subparsers, "import-suppliers",
                         "import a supplier file (suppliers and item links; nothing imported on any problem)",
                         _import_suppliers)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("file", help="supplier CSV: record,supplier,lead_time_days,...,item_id,pack_size,... "
                                "(docs/data-formats.md)")
    p = database_command(subparsers, "orders",
                         "today's purchase proposal by supplier (CSV), or approve it (--approve)", _orders)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--model", default="ma7", help="the demand model of the reorder table (default ma7)")
    p.add_argument("--budget", type=_budget, default=None, help="cap on the proposal's total value (default none)")
    p.add_argument("--approve", default=None, metavar="all|PO-1,PO-2",
                   help="approve every draft order (proposing first when there is none), or the orders listed")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _import_suppliers(args: argparse.Namespace) -> int:
    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    suppliers, links = services.purchasing.import_suppliers(client_id, args.file)
    print(f"imported {suppliers} supplier(s) and {links} item link(s) for client {args.client!r}")
    return 0


def _orders(args: argparse.Namespace) -> int:
    from forecasting.io.csv_export import write_csv

    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    purchasing = services.purchasing
    if args.approve is None:
        proposal = purchasing.propose(client_id, args.model, budget=args.budget)
        lines = proposal.lines
        note = f"{lines['order'].nunique()} draft order(s), {len(lines)} line(s)"
        if len(proposal.over_budget):
            note += f"; {len(proposal.over_budget)} line(s) left out by the budget"
    else:
        chosen = [o.strip() for o in args.approve.split(",") if o.strip()]
        if not chosen:
            raise ForecastingError("--approve is empty; give all or order ids such as PO-3,PO-4")
        every = chosen == ["all"]
        if every and purchasing.lines(client_id, ("draft",)).empty:
            purchasing.propose(client_id, args.model, budget=args.budget)
        before = set(purchasing.lines(client_id, ("approved",))["line"])
        count = purchasing.approve(client_id, None, None if every else chosen)
        lines = purchasing.lines(client_id, ("approved",))
        lines = lines[~lines["line"].isin(before)]
        note = f"approved {count} line(s): now stock on order"
    write_csv(lines, args.output)
    print(note, file=sys.stderr)
    return 0
