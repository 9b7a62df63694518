"""The policy simulator: replay the reorder policy over the client's own history (docs/inventory-policy.md).

For each item with review period R and lead time L, the last ``reviews`` x R
days of history (ending on the data's as-of day E) are replayed day by day:

- Review days are s, s + R, ..., s + (reviews - 1) R with s = E - reviews x R.
  At the end of a review day the caller's ``forecaster`` gets the history up
  to and including that day only and returns sample paths; the reorder
  calculator (:meth:`InventoryCalculator.plan_from_paths`, the same policy,
  targets and pack/MOQ rounding as the Reorder page) turns them into the
  order-up-to level S and the order quantity for the inventory position
  (stock on hand + orders not yet received).
- Starting stock: S of the first review (as if the policy had been running),
  nothing on order; so the first review orders nothing.
- An order placed on review day t arrives on day t + L (t + 1 when L = 0) and
  serves that day's demand, as in the calculator's projected stock.
- Each day the stock serves the day's real demand as far as it goes; the rest
  is lost (lost sales, no backorders).

Reported per item: ``demand``, ``served``, ``lost``, ``fill_rate`` = served /
demand, ``cycle_service`` = share of review cycles (the R days after a
review) without a lost sale, ``avg_stock`` (end-of-day units) and
``avg_stock_value`` (x unit cost), ``turns`` = served units a year (x 365 /
days) / avg stock, ``days_out_of_stock`` (days with a lost sale),
``orders``, and ``covered_share``: the share of reviews whose S covered the
real demand of the next L + R days (reviews whose window ends inside the data).
:func:`summarise` adds the same per class and in total. Vectorised over items:
one loop over days, one forecaster call per distinct review day.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.inventory.inventory_input import validate_inventory
from forecasting.core.errors import InvalidInputError
from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import ProgressCallback, SamplePaths

#: reviews replayed by default (26 weekly reviews: half a year)
DEFAULT_REVIEWS = 26
#: the most reviews one simulation replays
MAX_REVIEWS = 104
#: sample paths from the history truncated at a review day, ``horizon`` days long
Forecaster = Callable[[PreparedHistory, int], SamplePaths]

ITEM_COLUMNS = [
    "item_id", "demand", "served", "lost", "fill_rate", "cycles", "cycles_without_stockout", "cycle_service",
    "avg_stock", "avg_stock_value", "turns", "days", "days_out_of_stock", "orders", "reviews_checked",
    "reviews_covered", "covered_share",
]
SUMMARY_COLUMNS = [c for c in ITEM_COLUMNS if c != "item_id"]


@dataclass(frozen=True)
class SimulationResult:
    """Per-item results (ITEM_COLUMNS, plus ``unit_cost`` and the class column when given)."""

    items: pd.DataFrame


def validate_reviews(reviews: int) -> int:
    """A number of reviews from 1 to MAX_REVIEWS."""
    if isinstance(reviews, bool) or not isinstance(reviews, (int, np.integer)) or not 1 <= reviews <= MAX_REVIEWS:
        raise InvalidInputError(f"reviews must be a whole number from 1 to {MAX_REVIEWS}, got {reviews!r}")
    return int(reviews)


def simulate(
    history: PreparedHistory,
    inventory: pd.DataFrame,
    forecaster: Forecaster,
    model: str,
    reviews: int = DEFAULT_REVIEWS,
    service_level: float | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Replay the policy of ``inventory`` (its per-item parameters, passed to the calculator unchanged).

    ``history`` must hold every inventory item, each running to the data's
    as-of day; ``on_hand``/``on_order`` of the inventory are replaced by the
    simulated stock at each review. ``service_level`` overrides every item's.
    """
    reviews = validate_reviews(reviews)
    inv = validate_inventory(inventory, service_level)
    hist_ids = history.item_ids.astype(str)
    row = pd.Index(hist_ids).get_indexer(inv.item_ids)
    if (row < 0).any():
        raise InvalidInputError(f"inventory item(s) without sales history: {list(inv.item_ids[row < 0][:10])}")
    history = history.subset(np.isin(hist_ids, inv.item_ids))
    row = pd.Index(history.item_ids.astype(str)).get_indexer(inv.item_ids)
    base = inventory.reset_index(drop=True).copy()
    base["item_id"] = inv.item_ids
    if "on_order_due" in base.columns:
        base["on_order_due"] = pd.NaT
    lead = inv.lead_time_days.astype(np.int64)
    review = inv.review_period_days.astype(np.int64)
    if (review < 1).any():
        raise InvalidInputError("the simulator needs a review period of at least 1 day for every item")
    n = len(inv.item_ids)
    end = int(history.last_day.max())
    start = end - reviews * review  # the first review day per item
    first = int(start.min())
    total_days = end - first
    horizon = InventoryCalculator.required_horizon(base)
    # real demand per item and day first+1 .. end (+ nothing after: NaN beyond the data)
    demand = np.zeros((n, total_days))
    days_all = history.days
    for i, r in enumerate(row):
        lo, ln = history.starts[r], history.lengths[r]
        d = days_all[lo:lo + ln] - (first + 1)
        inside = (d >= 0) & (d < total_days)
        demand[i, d[inside]] = history.quantity[lo:lo + ln][inside]
    active = (np.arange(total_days)[None, :] + first + 1) > start[:, None]  # day inside the item's window
    arrivals = np.zeros((n, total_days + int(lead.max()) + 2))
    on_hand = np.zeros(n)
    on_order = np.zeros(n)
    stock_sum = np.zeros(n)
    served = np.zeros(n)
    lost = np.zeros(n)
    days_out = np.zeros(n, dtype=np.int64)
    orders = np.zeros(n, dtype=np.int64)
    cycle_lost = np.zeros(n, dtype=bool)
    cycles_clean = np.zeros(n, dtype=np.int64)
    checked = np.zeros(n, dtype=np.int64)
    covered = np.zeros(n, dtype=np.int64)
    review_days = sorted({int(s + k * r) for s, r in zip(start, review) for k in range(reviews)})
    done = 0

    def review_on(day: int) -> None:
        nonlocal done
        due = (day >= start) & ((day - start) % review == 0) & (day < end)
        if not due.any():
            return
        idx = np.flatnonzero(due)
        cutoff = np.full(history.n_items, np.iinfo(np.int64).min // 2)
        cutoff[row[idx]] = day
        keep = np.zeros(history.n_items, dtype=bool)
        keep[row[idx]] = True
        truncated = history.subset(keep).truncate(cutoff[keep], 1)
        paths = forecaster(truncated, horizon)
        frame = base.iloc[idx].copy()
        init = start[idx] == day  # an item's first review: it starts with S on hand, nothing on order
        frame["on_hand"] = np.where(init, 0.0, on_hand[idx])
        frame["on_order"] = np.where(init, 0.0, on_order[idx])
        table = InventoryCalculator.plan_from_paths(paths, frame, model, service_level).table
        table = table.set_index("item_id").loc[inv.item_ids[idx]]
        level = table["order_up_to"].to_numpy(dtype=np.float64)
        # did S cover the real demand of the next L + R days (when they lie inside the data)?
        span_end = day + lead[idx] + review[idx]
        inside = span_end <= end
        offs = day - first  # demand column of day + 1
        cum = np.concatenate([np.zeros((len(idx), 1)), np.cumsum(demand[idx], axis=1)], axis=1)
        real = cum[np.arange(len(idx)), np.minimum(span_end - first, total_days)] - cum[:, offs]
        checked[idx] += inside
        covered[idx] += inside & (level >= real - 1e-9)
        on_hand[idx[init]] = level[init]
        qty = np.where(init, 0.0, table["order_qty"].to_numpy(dtype=np.float64))
        orders[idx] += qty > 0
        arrive = offs + np.maximum(lead[idx], 1) - 1  # column of day + max(L, 1)
        np.add.at(arrivals, (idx, arrive), qty)
        on_order[idx] += qty
        done += 1
        if progress:
            progress(done, len(review_days))

    review_on(first)
    for col in range(total_days):
        day = first + 1 + col
        act = active[:, col]
        arriving = arrivals[:, col]
        on_hand += arriving
        on_order -= arriving
        want = demand[:, col]
        give = np.where(act, np.minimum(on_hand, want), 0.0)
        short = np.where(act, want - give, 0.0)
        on_hand -= give
        served += give
        lost += short
        short_day = short > 1e-9
        days_out += short_day
        cycle_lost |= short_day
        stock_sum += np.where(act, on_hand, 0.0)
        cycle_end = act & ((day - start) % review == 0)
        cycles_clean += cycle_end & ~cycle_lost
        cycle_lost &= ~cycle_end
        review_on(day)
    return SimulationResult(_item_table(inv, demand.sum(axis=1, where=active), served, lost, reviews,
                                        cycles_clean, stock_sum, end - start, days_out, orders, checked, covered))


def _item_table(inv, demand, served, lost, reviews, clean, stock_sum, days, days_out, orders, checked, covered):
    avg = stock_sum / days
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "item_id": inv.item_ids,
            "demand": demand,
            "served": served,
            "lost": lost,
            "fill_rate": np.where(demand > 0, served / np.where(demand > 0, demand, 1), np.nan),
            "cycles": reviews,
            "cycles_without_stockout": clean,
            "cycle_service": clean / reviews,
            "avg_stock": avg,
            "avg_stock_value": avg * inv.unit_cost,
            "turns": np.where(avg > 0, served * 365.0 / days / np.where(avg > 0, avg, 1), np.nan),
            "days": days,
            "days_out_of_stock": days_out,
            "orders": orders,
            "reviews_checked": checked,
            "reviews_covered": covered,
            "covered_share": np.where(checked > 0, covered / np.maximum(checked, 1), np.nan),
            "unit_cost": inv.unit_cost,
        })


