"""``simulate``: replay the reorder policy over the history (docs/cli.md, docs/inventory-policy.md).

File mode (``--input SALES --inventory INV``) or database mode (``--client``).
Writes ``items.csv``, ``classes.csv`` (per ABC x XYZ class) and
``total.csv`` into ``--output DIR``; without it, the totals go to stdout.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from forecasting.applications.inventory.simulation import (
    DEFAULT_REVIEWS,
    MAX_REVIEWS,
    validate_reviews,
)
from forecasting.core.errors import ForecastingError


def register(sub: argparse._SubParsersAction, model_names: str, service_level, positive_int) -> None:
    """Add ``simulate`` to the ``python -m forecasting`` parser."""
    p = sub.add_parser("simulate", help="replay the reorder policy over the last reviews of history")
    p.add_argument("--input", help="file mode: sales history, CSV or Parquet")
    p.add_argument("--inventory", help="file mode: inventory CSV (the policy parameters of each item)")
    p.add_argument("--client", help="database mode: the client (tenant) name")
    p.add_argument("--items", help="database mode: comma-separated item ids (default: all)")
    p.add_argument("--database-url", default=None, help="database mode: default $DATABASE_URL or sqlite:///data/app.db")
    p.add_argument("--model", default="ma7", help=f"one of: {model_names} (default ma7)")
    p.add_argument("--service-levels", type=_levels(service_level), default=None,
                   help="comma-separated cycle service levels, one policy each side by side, e.g. 0.9,0.95 "
                        "(default: each item's own)")
    p.add_argument("--service-type", choices=("cycle", "fill"), default=None,
                   help="cycle: chance of no stock-out per cycle; fill: share of demand served from stock "
                        "(default: each item's own, else its class's)")
    p.add_argument("--reviews", type=_reviews, default=DEFAULT_REVIEWS,
                   help=f"reviews replayed, each the item's review period (default {DEFAULT_REVIEWS}, "
                        f"at most {MAX_REVIEWS})")
    p.add_argument("--chunk-items", type=positive_int, default=1_000, help="items simulated at once (default 1,000)")
    p.add_argument("--output", help="folder for items.csv, classes.csv and total.csv (default: totals to stdout)")
    p.set_defaults(handler=simulate)


def _levels(service_level):
    def parse(text: str) -> tuple[float, ...]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError("give one or more service levels, e.g. 0.9,0.95")
        return tuple(service_level(p) for p in parts)
    return parse


def _reviews(text: str) -> int:
    try:
        return validate_reviews(int(text))
    except (ValueError, ForecastingError):
        raise argparse.ArgumentTypeError(f"reviews must be a whole number from 1 to {MAX_REVIEWS}, got {text!r}") \
            from None


def simulate(args: argparse.Namespace) -> int:
    from forecasting.cli.progress import progress_bar
    from forecasting.io.csv_export import write_csv

    variants = [{"service_level": level} for level in args.service_levels] if args.service_levels else [{}]
    if args.service_type:
        variants = [{**v, "service_type": args.service_type} for v in variants]
    if args.output and Path(args.output).exists() and not Path(args.output).is_dir():
        raise ForecastingError(f"--output {args.output} is a file; give a folder")
    with progress_bar(f"simulate {args.model}") as progress:
        if args.client:
            from forecasting.cli.db_commands import _client_services, _items
            from forecasting.services.simulation import SimulationService

            services, client_id = _client_services(args)
            outcome = SimulationService(services.forecasts).simulate(
                client_id, _items(args.items), args.model, args.reviews, variants, progress=progress)
        elif args.input and args.inventory:
            from forecasting.io.inventory_csv import read_inventory_csv
            from forecasting.io.sales_csv import read_sales_csv
            from forecasting.services.simulation import simulate_policy

            sales = _read_sales(args.input, read_sales_csv)
            inventory = read_inventory_csv(args.inventory, default_service_level=0.95)
            outcome = simulate_policy(sales, inventory, args.model, args.reviews, variants, progress=progress,
                                      chunk_items=args.chunk_items)
        else:
            raise ForecastingError(
                "simulate needs --input SALES.csv and --inventory INV.csv (file mode) or --client NAME (database mode)")
    if outcome.skipped:
        print(f"skipped {len(outcome.skipped)} item(s) with too little history before the first review: "
              f"{', '.join(outcome.skipped[:10])}", file=sys.stderr)
    total = _labelled(outcome.total, variants)
    if not args.output:
        write_csv(total, None)
        return 0
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(_labelled(outcome.items, variants), folder / "items.csv")
    write_csv(_labelled(outcome.classes, variants), folder / "classes.csv")
    write_csv(total, folder / "total.csv")
    return 0


def _labelled(frame, variants):
    """The frame with each variant's policy columns (e.g. service_level) after ``variant``."""
    out = frame.copy()
    at = list(out.columns).index("variant") + 1
    for column in sorted({k for v in variants for k in v}, reverse=True):
        out.insert(at, f"policy_{column}", out["variant"].map(lambda v, c=column: variants[v].get(c)))
    return out


def _read_sales(path: str, read_sales_csv):
    from forecasting.io.parquet_reader import is_parquet

    if is_parquet(path):
        import pandas as pd

        from forecasting.io.sales_csv import iter_sales_file

        parts = [c for c in iter_sales_file(path) if c is not None]
        return pd.concat(parts, ignore_index=True).drop(columns="_row", errors="ignore")
    return read_sales_csv(path)
