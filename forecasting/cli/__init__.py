"""``python -m forecasting``: file-mode commands (docs/cli.md) and database commands.

Every command exits 0 on success; bad input gives one ``error: ...`` line on
stderr and exit code 2, never a traceback (set FORECASTING_DEBUG=1 to see one
for unexpected failures).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from forecasting.applications.inventory.inventory_input import validate_service_level
from forecasting.batch.plan import DEFAULT_CHUNK_ITEMS, ENGINES
from forecasting.core.calendar import HORIZON_BOUNDS, Frequency, horizon_help
from forecasting.core.errors import ForecastingError, is_database_error
from forecasting.core.models.base import DEFAULT_QUANTILES, validate_horizon, validate_quantiles
from forecasting.io import scratch

#: what ``--freq`` accepts: the bucket of the data (daily, weekly, monthly)
FREQ_CHOICES = tuple(HORIZON_BOUNDS)
FREQ_HELP = ("the data's bucket: D daily, W weekly, M monthly (default: detected from the dates; "
             "dates off the bucket are refused)")
BUCKET_HELP = ("daily data planned in weeks (W: weeks ending on the as-of date) or months (M: whole calendar "
               "months): the models are fitted on the bucket totals and forecast them; --horizon counts that bucket")

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as one ``error:`` line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ForecastingError(f"{message} (see `{self.prog} --help`)")


def _horizon(text: str) -> int:
    """A whole number within the widest bucket's bounds; the data's own bucket is checked once it is known."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"horizon must be a whole number of buckets, got {text!r}") from None
    try:
        return validate_horizon(value, freq=Frequency("D"))
    except ForecastingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _quantiles(text: str) -> tuple[float, ...]:
    parts = [p for p in text.split(",") if p.strip()]
    try:
        return validate_quantiles(parts)
    except ForecastingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def service_level(text: str) -> float:
    try:
        return validate_service_level(text)
    except ForecastingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from forecasting.cli import api_commands, calendar_commands, db_commands, purchasing_commands, simulate_command
    from forecasting.modes.factory import ModelFactory

    model_names = ", ".join(ModelFactory.names())
    parser = _Parser(prog="python -m forecasting", description="Demand forecasting and replenishment.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def database_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--client", help="database mode: the client (tenant) name")
        p.add_argument("--items", help="database mode: comma-separated item ids (default: all)")
        p.add_argument("--database-url", default=None, help="database mode: default $DATABASE_URL or sqlite:///data/app.db")

    def batch_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--chunk-items", type=positive_int, default=DEFAULT_CHUNK_ITEMS,
                       help=f"items per chunk: memory grows with it, not with the catalogue (default {DEFAULT_CHUNK_ITEMS:,})")
        p.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: this process (default); ray: a Ray cluster ($RAY_ADDRESS, else a local one)")

    p = sub.add_parser("forecast", help="forecast every item of a sales file (or of a client in the database)")
    p.add_argument("--input", help="sales history, CSV or Parquet (item_id,date,quantity[,covariates])")
    p.add_argument("--model", required=True, help=f"one of: {model_names}")
    p.add_argument("--horizon", required=True, type=_horizon, help=f"buckets to forecast: {horizon_help()}")
    p.add_argument("--freq", choices=FREQ_CHOICES, type=str.upper, default=None, help=FREQ_HELP)
    p.add_argument("--bucket", choices=("W", "M"), type=str.upper, default=None, help=BUCKET_HELP)
    p.add_argument("--quantiles", type=_quantiles, default=DEFAULT_QUANTILES,
                   help="comma-separated levels, e.g. 0.1,0.5,0.9 (the default); '' for none")
    p.add_argument("--output", help="file to write: CSV, or Parquet for a .parquet name (default: CSV to stdout)")
    p.add_argument("--calendar", help=CALENDAR_HELP)
    database_options(p)
    batch_options(p)
    p.set_defaults(handler=_forecast)

    p = sub.add_parser("backtest", help="score models on held-out history (rolling windows)")
    p.add_argument("--input", help="sales history, CSV or Parquet")
    p.add_argument("--model", required=True, help=f"one or more of {model_names}, comma-separated")
    p.add_argument("--horizon", required=True, type=_horizon, help=f"buckets per window: {horizon_help()}")
    p.add_argument("--freq", choices=FREQ_CHOICES, type=str.upper, default=None, help=FREQ_HELP)
    p.add_argument("--bucket", choices=("W", "M"), type=str.upper, default=None, help=BUCKET_HELP)
    p.add_argument("--windows", type=positive_int, default=1, help="number of backtest windows (default 1)")
    p.add_argument("--quantiles", type=_quantiles, default=DEFAULT_QUANTILES, help="as for forecast")
    p.add_argument("--output", help="as for forecast")
    p.add_argument("--calendar", help="as for forecast")
    database_options(p)
    batch_options(p)
    p.set_defaults(handler=_backtest)

    p = sub.add_parser("reorder", help="reorder table: safety stock, reorder point, order quantity")
    p.add_argument("--input", help="sales history, CSV or Parquet")
    p.add_argument("--inventory", help="inventory CSV (item_id,on_hand,on_order,lead_time_days,...)")
    p.add_argument("--model", default=None,
                   help=f"one of: {model_names} (default: with --client, the published plan with its overrides when "
                        "the client has one, else ma7; file mode ma7)")
    p.add_argument("--service-level", type=service_level, default=None,
                   help="default for rows without one (else the item's ABC x XYZ class decides)")
    p.add_argument("--service-type", choices=("cycle", "fill"), default=None,
                   help="cycle (chance of no stock-out) or fill (share of demand served); default: the item's own, "
                        "else its class's (cycle)")
    p.add_argument("--freq", choices=FREQ_CHOICES, type=str.upper, default=None, help=FREQ_HELP)
    p.add_argument("--bucket", choices=("W", "M"), type=str.upper, default=None,
                   help=BUCKET_HELP.replace("; --horizon counts that bucket", "") + "; lead times and review "
                   "periods stay in days, covered pro rata (docs/inventory-policy.md)")
    p.add_argument("--output", help="as for forecast")
    database_options(p)
    batch_options(p)
    p.set_defaults(handler=_reorder)

    p = sub.add_parser("models", help="every model, and whether it can run here")
    p.set_defaults(handler=lambda a: _file_commands().models(a))

    p = sub.add_parser("download-model", help="fetch the Chronos-2 weights (needs the model hub)")
    p.add_argument("--to", default=None, help="target folder (default data/models/chronos-2)")
    p.set_defaults(handler=lambda a: _file_commands().download_model(a))

    simulate_command.register(sub, model_names, service_level, positive_int)
    db_commands.register(sub)
    api_commands.register(sub)
    purchasing_commands.register(sub)
    calendar_commands.register(sub)
    return parser


