"""File-mode commands (no database): forecast, backtest, reorder, models, download-model."""
from __future__ import annotations

import argparse
import sys

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.cli.progress import progress_bar
from forecasting.io.csv_export import write_csv
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.sales_csv import read_sales_csv
from forecasting.modes.factory import ModelFactory
from forecasting.applications.quality.calculator import QualityCalculator


def forecast(args: argparse.Namespace) -> int:
    model = ModelFactory.create(args.model)
    history = read_sales_csv(args.input)
    with progress_bar(f"forecast {model.name}") as progress:
        frame = model.forecast(history, args.horizon, args.quantiles, progress=progress)
    write_csv(frame, args.output)
    return 0


def backtest(args: argparse.Namespace) -> int:
    names = ModelFactory.parse_names(args.model)
    history = read_sales_csv(args.input)
    with progress_bar("backtest") as progress:
        result = QualityCalculator.backtest(
            history, names, args.horizon, windows=args.windows, quantiles=args.quantiles, progress=progress
        )
    write_csv(result.metrics, args.output)
    return 0


def reorder(args: argparse.Namespace) -> int:
    model = ModelFactory.create(args.model)
    history = read_sales_csv(args.input)
    inventory = read_inventory_csv(
        args.inventory, default_service_level=args.service_level if args.service_level is not None else 0.95
    )
    with progress_bar(f"reorder {model.name}") as progress:
        table = InventoryCalculator.reorder(model, history, inventory, progress=progress)
    write_csv(table, args.output)
    return 0


def models(args: argparse.Namespace) -> int:
    """One line per model: name, whether it can run here, and why not / what it is."""
    for name in ModelFactory.names():
        model = ModelFactory.create(name)
        status = model.availability()
        state = "available" if status.available else "unavailable"
        detail = model.description if status.available else status.reason
        print(f"{name:<16} {state:<12} {detail}")
    return 0


def download_model(args: argparse.Namespace) -> int:
    from forecasting.modes.ml.loading import download_model as fetch

    path = fetch(args.to)
    print(f"Chronos-2 weights saved to {path}", file=sys.stderr)
    if args.to:
        print(f"set CHRONOS_MODEL={path} so that the app, the CLI and the API use them", file=sys.stderr)
    return 0
