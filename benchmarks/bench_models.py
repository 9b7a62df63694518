"""Model library benchmark: our models against statsforecast's on the real pasta data, and auto's speed.

Accuracy (pasta, ../shared/data/pasta): the last 4 x 28 days held out, rolling
origin (the cutoffs of docs/metrics.md), quantiles 0.1, 0.5 and 0.9. Ours go
through QualityCalculator.backtest; the peers through statsforecast's
cross_validation on the same gap-filled history and the same cutoffs, their
bands from ConformalIntervals (h=28, n_windows=2) at level 80, their median
their point forecast. Every row is scored by the same metric code. Targets:
auto's pooled WAPE and WQL below every peer's, 10-90% coverage in 0.70-0.90.

Speed: auto with 9 quantile levels on 10,000 synthetic items x 730 days
(benchmarks/bench_core.py's data), against statsforecast's point forecasts of
the same pool of models in the same run (target: auto under 60 s).

    python benchmarks/bench_models.py [--skip-speed] [--skip-accuracy] [--items 10000]

Results go to stdout and benchmarks/results/models.md.
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

from benchmarks.bench_core import synthetic_sales  # noqa: E402
from benchmarks.peers import peer_metrics  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from forecasting.applications.quality.calculator import OVERALL, QualityCalculator  # noqa: E402
from forecasting.core.history import prepare_history  # noqa: E402
from forecasting.modes.factory import ModelFactory  # noqa: E402

PASTA = ROOT.parent / "shared" / "data" / "pasta" / "sales.csv.gz"
HORIZON, WINDOWS, LEVELS = 28, 4, (0.1, 0.5, 0.9)
OURS = ["auto", "ma7", "tsb", "croston-sba", "ses", "weekly-ses", "adida", "imapa", "seasonal-naive"]
SPEED_LEVELS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
COLUMNS = ["wape", "wql", "coverage", "bias", "mae", "mase"]


def peers():
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonSBA, SeasonalNaive, WindowAverage
    from statsforecast.utils import ConformalIntervals

    bands = ConformalIntervals(h=HORIZON, n_windows=2)
    return {
        "WindowAverage(7)": WindowAverage(7, prediction_intervals=bands),
        "SeasonalNaive(7)": SeasonalNaive(7, prediction_intervals=bands),
        "AutoETS(7)": AutoETS(season_length=7, prediction_intervals=bands),
        "CrostonSBA": CrostonSBA(prediction_intervals=bands),
        "TSB(0.1,0.1)": TSB(0.1, 0.1, prediction_intervals=bands),
        "ADIDA": ADIDA(prediction_intervals=bands),
        "IMAPA": IMAPA(prediction_intervals=bands),
    }


def accuracy() -> list[str]:
    from statsforecast import StatsForecast

    sales = pd.read_csv(PASTA)
    history = prepare_history(sales).frame  # closure days are zero sales, as our models see them
    start = time.perf_counter()
    ours = QualityCalculator.backtest(history, OURS, HORIZON, WINDOWS, LEVELS)
    ours_s = time.perf_counter() - start
    rows = ours.metrics[ours.metrics["item_id"] == OVERALL].assign(source="ours", seconds=np.nan)
    rows.loc[rows["model"] == "auto", "seconds"] = ours_s  # the whole backtest of all our models

    models = peers()
    start = time.perf_counter()
    frame = history.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    cv = StatsForecast(models=list(models.values()), freq="D", n_jobs=1).cross_validation(
        df=frame, h=HORIZON, n_windows=WINDOWS, step_size=HORIZON, level=[80]
    )
    peers_s = time.perf_counter() - start
    cutoffs = sorted(pd.to_datetime(cv["cutoff"].unique()))
    assert cutoffs == sorted(pd.to_datetime(ours.forecasts["cutoff"].unique())), "not the same windows"
    rows = pd.concat([rows, peer_metrics(cv, models, LEVELS)], ignore_index=True)
    peer_rows = rows[rows["source"] == "statsforecast"]
    auto = rows[rows["model"] == "auto"].iloc[0]
    lines = [
        f"## Accuracy: pasta, {sales['item_id'].nunique()} items, last {WINDOWS} x {HORIZON} days held out",
        "",
        f"Cutoffs {', '.join(c.strftime('%Y-%m-%d') for c in cutoffs)}. Our models' backtest took {ours_s:.0f} s "
        f"(all {len(OURS)} models), statsforecast's cross-validation {peers_s:.0f} s (its conformal bands refit "
        "each model). MASE is empty for the peers (no scale from their side).",
        "",
        "| source | model | WAPE % | WQL | coverage 10-90% | bias % | MAE | MASE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in rows.sort_values(["wape"]).iterrows():
        mase = "" if pd.isna(r["mase"]) else f"{r['mase']:.3f}"
        lines.append(f"| {r['source']} | {r['model']} | {r['wape']:.2f} | {r['wql']:.4f} | {r['coverage']:.3f} | "
                     f"{r['bias']:.1f} | {r['mae']:.3f} | {mase} |")
    best_wape, best_wql = peer_rows.loc[peer_rows["wape"].idxmin()], peer_rows.loc[peer_rows["wql"].idxmin()]
    verdict = (auto["wape"] < peer_rows["wape"].min() and auto["wql"] < peer_rows["wql"].min()
               and 0.70 <= auto["coverage"] <= 0.90)
    lines += [
        "",
        f"auto: WAPE {auto['wape']:.2f} against the best peer's {best_wape['wape']:.2f} ({best_wape['model']}), "
        f"WQL {auto['wql']:.4f} against {best_wql['wql']:.4f} ({best_wql['model']}), coverage "
        f"{auto['coverage']:.3f}: targets {'met' if verdict else 'NOT met'}.",
        "",
    ]
    choices = ours.forecasts.loc[(ours.forecasts["model"] == "auto") & (ours.forecasts["window"] == 1)]
    counts = choices.groupby("item_id")["chosen_model"].first().value_counts()
    lines += [f"auto's choices in the last window: {', '.join(f'{m} {n}' for m, n in counts.items())}.", ""]
    return lines


def speed(items: int, days: int) -> list[str]:
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    sales = synthetic_sales(items, days)
    prepared = prepare_history(sales)
    auto = ModelFactory.create("auto")
    start = time.perf_counter()
    out = auto.forecast(prepared, HORIZON, SPEED_LEVELS)
    auto_s = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    pool = [
        sf.WindowAverage(7), sf.SeasonalNaive(7), sf.SimpleExponentialSmoothingOptimized(),
        sf.SeasonalExponentialSmoothingOptimized(7), sf.CrostonSBA(), sf.TSB(0.1, 0.1), sf.ADIDA(), sf.IMAPA(),
        *(sf.SimpleExponentialSmoothing(a, alias=f"SES{a}") for a in (0.01, 0.03, 0.1)),
        *(sf.SeasonalExponentialSmoothing(7, a, alias=f"SeasES{a}") for a in (0.03, 0.1, 0.3)),
    ]
    frame = sales.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    start = time.perf_counter()
    StatsForecast(models=pool, freq="D", n_jobs=1).forecast(df=frame, h=HORIZON)
    peer_s = time.perf_counter() - start
    counts = out.groupby("item_id")["chosen_model"].first().value_counts().head(5)
    return [
        f"## Speed: auto on {items:,} items x {days} days, {len(SPEED_LEVELS)} quantile levels, horizon {HORIZON}",
        "",
        "| what | seconds |",
        "|---|---|",
        f"| auto: {len(pool)} models fitted and validated per item, ensemble bands (ours) | {auto_s:.1f} |",
        f"| statsforecast: the same {len(pool)} models' point forecasts, no validation, no bands (n_jobs=1) "
        f"| {peer_s:.1f} |",
        "",
        f"Ratio auto / statsforecast: {auto_s / peer_s:.2f}. Target auto < 60 s: "
        f"{'met' if auto_s < 60 else 'NOT met'}. Peak memory of the process {peak_gb:.2f} GB. "
        f"Most chosen: {', '.join(f'{m} {n}' for m, n in counts.items())}.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    lines = ["# Model library benchmark", "", f"Run {time.strftime('%Y-%m-%d %H:%M')} on this machine "
             "(2 cores). Command: `.venv/bin/python benchmarks/bench_models.py`.", ""]
    if not args.skip_accuracy:
        if not PASTA.exists():
            sys.exit(f"pasta data not found at {PASTA}")
        lines += accuracy()
    if not args.skip_speed:
        lines += speed(args.items, args.days)
    publish(lines, "models.md")


if __name__ == "__main__":
    main()
