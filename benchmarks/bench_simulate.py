"""The policy simulator: its speed against one reorder run, and what the policy achieves on real daily demand.

1. Speed: the simulator (forecasting/services/simulation.py) on --items
   synthetic items (benchmarks/bench_core.py's data) x --reviews weekly
   reviews, for each of --models, as a ratio to one reorder run
   (InventoryCalculator.reorder) of the same items. A model whose simulation
   would exceed --budget-s (estimated from its reorder run x reviews) runs on
   fewer items, and the report says so.
2. Pasta (../shared/data/pasta, real daily demand of 118 items; skipped when
   absent): L = 7, R = 7, 26 weekly reviews, lost sales. For cycle targets
   0.80/0.90/0.95/0.98 (and a few more for the curves): the share of reviews
   whose order-up-to level covered the next L + R days' real demand, the
   simulated fill rate and average stock; and the same for the spreadsheet
   rule (mean of the last 28 days x 14 + z x their std x sqrt(14)) replayed
   by the same simulator, compared at the same fill rate; and fill-rate targets (``service_type`` fill,
   pooled over each review's items) of 0.90/0.95/0.98 on the same forecasts.

    python benchmarks/bench_simulate.py [--items 1000] [--models ma7,auto] [--pasta-models ma7]

Results go to stdout and benchmarks/results/simulate.md (simulate-speed.md or simulate-pasta.md
when one part runs alone: --parts speed or --parts pasta).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_core import synthetic_sales
from benchmarks.report import publish
from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.inventory.simulation import simulate, summarise
from forecasting.core.history import (
    PreparedHistory,
    day_numbers_to_dates,
    prepare_history,
)
from forecasting.core.models.base import SamplePaths
from forecasting.modes.factory import ModelFactory
from forecasting.services.simulation import model_forecaster, simulate_policy

PASTA = ROOT.parent / "shared" / "data" / "pasta" / "sales.csv.gz"
LEAD, REVIEW, REVIEWS = 7, 7, 26
TARGETS = (0.80, 0.90, 0.95, 0.98)
FILL_TARGETS = (0.90, 0.95, 0.98)
CURVE = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995)
SPREADSHEET_DAYS = 28
#: the spreadsheet rule's z is z_a x each of these (1: the targets themselves; more: the z high fill rates need)
RULE_SCALES = (1.0, 2.0, 3.0)


def inventory_of(ids, lead: int = LEAD, review: int = REVIEW) -> pd.DataFrame:
    return pd.DataFrame({"item_id": ids, "on_hand": 0.0, "on_order": 0.0, "lead_time_days": lead,
                         "review_period_days": review, "unit_cost": 1.0})


def speed(items: int, days: int, reviews: int, models: list[str], budget_s: float) -> list[str]:
    sales = synthetic_sales(items, days)
    history = prepare_history(sales, 1)
    inventory = inventory_of(history.item_ids)
    lines = [f"## Speed: {items:,} synthetic items x {days} days, {reviews} weekly reviews (L = {LEAD}, R = {REVIEW})",
             "", "| model | items | one reorder run (s) | simulation (s) | ratio | per review (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name in models:
        model = ModelFactory.create(name)
        start = time.perf_counter()
        InventoryCalculator.reorder(model, history, inventory)
        one = time.perf_counter() - start
        n = items
        if one * reviews > budget_s:  # fewer items, so the run fits the budget (cost grows ~linearly with items)
            n = max(10, int(items * budget_s / (one * reviews)))
            keep = np.isin(history.item_ids, history.item_ids[:n])
            sub, inv = history.subset(keep), inventory.iloc[:n]
            start = time.perf_counter()
            InventoryCalculator.reorder(model, sub, inv)
            one = time.perf_counter() - start
        else:
            sub, inv = history, inventory
        start = time.perf_counter()
        simulate_policy(sub, inv, name, reviews)
        took = time.perf_counter() - start
        lines.append(f"| {name} | {n:,} | {one:.2f} | {took:.1f} | {took / one:.1f} | {took / reviews:.2f} |")
        print(lines[-1], flush=True)
    lines += ["", ("ratio = simulation / one reorder run of the same items; the simulation forecasts once per review "
              "(reviews x a reorder run's model cost, what the API's cost budget counts) and replays the days.")]
    return lines


def spreadsheet_forecaster(scale: float = 1.0, n_paths: int = 1000):
    """Paths whose L + R = 14-day totals are 14 m + s sqrt(14) c z_k (z_k: normal quantiles at (k + 0.5) / n),
    with m and s the mean and std (ddof 1) of each item's last 28 days: their a-quantile is the spreadsheet
    rule's mean x 14 + z x std x sqrt(14) with z = c z_a (up to the interpolation between paths); c = ``scale``
    reaches the larger z the rule needs for high fill rates."""
    z = scale * np.array([NormalDist().inv_cdf((k + 0.5) / n_paths) for k in range(n_paths)])

    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        last = history.tail_matrix(SPREADSHEET_DAYS)
        mean, std = np.nanmean(last, axis=1), np.nanstd(last, axis=1, ddof=1)
        span = LEAD + REVIEW
        daily = mean[:, None] + std[:, None] * z[None, :] / np.sqrt(span)
        values = np.repeat(daily[:, :, None], horizon, axis=2)
        return SamplePaths(history.item_ids, day_numbers_to_dates(history.last_day + 1), values)

    return forecast


def stock_at_fill(curve: pd.DataFrame, fill: float) -> float:
    """Average stock at ``fill`` on a policy's curve (linear between its points; NaN outside)."""
    ordered = curve.sort_values("fill_rate")
    x, y = ordered["fill_rate"].to_numpy(), ordered["avg_stock"].to_numpy()
    if not x[0] <= fill <= x[-1]:
        return float("nan")
    return float(np.interp(fill, x, y))


