"""Calendar commands: ``import-calendar`` and ``calendar`` (a client's promotions, events, holidays, prices)."""
from __future__ import annotations

import argparse
import sys

from forecasting.cli.db_commands import database_command, services_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-calendar`` and ``calendar`` to the ``python -m forecasting`` parser."""
    p = database_command(subparsers, "import-calendar",
                         "replace a client's calendar with a file's (promotions, events, holidays, planned prices; "
                         "nothing imported on any problem)", _import_calendar)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("file", help="calendar CSV or Parquet: type,item_id,category,start,end,name,discount,price "
                                "(docs/data-formats.md)")
    p = database_command(subparsers, "calendar", "a client's stored calendar (CSV, the import's format)", _calendar)
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")


def _import_calendar(args: argparse.Namespace) -> int:
    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    calendar = services.data.import_calendar(client_id, args.file)
    names = ", ".join(calendar.covariates) or "none"
    print(f"imported {len(calendar.entries)} calendar entr{'y' if len(calendar.entries) == 1 else 'ies'} for client "
          f"{args.client!r} (covariates: {names})")
    return 0


def _calendar(args: argparse.Namespace) -> int:
    from forecasting.io.calendar_file import calendar_csv
    from forecasting.io.output_file import output_file

    services = services_from_args(args)
    client_id = services.data.client_by_name(args.client).client_id
    data = calendar_csv(services.data.calendar(client_id))
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return 0
    with output_file(args.output) as temp:
        temp.write_bytes(data)
    return 0
