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
- An order placed at the end of review day t is received at the end of day
  t + L and serves from day t + L + 1: the L + R days of demand the order-up-to
  level covers are exactly the days until the next review's order is on the
  shelf. With ``lead_time_std_days`` s > 0 each order draws its own L as the
  calculator's paths do (:func:`order_lead_times`: seeded by item and review day).
- Each day the stock serves the day's real demand as far as it goes; the rest
  is lost (lost sales, no backorders).

Weekly or monthly history (b days in a bucket: 7, or the mean month 365.25 / 12)
is replayed bucket by bucket: the review period is R days in whole buckets,
rounded, at least one (:func:`review_buckets`: 7 or 10 days are one week, 14
days two); the lead time stays in days and covers L / b buckets, so an order
placed at the end of a review bucket arrives a = L / b buckets later (the
daily rule: received at the end of day t + L), that is floor(a)
whole buckets and a fraction f = a - floor(a) into the next one: the first
share f of that bucket's demand is served from the stock before it, the rest
after (demand spread evenly over a bucket, as the reorder policy's pro rata
window; the bucket is the one the reorder table's arrival lands in);
``covered_share`` reads the real demand of L + R days the same way;
``days_out_of_stock`` is the estimated days without stock: lost / demand x b per
bucket (uniform demand); ``days`` is the buckets replayed x b.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.inventory.inventory_input import validate_inventory
from forecasting.applications.inventory.lead_time import max_lead_days, order_lead_times
from forecasting.core.calendar import Frequency
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
    """Per-item results: ITEM_COLUMNS, ``unit_cost`` and ``variant`` (one block of rows per variant)."""

    items: pd.DataFrame


def review_buckets(review_period_days: np.ndarray, freq: Frequency) -> np.ndarray:
    """Review periods in whole buckets of ``freq``: R days / days per bucket, rounded, at least 1 (daily: R)."""
    days = np.asarray(review_period_days, dtype=np.int64)
    if freq.code == "D":
        return days
    return np.maximum(np.floor(freq.periods_covering(days) + 0.5), 1).astype(np.int64)


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
    variants: Sequence[Mapping[str, object]] = ({},),
    plan_options: Callable[[PreparedHistory], Mapping[str, object]] | None = None,
) -> SimulationResult:
    """Replay the policy of ``inventory`` (its per-item parameters, passed to the calculator unchanged).

    ``history`` must hold every inventory item, each running to the data's
    as-of day; ``on_hand``/``on_order`` of the inventory are replaced by the
    simulated stock at each review. ``service_level`` overrides every item's.
    ``variants``: policies replayed side by side on the same forecasts, each
    a set of inventory columns to override (e.g. ``{"service_level": 0.9}``);
    the result's ``variant`` column numbers them. They cannot change lead
    time or review period (the review days and arrivals are shared).
    ``plan_options``: extra keyword arguments of the calculator's
    ``plan_from_paths`` from the history known at a review (e.g. the items'
    classes as of that day), so policy inputs derived from history use the
    past only.
    """
    reviews = validate_reviews(reviews)
    freq = history.freq
    if not variants or any({"lead_time_days", "review_period_days"} & set(v) for v in variants):
        raise InvalidInputError("simulator variants must be one or more sets of policy columns other than "
                                "lead_time_days and review_period_days")
    base = inventory.reset_index(drop=True).copy()
    if service_level is not None:
        base["service_level"] = service_level
    inv = validate_inventory(base, levels_from_class=True)
    bases = [base.assign(**dict(v)) for v in variants]
    for frame in bases:
        validate_inventory(frame, levels_from_class=True)  # a bad variant fails before any forecast
    hist_ids = history.item_ids.astype(str)
    row = pd.Index(hist_ids).get_indexer(inv.item_ids)
    if (row < 0).any():
        raise InvalidInputError(f"inventory item(s) without sales history: {list(inv.item_ids[row < 0][:10])}")
    history = history.subset(np.isin(hist_ids, inv.item_ids))
    row = pd.Index(history.item_ids.astype(str)).get_indexer(inv.item_ids)
    for frame in bases:
        frame["item_id"] = inv.item_ids
        if "on_order_due" in frame.columns:
            frame["on_order_due"] = pd.NaT
    if (inv.review_period_days < 1).any():
        raise InvalidInputError("the simulator needs a review period of at least 1 day for every item")
    review = review_buckets(inv.review_period_days, freq)  # buckets between reviews
    lead = np.asarray(freq.periods_covering(inv.lead_time_days.astype(np.float64)), dtype=np.float64)  # buckets
    longest = int(np.floor(np.max(freq.periods_covering(
        max_lead_days(inv.lead_time_days, inv.lead_time_std_days).astype(np.float64))) + 1e-9))
    n, n_var = len(inv.item_ids), len(bases)
    end = int(history.last_day.max())
    start = end - reviews * review  # the first review bucket per item
    first = int(start.min())
    total_days = end - first
    horizon = InventoryCalculator.required_horizon(base, freq)
    demand = _daily_demand(history, row, first, total_days)  # [items, buckets first+1 .. end]
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(demand, axis=1)], axis=1)
    active = (np.arange(total_days)[None, :] + first + 1) > start[:, None]  # bucket inside the item's window
    shape = (n_var, n)
    arrivals = np.zeros((n_var, n, total_days + longest + 2))
    # share of an arrival bucket's demand served before the order in it arrives (daily: always 0)
    arrival_part = np.zeros(arrivals.shape)
    on_hand, on_order, stock_sum, served, lost = (np.zeros(shape) for _ in range(5))
    days_out = np.zeros(shape, dtype=np.int64 if freq.code == "D" else np.float64)
    orders, cycles_clean, checked, covered = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    cycle_lost = np.zeros(shape, dtype=bool)
    review_days = sorted({int(s + k * r) for s, r in zip(start, review) for k in range(reviews)})
    done = 0

    def review_on(day: int) -> None:
        nonlocal done
        due = (day >= start) & ((day - start) % review == 0) & (day < end)
        if not due.any():
            return
        idx = np.flatnonzero(due)
        keep = np.zeros(history.n_items, dtype=bool)
        keep[row[idx]] = True
        known = history.subset(keep).truncate(np.full(int(keep.sum()), day), 1)
        paths = forecaster(known, horizon)
        options = {} if plan_options is None else dict(plan_options(known))
        init = start[idx] == day  # an item's first review: it starts with S on hand, nothing on order
        offs = day - first  # demand column of day + 1
        # did S cover the real demand of the next L + R days (when they lie inside the data)?
        span = lead[idx] + freq.periods_covering(inv.review_period_days[idx].astype(np.float64))
        inside = day + np.ceil(span - 1e-9) <= end
        real = _total_at(cum, demand, idx, offs + span) - cum[idx, offs]
        shift, part = _arrival(order_lead_times(inv.lead_time_days[idx], inv.lead_time_std_days[idx],
                                                inv.item_ids[idx], day), freq)
        arrive = offs + shift  # daily: the column of day + L + 1
        for v, frame in enumerate(bases):
            frame = frame.iloc[idx].assign(on_hand=np.where(init, 0.0, on_hand[v, idx]),
                                           on_order=np.where(init, 0.0, on_order[v, idx]))
            # every simulated day is a review: order up to the order-up-to level (one rule: proposed_today)
            table = InventoryCalculator.plan_from_paths(paths, frame, model, review_due=True, **options).table
            table = table.set_index("item_id").loc[inv.item_ids[idx]]
            level = table["order_up_to"].to_numpy(dtype=np.float64)
            checked[v, idx] += inside
            covered[v, idx] += inside & (level >= real - 1e-9)
            on_hand[v, idx[init]] = level[init]
            qty = np.where(init, 0.0, np.nan_to_num(table["order_qty"].to_numpy(dtype=np.float64)))
            orders[v, idx] += qty > 0
            arrivals[v, idx, arrive] += qty
            arrival_part[v, idx, arrive] = np.where(qty > 0, part, arrival_part[v, idx, arrive])
            on_order[v, idx] += qty
        done += 1
        if progress:
            progress(done, len(review_days))

    review_on(first)
    for col in range(total_days):
        day = first + 1 + col
        act = active[:, col]
        arriving = arrivals[:, :, col]
        part = arrival_part[:, :, col]
        want = np.where(act, demand[:, col], 0.0)
        before = np.minimum(on_hand, part * want)  # served before an order arriving inside the bucket (daily: 0)
        on_hand += arriving - before
        on_order -= arriving
        give = before + np.minimum(on_hand, want - part * want)
        on_hand -= give - before
        short = want - give
        served += give
        lost += short
        short_day = short > 1e-9
        days_out += short_day if freq.code == "D" else np.where(want > 0, short / np.maximum(want, 1e-300), 0.0) \
            * freq.days_per_period
        cycle_lost |= short_day
        stock_sum += np.where(act, on_hand, 0.0)
        cycle_end = act & ((day - start) % review == 0)
        cycles_clean += cycle_end & ~cycle_lost
        cycle_lost &= ~cycle_end
        review_on(day)
    item_demand = demand.sum(axis=1, where=active)
    tables = [
        _item_table(inv, item_demand, served[v], lost[v], reviews, cycles_clean[v], stock_sum[v], end - start,
                    days_out[v], orders[v], checked[v], covered[v], freq.days_per_period).assign(variant=v)
        for v in range(n_var)
    ]
    return SimulationResult(pd.concat(tables, ignore_index=True))


