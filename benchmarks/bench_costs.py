"""Each model's cost weight: what one call and each item of it take, in milliseconds of one CPU.

The request budget (forecasting/services/limits.py, docs/security.md) counts
cost units: for each model call (a forecast, or one backtest window) the
model's per-call weight plus items x its per-item weight; one unit is about a
millisecond of one CPU of the machine below. This benchmark times one forecast
(7 days, 3 quantile levels, after a warm-up call, best of 3) of every registered model
that can run here on SMALL and --items synthetic items (benchmarks/bench_core.py's
data): the per-item weight is the slope, the per-call weight what is left at
SMALL items. forecasting/modes/factory.py's COST_WEIGHTS are the largest of a few runs, rounded up
(the per-call figures vary most from run to run on a shared machine).

    python benchmarks/bench_costs.py [--items 200] [--days 730]

Results go to stdout and benchmarks/results/costs.md.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_core import synthetic_sales  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from forecasting.core.history import prepare_history  # noqa: E402
from forecasting.modes.factory import COST_WEIGHTS, ModelFactory  # noqa: E402

HORIZON, LEVELS = 7, (0.1, 0.5, 0.9)
SMALL = 5


REPEAT = 3


def _seconds(model, history) -> float:
    """The best of REPEAT runs (the machine may be shared)."""
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        model.forecast(history, HORIZON, LEVELS)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    load = os.getloadavg()[0]  # the weights are only as good as the machine was quiet
    small = prepare_history(synthetic_sales(SMALL, args.days), 1)
    large = prepare_history(synthetic_sales(args.items, args.days), 1)
    weights: dict[str, tuple[float, float]] = {}
    for name in ModelFactory.names():
        model = ModelFactory.create(name)
        if not model.availability().available:
            continue
        model.forecast(small, HORIZON, LEVELS)  # warm-up (imports, numba)
        t_small, t_large = _seconds(model, small), _seconds(model, large)
        per_item = max(t_large - t_small, 0.0) / (args.items - SMALL)
        weights[name] = (1000 * per_item, 1000 * max(t_small - SMALL * per_item, 0.0))
    lines = [
        f"# Model cost weights ({SMALL} and {args.items} items x {args.days} days, one {HORIZON}-day forecast "
        f"with {len(LEVELS)} levels; {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f})",
        "",
        "| model | per item (ms) | per call (ms) | COST_WEIGHTS (per item, per call) |",
        "|---|---:|---:|---:|",
    ]
    for name, (item_ms, call_ms) in weights.items():
        lines.append(f"| {name} | {item_ms:.2f} | {call_ms:.0f} | {COST_WEIGHTS.get(name, '-')} |")
    lines += ["", "Measured, rounded up: " + ", ".join(
        f"{n}=({max(1, math.ceil(i))}, {math.ceil(c)})" for n, (i, c) in weights.items())]
    publish(lines, "costs.md")


if __name__ == "__main__":
    main()
