"""Policy calibration on real demand: does the order-up-to level cover what it promises?

Pasta data (../shared/data/pasta, 118 items): 26 weekly reviews ending 14 days
before the data's end; at each review the model forecasts from the data up to
that day only (1,000 sample paths, as one reorder run), L = 7, R = 7, and the
policy gives each item's order-up-to level S for every target. Then, from the
actual demand of the 14 days after the review (days without a row are 0):

- coverage: share of (item, review) pairs whose demand over L + R days is <= S
  (what a cycle target promises);
- cycle fill: 1 - sum of units short in the review cycle / sum of the cycle's
  demand, units short = (D_{L+R} - S)^+ - (D_L - S)^+ (what a fill-rate target
  promises, the formula of docs/inventory-policy.md on the actuals; backorders,
  so an approximation of a lost-sales fill rate);
- mean S and mean safety stock (S - expected L + R demand) per item, in units.

Targets: cycle 0.80 / 0.90 / 0.95 / 0.98 and fill 0.95 / 0.98, each item at the
same target (no class matrix: this checks the calibration), MA7 and auto. Fill
items get a position above any level, so S is the textbook (backorder) level
that this backorder accounting checks, pooled over each review's items (they
share the target: one stock-out probability, docs/inventory-policy.md); the lost-sales level below it (an item
short of stock) is checked by the simulator (bench_simulate.py).

    python benchmarks/bench_policy.py [--models ma7,auto] [--reviews 26]

Results go to stdout and benchmarks/results/policy.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import publish  # noqa: E402
from forecasting.applications.inventory.calculator import N_PATHS, SEED, InventoryCalculator  # noqa: E402
from forecasting.core.history import prepare_history  # noqa: E402
from forecasting.modes.factory import ModelFactory  # noqa: E402

PASTA = ROOT.parent / "shared" / "data" / "pasta" / "sales.csv.gz"
LEAD, REVIEW = 7, 7
#: stock on hand for fill-rate items: above any level, so S is the textbook backorder level
TEXTBOOK_POSITION = 1e6
TARGETS = [("cycle", 0.80), ("cycle", 0.90), ("cycle", 0.95), ("cycle", 0.98), ("fill", 0.95), ("fill", 0.98)]


def actual_windows(sales: pd.DataFrame, items: np.ndarray, review: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Actual demand per item over the L days and the L + R days after ``review`` (missing days are 0)."""
    after = sales[(sales["date"] > review) & (sales["date"] <= review + pd.Timedelta(days=LEAD + REVIEW))]
    lead = after[after["date"] <= review + pd.Timedelta(days=LEAD)].groupby("item_id")["quantity"].sum()
    cycle = after.groupby("item_id")["quantity"].sum()
    return lead.reindex(items, fill_value=0.0).to_numpy(), cycle.reindex(items, fill_value=0.0).to_numpy()


def run(model_name: str, sales: pd.DataFrame, reviews: list[pd.Timestamp]) -> tuple[pd.DataFrame, float]:
    """Per target: coverage, cycle fill, mean S and safety stock over all (item, review) pairs; seconds."""
    model = ModelFactory.create(model_name)
    rows: dict[tuple[str, float], dict[str, list]] = {t: {"s": [], "ss": [], "dl": [], "dc": []} for t in TARGETS}
    started = time.perf_counter()
    for review in reviews:
        upto = sales[sales["date"] <= review]
        history = prepare_history(upto, model.min_history_days, review)
        items = history.item_ids.astype(str)
        inventory = pd.DataFrame({"item_id": items, "on_hand": 0.0, "on_order": 0.0, "lead_time_days": LEAD,
                                  "review_period_days": REVIEW})
        paths = model.sample_paths(history, InventoryCalculator.required_horizon(inventory), n_paths=N_PATHS,
                                   seed=SEED)
        d_lead, d_cycle = actual_windows(sales, items, review)
        for kind, level in TARGETS:
            # a fill item's level depends on the position (lost sales); at or above the textbook (backorder)
            # level it is that level, the one this backorder calibration checks
            frame = inventory.assign(service_type=kind, on_hand=TEXTBOOK_POSITION if kind == "fill" else 0.0)
            table = InventoryCalculator.from_paths(paths, frame, model.name, level)
            table = table.set_index("item_id").loc[items]
            acc = rows[(kind, level)]
            acc["s"].append(table["order_up_to"].to_numpy())
            acc["ss"].append(table["safety_stock"].to_numpy())
            acc["dl"].append(d_lead)
            acc["dc"].append(d_cycle)
    seconds = time.perf_counter() - started
    out = []
    for (kind, level), acc in rows.items():
        s, ss = np.concatenate(acc["s"]), np.concatenate(acc["ss"])
        dl, dc = np.concatenate(acc["dl"]), np.concatenate(acc["dc"])
        short = np.maximum(dc - s, 0) - np.maximum(dl - s, 0)
        out.append({"model": model.name, "type": kind, "target": level, "coverage": float(np.mean(dc <= s)),
                    "cycle_fill": 1 - short.sum() / (dc - dl).sum(), "mean_S": float(s.mean()),
                    "mean_safety_stock": float(ss.mean()), "pairs": len(s)})
    return pd.DataFrame(out), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="ma7,auto")
    parser.add_argument("--reviews", type=int, default=26)
    args = parser.parse_args()
    if not PASTA.exists():
        print(f"pasta data not found at {PASTA}: skipped")
        return
    sales = pd.read_csv(PASTA, parse_dates=["date"])
    last = sales["date"].max() - pd.Timedelta(days=LEAD + REVIEW)
    reviews = [last - pd.Timedelta(weeks=k) for k in range(args.reviews - 1, -1, -1)]
    lines = [
        "# Policy calibration (pasta, 118 items)", "",
        f"{args.reviews} weekly reviews {reviews[0].date()} to {reviews[-1].date()}, L = {LEAD}, R = {REVIEW}, "
        f"{N_PATHS} sample paths; actual demand of the next L + R days.", "",
        "| model | type | target | coverage of L+R demand | cycle fill (actuals) | mean S | mean safety stock |"
        " (item, review) pairs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in args.models.split(","):
        frame, seconds = run(name.strip(), sales, reviews)
        for r in frame.itertuples():
            lines.append(f"| {r.model} | {r.type} | {r.target:.2f} | {r.coverage:.1%} | {r.cycle_fill:.1%} | "
                         f"{r.mean_S:.1f} | {r.mean_safety_stock:.1f} | {r.pairs} |")
        lines.append(f"| {name} | | | {seconds:.0f} s for {args.reviews} reviews (forecasts + 6 targets) | | | | |")
    publish(lines, "policy.md")


if __name__ == "__main__":
    main()