def pasta(models: list[str]) -> list[str]:
    if not PASTA.exists():
        return ["## Pasta", "", f"skipped: {PASTA} is absent"]
    sales = pd.read_csv(PASTA, parse_dates=["date"])
    history = prepare_history(sales, 1)
    inventory = inventory_of(history.item_ids)
    variants = [{"service_level": t} for t in CURVE]
    curves = {}
    lines = [(f"## Pasta: {history.n_items} items, real daily demand to {history.as_of}, {REVIEWS} weekly reviews, "
             f"L = {LEAD}, R = {REVIEW}, lost sales"), ""]
    timings = []
    fill_variants = [{"service_level": t, "service_type": "fill"} for t in CURVE]
    for name in models:
        start = time.perf_counter()
        outcome = simulate(history, inventory, model_forecaster(ModelFactory.create(name)), name, REVIEWS,
                           variants=variants + fill_variants)
        timings.append(f"{name} (cycle and fill targets): {time.perf_counter() - start:.0f} s")
        both = summarise(outcome.items)
        curves[name] = both[both["variant"] < len(CURVE)].assign(target=list(CURVE)).reset_index(drop=True)
        curves[f"{name} fill-rate targets"] = both[both["variant"] >= len(CURVE)].assign(
            target=list(CURVE)).reset_index(drop=True)
    start = time.perf_counter()
    rule = []
    for scale in RULE_SCALES:
        run = simulate(history, inventory, spreadsheet_forecaster(scale), "spreadsheet", REVIEWS, variants=variants)
        z = [scale * NormalDist().inv_cdf(t) for t in CURVE]
        rule.append(summarise(run.items).assign(target=list(CURVE) if scale == 1 else np.nan, z=z))
    timings.append(f"spreadsheet: {time.perf_counter() - start:.0f} s")
    curves["spreadsheet rule"] = pd.concat(rule, ignore_index=True)
    lines += [("| policy | target | reviews covered (L+R days) | fill rate | cycles without stock-out | "
              "avg stock (units per item) |"), "|---|---:|---:|---:|---:|---:|"]
    for name, curve in curves.items():
        shown = FILL_TARGETS if name.endswith("fill-rate targets") else TARGETS
        for _, row in curve[curve["target"].isin(shown)].iterrows():
            lines.append(f"| {name} | {row['target']:.2f} | {row['covered_share']:.1%} | {row['fill_rate']:.2%} | "
                         f"{row['cycle_service']:.1%} | {row['avg_stock'] / row['items']:.1f} |")
    lines += ["", ("Average stock at the same achieved fill rate (units per item, interpolated along each policy's "
              f"curve over targets {', '.join(f'{t:g}' for t in CURVE)}; the spreadsheet rule also with z x "
              f"{', '.join(f'{c:g}' for c in RULE_SCALES[1:])}):"), "",
              "| fill rate | " + " | ".join(curves) + " |", "|---:|" + "---:|" * len(curves)]
    for fill in (0.95, 0.96, 0.97, 0.98, 0.99):
        cells = [stock_at_fill(c, fill) / c["items"].iloc[0] for c in curves.values()]
        lines.append(f"| {fill:.0%} | " + " | ".join("-" if np.isnan(v) else f"{v:.1f}" for v in cells) + " |")
    lines += ["", "All curve points (target: fill rate / avg stock per item):", ""]
    for name, curve in curves.items():
        points = ", ".join((f"z {r.z:.2f}" if "z" in curve else f"{r.target:g}")
                           + f": {r.fill_rate:.2%} / {r.avg_stock / r.items:.1f}"
                           for r in curve.sort_values("fill_rate").itertuples())
        lines.append(f"- {name}: {points}")
    lines += ["", f"Run times: {'; '.join(timings)}."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reviews", type=int, default=REVIEWS)
    parser.add_argument("--models", default="ma7,auto")
    parser.add_argument("--pasta-models", default="ma7")
    parser.add_argument("--budget-s", type=float, default=420.0, help="longest simulation per model (seconds)")
    parser.add_argument("--parts", default="speed,pasta", help="speed, pasta or both (one file each when apart)")
    parser.add_argument("--name", default=None, help="results file name (default from --parts)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"# Policy simulator ({platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start)",
             ""]
    if "speed" in parts:
        lines += speed(args.items, args.days, args.reviews, args.models.split(","), args.budget_s) + [""]
    if "pasta" in parts:
        lines += pasta(args.pasta_models.split(","))
    publish(lines, args.name or ("simulate.md" if len(parts) > 1 else f"simulate-{parts[0]}.md"))


if __name__ == "__main__":
    main()
