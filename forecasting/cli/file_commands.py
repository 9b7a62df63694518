"""File-mode commands (no database): forecast, backtest, reorder, models, download-model."""
from __future__ import annotations

import argparse
import sys

from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_file_job
from forecasting.cli.progress import progress_bar
from forecasting.core.calendar import DAILY, Frequency, bucket_text
from forecasting.core.covariates import KnownFuture, covariate_use
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.known_future import read_known_future
from forecasting.modes.factory import ModelFactory


def forecast(args: argparse.Namespace) -> int:
    """Every item of the file, in chunks (docs/cli.md): the same numbers as one run over all items."""
    model = ModelFactory.create(args.model)
    job = BatchJob("forecast", (model.name,), args.horizon, args.quantiles, chunk_items=args.chunk_items)
    with progress_bar(f"forecast {model.name}") as progress:
        outcome = run_file_job(job, args.input, args.output, engine=args.engine, progress=progress, freq=args.freq,
                               bucket=args.bucket, calendar=_calendar(args))
    _say_bucket(outcome.freq, args.bucket)
    return 0


def backtest(args: argparse.Namespace) -> int:
    names = ModelFactory.parse_names(args.model)
    job = BatchJob("backtest", tuple(names), args.horizon, args.quantiles, windows=args.windows,
                   chunk_items=args.chunk_items)
    with progress_bar("backtest") as progress:
        outcome = run_file_job(job, args.input, args.output, engine=args.engine, progress=progress, freq=args.freq,
                               bucket=args.bucket, calendar=_calendar(args))
    _say_bucket(outcome.freq, args.bucket)
    return 0


def _calendar(args: argparse.Namespace) -> KnownFuture | None:
    return read_known_future(args.calendar) if args.calendar else None


def reorder(args: argparse.Namespace) -> int:
    model = ModelFactory.create(args.model or "ma7")
    # without --service-level an item without its own level takes its class's (docs/inventory-policy.md)
    inventory = read_inventory_csv(args.inventory, default_service_level=args.service_level)
    if args.service_type is not None:
        inventory["service_type"] = args.service_type
    job = BatchJob("reorder", (model.name,), chunk_items=args.chunk_items)
    with progress_bar(f"reorder {model.name}") as progress:
        outcome = run_file_job(job, args.input, args.output, inventory=inventory, engine=args.engine,
                               progress=progress, freq=args.freq, bucket=args.bucket)
    _say_bucket(outcome.freq, args.bucket)
    return 0


def _say_bucket(freq: Frequency, bucket: str | None = None) -> None:
    """On stderr, for weekly and monthly buckets: the bucket the dates and the horizon count (daily says nothing);
    with ``--bucket`` the daily data's view, in the one wording (:func:`bucket_text`)."""
    if freq != DAILY:
        text = bucket_text(DAILY, freq) if bucket else freq.label
        print(f"data: {text}; horizon and dates in {freq.units}", file=sys.stderr)


def models(args: argparse.Namespace) -> int:
    """One line per model: name, whether it can run here, and why not / what it is."""
    for name in ModelFactory.names():
        model = ModelFactory.create(name)
        status = model.availability()
        state = "available" if status.available else "unavailable"
        detail = model.description if status.available else status.reason
        detail += "; " + covariate_use(model)
        print(f"{name:<16} {state:<12} {detail}")
    return 0


def download_model(args: argparse.Namespace) -> int:
    from forecasting.modes.ml.loading import download_model as fetch

    path = fetch(args.to)
    print(f"Chronos-2 weights saved to {path}", file=sys.stderr)
    if args.to:
        print(f"set CHRONOS_MODEL={path} so that the app, the CLI and the API use them", file=sys.stderr)
    return 0
