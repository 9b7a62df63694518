"""Forecasting-core benchmark: our MA7 against statsforecast's WindowAverage, in one run.

10,000 items x 730 days (synthetic, fixed seed). Reports our MA7 point
forecast for horizon 28, the same through statsforecast as the peer (ratio,
target <= 1.0), our MA7 with 9 empirical quantile levels (target < 2 s), the
backtest metrics for all items, and peak memory (target < 2 GB). Each timing
is the best of a few repeats. Results go to stdout and benchmarks/results/core.txt.

    python benchmarks/bench_core.py [--items 10000] [--days 730] [--repeat 3]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecasting.modes.factory import ModelFactory  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from forecasting.applications.quality.calculator import QualityCalculator  # noqa: E402

HORIZON = 28
LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def synthetic_sales(items: int, days: int, seed: int = 42) -> pd.DataFrame:
    """Weekly-seasonal Poisson demand with item-specific levels, some intermittent."""
    rng = np.random.default_rng(seed)
    level = rng.gamma(1.5, 6.0, items)
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)[None, :]
    qty = rng.poisson(level[:, None] * weekly).astype(np.float64)
    ids = np.repeat(np.array([f"SKU{i:05d}" for i in range(items)], dtype=object), days)
    dates = np.tile(pd.date_range("2023-01-01", periods=days).to_numpy(), items)
    return pd.DataFrame({"item_id": ids, "date": dates, "quantity": qty.ravel()})


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from statsforecast import StatsForecast
    from statsforecast.models import WindowAverage

    sales = synthetic_sales(args.items, args.days)
    peer_frame = sales.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    ma7 = ModelFactory.create("ma7")

    ours_point, ours = best_of(args.repeat, lambda: ma7.forecast(sales, HORIZON))
    peer_point, peer = best_of(
        args.repeat,
        lambda: StatsForecast(models=[WindowAverage(window_size=7)], freq="D", n_jobs=1).forecast(
            df=peer_frame, h=HORIZON
        ),
    )
    diff = np.abs(ours["forecast"].to_numpy() - peer["WindowAverage"].to_numpy()).max()
    ours_q, _ = best_of(args.repeat, lambda: ma7.forecast(sales, HORIZON, LEVELS))
    backtest_s, result = best_of(
        1, lambda: QualityCalculator.backtest(sales, ["ma7"], HORIZON, windows=1, quantiles=[0.1, 0.9])
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    overall = result.metrics[result.metrics.item_id == "__overall__"].iloc[0]

    lines = [
        f"data: {args.items} items x {args.days} days, horizon {HORIZON}, best of {args.repeat}",
        f"ours  MA7 point forecast           {ours_point:8.3f} s",
        f"peer  statsforecast WindowAverage  {peer_point:8.3f} s   (max |ours - peer| = {diff:.2e})",
        f"ratio ours / peer                  {ours_point / peer_point:8.2f}   (target <= 1.0)",
        f"ours  MA7 with 9 quantile levels   {ours_q:8.3f} s   (target < 2 s)",
        f"ours  backtest ma7, all items      {backtest_s:8.3f} s   "
        f"(overall MAE {overall.mae:.3f}, WAPE {overall.wape:.1f}%, coverage 10-90% {overall.coverage:.3f})",
        f"peak memory (max RSS)              {peak_mb:8.0f} MB  (target < 2048 MB)",
    ]
    publish(lines, "core.txt")


if __name__ == "__main__":
    main()