def summarise(items: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Totals of per-item results: one row per value of ``by`` (a class column), or one ``total`` row.

    Sums of units, days, cycles and orders; rates recomputed from the sums
    (fill rate = served / demand over the items, not a mean of item rates);
    ``avg_stock`` is the sum of the items' average stocks and ``turns`` the
    served value a year over the average stock value (units where no item
    has a unit cost).
    """
    frame = items.assign(_group="total" if by is None else items[by].fillna("").astype(str),
                         _served_value=items["served"] * items["unit_cost"] * 365.0 / items["days"],
                         _served_year=items["served"] * 365.0 / items["days"])
    sums = frame.groupby("_group", sort=True)[[
        "demand", "served", "lost", "cycles", "cycles_without_stockout", "avg_stock", "avg_stock_value",
        "days", "days_out_of_stock", "orders", "reviews_checked", "reviews_covered", "_served_value", "_served_year",
    ]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["fill_rate"] = np.where(sums["demand"] > 0, sums["served"] / sums["demand"], np.nan)
        sums["cycle_service"] = sums["cycles_without_stockout"] / sums["cycles"]
        by_value = sums["avg_stock_value"] > 0
        sums["turns"] = np.where(
            by_value, sums["_served_value"] / sums["avg_stock_value"],
            np.where(sums["avg_stock"] > 0, sums["_served_year"] / sums["avg_stock"], np.nan))
        sums["covered_share"] = np.where(sums["reviews_checked"] > 0,
                                         sums["reviews_covered"] / sums["reviews_checked"], np.nan)
    sums["items"] = frame.groupby("_group", sort=True).size()
    out = sums.reset_index().rename(columns={"_group": by or "scope"})
    return out[[by or "scope", "items", *SUMMARY_COLUMNS]]
