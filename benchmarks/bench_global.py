"""Global model benchmark: ``lgbm`` (with and without the promotion calendar) on the pasta data, next to an
mlforecast peer fitted in the same run, and its speed against mlforecast with the same features.

Accuracy (pasta, ../shared/data/pasta): the last 4 x 28 days held out, rolling
origin (QualityCalculator.backtest's cutoffs), quantiles 0.1, 0.5 and 0.9.
Rows: ``lgbm`` sales only (and with each item's brand as its category) (its median point forecast, and the Tweedie mean it
was measured against); ``auto`` with ``lgbm`` in its pool and without it (the
statistical pool only); ``lgbm`` and ``auto`` with promo.csv.gz as the
known-future calendar (``--calendar``); and the issue-22 peers: one LightGBM
through mlforecast (lags 1/7/14/28, rolling means, day of week / month / day
of month, sales only) with LightGBM's default settings and with the L1
objective (a median, as ours), its cross_validation on the same cutoffs (point
forecast only: its WQL uses the point at every level and its coverage is not
meaningful).

Covariates in weeks (``--bucket W``): ``lgbm`` on pasta summed to weeks, last 4 x 8 weeks held out, sales
only, with the promotion calendar averaged over each week's days (the view's rule) or set when any day has
one, and with the brand as the item's category.

Speed: ``lgbm``'s forecast (training, held-out calibration and the forecast) on
synthetic items x 730 days (bench_core's data) against mlforecast's fit and
predict with the same features, LightGBM settings and training days, in the
same run; ``auto`` without ``lgbm`` and with ``lgbm`` in its pool on the same
data (target: under 120 s). It prints a ``SUMMARY`` line with the load average
before and after (the machine is shared: compare ratios, and rerun when quiet).

    python benchmarks/bench_global.py [--skip-accuracy] [--skip-weeks] [--skip-speed] [--items 10000]

Results go to stdout and benchmarks/results/global.md (a section skipped keeps its last result there).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_core import synthetic_sales  # noqa: E402
from benchmarks.report import RESULTS_DIR, publish  # noqa: E402
from forecasting.applications.quality.calculator import OVERALL, QualityCalculator  # noqa: E402
from forecasting.core.covariates import KnownFuture, with_category  # noqa: E402
from forecasting.core.history import prepare_history  # noqa: E402
from forecasting.modes.ml.features import DAILY, mlforecast_arguments  # noqa: E402
from forecasting.modes.auto import AutoModel  # noqa: E402
from forecasting.modes.factory import ModelFactory  # noqa: E402
from forecasting.modes.ml.lightgbm import PARAMETERS, LightGBMGlobal, OBJECTIVES, training_window  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pasta"
HORIZON, WINDOWS, LEVELS = 28, 4, (0.1, 0.5, 0.9)
WEEKS_HORIZON = 8


def _row(label: str, metrics: pd.DataFrame, seconds: float) -> str:
    r = metrics.iloc[0]
    mase = "" if pd.isna(r["mase"]) else f"{r['mase']:.3f}"
    return (f"| {label} | {r['wape']:.2f} | {r['wql']:.4f} | {r['coverage']:.3f} | {r['bias']:.1f} | {mase} | "
            f"{seconds:.0f} |")


def accuracy() -> list[str]:
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast

    choices: list[str] = []
    sales = pd.read_csv(DATA / "sales.csv.gz")
    calendar = KnownFuture.from_frame(pd.read_csv(DATA / "promo.csv.gz"))
    history = prepare_history(sales).frame
    brands = {item: item.split("_")[0] for item in history["item_id"].unique()}
    # variants measured beside the registered models (registered under their own names for the backtest)
    ModelFactory.register(lambda: LightGBMGlobal("tweedie"), name="lgbm-tweedie", label="LightGBM, Tweedie mean")
    ModelFactory.register(lambda: AutoModel(global_model=None), name="auto-statistical", label="auto, no lgbm")
    rows = []
    for label, frame, future, models in (
        ("ours", history, None, ["lgbm", "lgbm-tweedie", "auto", "auto-statistical"]),
        ("ours, promo calendar", calendar.join_history(history), calendar.frame, ["lgbm", "auto"]),
        # the brand (B1..B4 in the item id) as the item's category: what a client's items.category gives lgbm
        ("ours, brand as item category", with_category(history, brands), None, ["lgbm"]),
    ):
        for name in models:
            start = time.perf_counter()
            result = QualityCalculator.backtest(frame, [name], HORIZON, WINDOWS, LEVELS, future_covariates=future)
            seconds = time.perf_counter() - start
            overall = result.metrics[result.metrics["item_id"] == OVERALL]
            shown = {"lgbm-tweedie": "lgbm, Tweedie mean point", "auto-statistical": "auto without lgbm"}.get(name, name)
            rows.append(_row(f"{label}: {shown}", overall, seconds))
            cutoffs = sorted(pd.to_datetime(result.forecasts["cutoff"].unique()))
            if "chosen_model" in result.forecasts:
                chosen = result.forecasts.drop_duplicates(["window", "item_id"])["chosen_model"].value_counts()
                choices.append(f"{label}: {name}: " + ", ".join(f"{k} {v}" for k, v in chosen.items()))

    data = history.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    for label, settings in (("LightGBM defaults", {}), ("L1 objective", {"objective": "l1"})):
        start = time.perf_counter()
        peer = MLForecast(models={"peer": LGBMRegressor(verbosity=-1, n_jobs=1, **settings)},
                          **mlforecast_arguments(DAILY))
        cv = peer.cross_validation(df=data, h=HORIZON, n_windows=WINDOWS, step_size=HORIZON)
        seconds = time.perf_counter() - start
        assert sorted(pd.to_datetime(cv["cutoff"].unique())) == cutoffs, "not the same windows"
        point = np.maximum(cv["peer"].to_numpy(), 0.0)
        scored = pd.DataFrame({"item_id": cv["unique_id"].astype(str), "model": "peer", "actual": cv["y"],
                               "forecast": point, "q0.1": point, "q0.5": point, "q0.9": point, "scale": np.nan})
        metrics = QualityCalculator.metrics(scored, LEVELS)
        rows.append(_row(f"mlforecast peer, {label} (sales only, point)", metrics[metrics["item_id"] == OVERALL],
                         seconds))
    return [
        f"## Accuracy: pasta, {sales['item_id'].nunique()} items, last {WINDOWS} x {HORIZON} days held out",
        "",
        f"Cutoffs {', '.join(c.strftime('%Y-%m-%d') for c in cutoffs)}; calendar: promo.csv.gz (0/1 flag per item "
        "and day) as known-future covariates. The peer has no bands (WQL from its point at every level; its "
        "coverage means nothing) and no MASE scale.",
        "",
        "| model | WAPE % | WQL | coverage 10-90% | bias % | MASE | seconds |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "auto's choices (items x windows): " + "; ".join(choices) + ".",
        "",
    ]


def weeks() -> list[str]:
    """``lgbm`` on pasta summed to weeks (``--bucket W``): sales only, the promotion flags averaged over each
    week's days (the view's rule) or set when any day has one (weekly data's rule), the brand as category."""
    from forecasting.core.covariates import KEYS
    from forecasting.core.history import aggregate_history, daily_in_buckets, to_day_numbers

    load = os.getloadavg()[0]
    daily = prepare_history(pd.read_csv(DATA / "sales.csv.gz")).frame
    promo = KnownFuture.from_frame(pd.read_csv(DATA / "promo.csv.gz"))
    freq, _ = daily_in_buckets("W", int(to_day_numbers(pd.to_datetime(daily["date"])).max()))
    weekly = aggregate_history(daily, "W")
    shares = promo.in_buckets(freq)
    dated = promo.frame.assign(date=freq.dates(freq.periods(to_day_numbers(promo.frame["date"]))))
    anyday = KnownFuture(dated.groupby(list(KEYS), as_index=False)[promo.names].max())
    brands = {item: item.split("_")[0] for item in daily["item_id"].unique()}
    rows = []
    for label, frame, future in (
        ("sales only", weekly, None),
        ("promo calendar, share of the week's days (the view's rule)", shares.join_history(weekly), shares.frame),
        ("promo calendar, 1 when any day of the week has it", anyday.join_history(weekly), anyday.frame),
        ("brand as item category", with_category(weekly, brands), None),
        ("promo share and brand as category", with_category(shares.join_history(weekly), brands), shares.frame),
    ):
        start = time.perf_counter()
        result = QualityCalculator.backtest(frame, ["lgbm"], WEEKS_HORIZON, WINDOWS, LEVELS, future_covariates=future)
        rows.append(_row(f"weeks, {label}: lgbm", result.metrics[result.metrics["item_id"] == OVERALL],
                         time.perf_counter() - start))
    return [
        f"## Covariates in weeks of daily data: pasta summed to weeks, last {WINDOWS} x {WEEKS_HORIZON} weeks "
        "held out",
        "",
        "The promotion file's daily flags in the weekly view (`KnownFuture.in_buckets`: the mean of the week's "
        "rows), against the weekly-data rule (1 when any day has it); the brand (B1-B4) as the item's category "
        f"(`with_category`). Load average at the start: {load:.1f}, at the end: {os.getloadavg()[0]:.1f} "
        f"({os.cpu_count()} cores, shared).",
        "",
        "| model | WAPE % | WQL | coverage 10-90% | bias % | MASE | seconds |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def speed(items: int, days: int) -> list[str]:
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast

    sales = synthetic_sales(items, days)
    prepared = prepare_history(sales)
    before = _load()
    start = time.perf_counter()
    AutoModel(challenger=None, global_model=None).forecast(prepared, HORIZON, LEVELS)
    statistical = time.perf_counter() - start
    start = time.perf_counter()
    LightGBMGlobal().forecast(prepared, HORIZON, LEVELS)
    ours = time.perf_counter() - start
    # the peer learns from the same rows as ours (the last training_window days: MAX_TRAINING_ROWS), up to the end
    frame = prepared.frame.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    frame = frame[frame["ds"] > frame["ds"].max() - pd.Timedelta(days=training_window(prepared))]
    start = time.perf_counter()
    regressor = LGBMRegressor(**PARAMETERS, **OBJECTIVES["median"], n_jobs=1)
    MLForecast(models={"m": regressor}, **mlforecast_arguments(DAILY)).fit(frame, static_features=[]).predict(HORIZON)
    peer = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    AutoModel(challenger=None).forecast(prepared, HORIZON, LEVELS)  # its lgbm (the registry's) trains afresh
    auto, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _load()
    summary = (f"SUMMARY {items} items x {days} days: auto with lgbm {auto:.0f} s (target 120 s; {cpu:.0f} CPU s "
               f"in all its threads), auto without "
               f"lgbm {statistical:.0f} s, lgbm {ours:.0f} s, mlforecast peer {peer:.0f} s (lgbm/peer "
               f"{ours / peer:.2f}, auto/peer {auto / peer:.2f}); load average {before} before, {after} after")
    print(summary, flush=True)
    return [
        f"## Speed: {items:,} items x {days} days, horizon {HORIZON}",
        "",
        f"lgbm (train on the last {training_window(prepared) - DAILY.longest_lag} days before the last {HORIZON} "
        f"(MAX_TRAINING_ROWS), forecast those {HORIZON} days for the bands, forecast the future): {ours:.0f} s; "
        f"mlforecast fit (the same features, LightGBM settings and training days, up to the end) + predict: "
        f"{peer:.0f} s; ratio {ours / peer:.2f}.",
        "",
        f"auto with lgbm in its pool (the statistical pool in the main thread; in a thread beside it, lgbm's "
        f"validation training, which forecasts both origins, and its forecast fit): {auto:.0f} s (target 120 s), "
        f"{auto / peer:.2f} x the peer, using {cpu:.0f} CPU seconds in all (on {os.cpu_count()} idle cores it "
        f"needs at least {cpu / (os.cpu_count() or 1):.0f} s); auto without lgbm {statistical:.0f} s.",
        "",
        f"Load average (1, 5, 15 min) before: {before}; after: {after}; {os.cpu_count()} cores, shared machine.",
        "",
        f"`{summary}`",
        "",
    ]


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-weeks", action="store_true", help="skip the covariates in weeks of daily data")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--output", default="global.md", help="file name under benchmarks/results")
    args = parser.parse_args()
    run = f"{time.strftime('%Y-%m-%d %H:%M')} (`.venv/bin/python benchmarks/bench_global.py {' '.join(sys.argv[1:])}`)"
    kept = _sections(RESULTS_DIR / args.output)  # a section not run keeps its last result
    sections = []
    if not (args.skip_accuracy and args.skip_weeks) and not (DATA / "sales.csv.gz").exists():
        sys.exit(f"pasta data not found at {DATA}")
    if args.skip_accuracy:
        sections.append(kept.get("Accuracy", []))
    else:
        sections.append([f"Run {run} on this machine ({os.cpu_count()} cores).", "", *accuracy()])
    if args.skip_weeks:
        sections.append(kept.get("Weeks", []))
    else:
        sections.append([f"Run {run} on this machine ({os.cpu_count()} cores).", "", *weeks()])
    if args.skip_speed:
        sections.append(kept.get("Speed", []))
    else:
        sections.append([f"Run {run} on this machine ({os.cpu_count()} cores).", "", *speed(args.items, args.days)])
    publish(["# Global model benchmark", "", *(line for section in sections for line in section)], args.output)


def _sections(path: Path) -> dict[str, list[str]]:
    """The accuracy, weeks and speed sections of an earlier result (each from its "Run" line to the next one)."""
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Run ")] + [len(lines)]
    out = {}
    for start, end in zip(starts, starts[1:]):
        heading = next((line for line in lines[start:end] if line.startswith("## ")), "")
        out["Accuracy" if heading.startswith("## Accuracy") else
            "Weeks" if heading.startswith("## Covariates in weeks") else "Speed"] = lines[start:end]
    return out


if __name__ == "__main__":
    main()