def _arrival(lead_time_days: np.ndarray, freq: Frequency) -> tuple[np.ndarray, np.ndarray]:
    """Where orders of lead time L days arrive after the end of their review bucket: a = L / b buckets, as
    ``floor(a)`` whole buckets and the share ``a - floor(a)`` of the next one's demand served before them
    (daily: L days, share 0: received at the end of day t + L)."""
    arrive_in = np.asarray(freq.periods_covering(np.asarray(lead_time_days, dtype=np.float64)), dtype=np.float64)
    shift = np.floor(arrive_in + 1e-9).astype(np.int64)
    return shift, np.maximum(arrive_in - shift, 0.0)


def _total_at(cum: np.ndarray, demand: np.ndarray, idx: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Cumulative demand of items ``idx`` up to a fractional column ``position`` (the last bucket pro rata)."""
    position = np.minimum(position, demand.shape[1])
    lo = np.floor(position).astype(np.int64)
    inside = np.minimum(lo, demand.shape[1] - 1)
    return cum[idx, lo] + np.where(lo < demand.shape[1], (position - lo) * demand[idx, inside], 0.0)


def _daily_demand(history: PreparedHistory, row: np.ndarray, first: int, total_days: int) -> np.ndarray:
    """Sales [items, buckets first+1 .. first+total_days] of the history's items ``row`` (0 before a first sale)."""
    item = np.repeat(np.arange(history.n_items), history.lengths)
    col = history.days - (first + 1)
    inside = (col >= 0) & (col < total_days)
    by_history = np.zeros((history.n_items, total_days))
    by_history[item[inside], col[inside]] = history.quantity[inside]
    return by_history[row]


def _item_table(inv, demand, served, lost, reviews, clean, stock_sum, buckets, days_out, orders, checked, covered,
                per_bucket=1.0):
    avg = stock_sum / buckets
    days = buckets if per_bucket == 1.0 else buckets * per_bucket  # daily: whole days, as before buckets
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
    """Totals of per-item results per variant: one row per value of ``by`` (a class column), else ``total``.

    Sums of units, days, cycles and orders; rates recomputed from the sums
    (fill rate = served / demand over the items, not a mean of item rates);
    ``avg_stock`` is the sum of the items' average stocks and ``turns`` the
    served value a year over the average stock value (units where no item
    has a unit cost).
    """
    label = by or "scope"
    frame = items.assign(**{label: "total" if by is None else items[by].fillna("").astype(str)},
                         _served_value=items["served"] * items["unit_cost"].fillna(0.0) * 365.0 / items["days"],
                         _served_year=items["served"] * 365.0 / items["days"])
    groups = frame.groupby(["variant", label], sort=True)
    sums = groups[[
        "demand", "served", "lost", "cycles", "cycles_without_stockout", "avg_stock", "avg_stock_value",
        "days", "days_out_of_stock", "orders", "reviews_checked", "reviews_covered", "_served_value", "_served_year",
    ]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sums["fill_rate"] = np.where(sums["demand"] > 0, sums["served"] / sums["demand"], np.nan)
        sums["cycle_service"] = sums["cycles_without_stockout"] / sums["cycles"]
        sums["turns"] = np.where(
            sums["avg_stock_value"] > 0, sums["_served_value"] / sums["avg_stock_value"],
            np.where(sums["avg_stock"] > 0, sums["_served_year"] / sums["avg_stock"], np.nan))
        sums["covered_share"] = np.where(sums["reviews_checked"] > 0,
                                         sums["reviews_covered"] / sums["reviews_checked"], np.nan)
    sums["items"] = groups.size()
    return sums.reset_index()[["variant", label, "items", *SUMMARY_COLUMNS]]