CALENDAR_HELP = ("file mode: known-future covariates, CSV or Parquet (item_id,date,<covariates>, e.g. a 0/1 promo "
                 "flag or a planned price, for history and forecast days); used by lgbm and chronos-2 "
                 "(database mode uses the client's stored calendar: import-calendar)")


def _file_commands():
    # imported on use so that `--help` and database commands stay fast
    from forecasting.cli import file_commands

    return file_commands


def _forecast(args: argparse.Namespace) -> int:
    if args.client:
        from forecasting.cli.db_commands import forecast_from_db

        _file_mode_only(args)
        return forecast_from_db(args)
    if not args.input:
        raise ForecastingError("forecast needs --input SALES.csv (file mode) or --client NAME (database mode)")
    return _file_commands().forecast(args)


def _backtest(args: argparse.Namespace) -> int:
    if args.client:
        from forecasting.cli.db_commands import backtest_from_db

        _file_mode_only(args)
        return backtest_from_db(args)
    if not args.input:
        raise ForecastingError("backtest needs --input SALES.csv (file mode) or --client NAME (database mode)")
    return _file_commands().backtest(args)


def _file_mode_only(args: argparse.Namespace) -> None:
    """Options of file mode that database mode refuses (the client's stored data decides them)."""
    if getattr(args, "calendar", None):
        raise ForecastingError("--calendar is for file mode (--input); database mode uses the client's stored "
                               "calendar (import-calendar)")
    if args.freq is not None:
        raise ForecastingError("--freq declares a file's bucket (file mode, import-sales); a client's bucket is "
                               "stored with its sales: use --bucket W|M to plan its daily data in weeks or months")


def _reorder(args: argparse.Namespace) -> int:
    if args.client:
        from forecasting.cli.db_commands import reorder_from_db

        _file_mode_only(args)
        return reorder_from_db(args)
    if not (args.input and args.inventory):
        raise ForecastingError(
            "reorder needs --input SALES.csv and --inventory INV.csv (file mode) or --client NAME (database mode)"
        )
    return _file_commands().reorder(args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        scratch.sweep()  # temporary files a killed job left (database commands also recover its run)
        return int(args.handler(args))
    except ForecastingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one line for operators; the traceback on request
        if os.environ.get("FORECASTING_DEBUG"):
            traceback.print_exc()
        if is_database_error(exc):  # its text holds SQL: the type only
            print(f"error: the database failed ({type(exc).__name__}); set FORECASTING_DEBUG=1 for details",
                  file=sys.stderr)
            return 1
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
