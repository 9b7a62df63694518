"""What needs a planner's attention today: the exception rules, as pure functions of the client's numbers.

Each rule flags items with a reason, the units at stake and their value at
risk (units x unit cost; empty where the unit cost is not known). The inputs
are the reorder plan of every item with a stock position (table and projected
stock, docs/inventory-policy.md), the items' sales dates, and the comparison
of stored forecasts with the actuals that have since come in (see
:func:`bias_by_item`). Rules, most urgent first:

1. ``stock-out before an order arrives``: the projected stock (on hand plus
   stock on order from its due day) is at least one unit short (it rounds to
   1 or more) on the day an order placed today would arrive, so that order
   comes too late; units = that shortfall. With rule 2 these are exactly the
   items the reorder table marks ``reorder`` (one rule:
   :func:`forecasting.applications.inventory.calculator.order_now`).
2. ``below reorder point``: inventory position at or below the reorder point;
   units = reorder point - position.
3. ``forecast bias``: over the last :data:`BIAS_WINDOW` buckets the actuals
   were persistently above or below the forecasts stored for them (at least
   the window's minimum of buckets compared, |bias| >= :data:`BIAS_LIMIT`, and
   at least 70% of the buckets on the same side); units = |forecast - actual| summed.
4. ``no sales for a long time``: no sale in the last :data:`SILENT_DAYS` days
   up to the data's as-of date (:func:`silent_buckets` on weekly or monthly
   data); units = stock on hand (at risk of becoming obsolete).
5. ``excess stock``: inventory position over :data:`EXCESS_FACTOR` times the
   order-up-to level; units = position - order-up-to level.
6. ``history too short to forecast``: an item with a stock position but fewer
   than the model's minimum buckets of sales history; units = stock on hand.

Buckets (docs/inventory-policy.md): on weekly or monthly data every date is a
bucket's date, the reorder plan's projection is per bucket, and the rules count
buckets. Lead times stay in days (the order placed today arrives in the bucket
holding day L); the silent limit is a business limit in days, converted once;
the bias window is stated per bucket (:data:`BIAS_WINDOW`), because a bias
needs enough comparisons to be persistent: 28 days, a quarter of weeks, half a
year of months.

An item appears once, under its most urgent reason; its other reasons are
listed beside. The queue is ranked by urgency, then value at risk, then units.
Its value at risk is shortage value (rules 1-2: stock lacking) or excess value
(rules 4-5: stock that may not sell); bias and short histories are neither.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.applications.inventory.calculator import is_shortage, shortfall_on_arrival
from forecasting.core.calendar import DAILY, Frequency

STOCKOUT = "stock-out before an order arrives"
BELOW_ROP = "below reorder point"
BIAS = "forecast bias"
SILENT = "no sales for a long time"
EXCESS = "excess stock"
SHORT = "history too short to forecast"
#: every reason, most urgent first
REASONS = (STOCKOUT, BELOW_ROP, BIAS, SILENT, EXCESS, SHORT)
#: the reasons to order now: together exactly the items the reorder table marks ``reorder`` (its ``order_now``)
URGENT = (STOCKOUT, BELOW_ROP)
#: reasons whose value at risk is stock lacking (shortage) or stock too much (excess); the others are neither
SHORTAGE_REASONS = URGENT
EXCESS_REASONS = (SILENT, EXCESS)

#: no sale for this many days (8 weeks) up to the as-of date: silent (converted to buckets, rounded up)
SILENT_DAYS = 56
EXCESS_FACTOR = 2.0
#: per bucket code: (buckets in the bias window up to the as-of date, the fewest compared buckets that count)
BIAS_WINDOW = {"D": (28, 14), "W": (13, 8), "M": (6, 4)}
BIAS_LIMIT = 0.3
BIAS_SAME_SIDE = 0.7
EXCEPTION_COLUMNS = [
    "rank", "item_id", "name", "category", "reason", "detail", "units", "unit_cost", "value_at_risk",
    "other_reasons",
]


@dataclass(frozen=True)
class Flag:
    """One rule's findings: the items, their units at stake and a sentence each."""

    reason: str
    item_ids: np.ndarray
    units: np.ndarray
    detail: list[str]


def silent_buckets(freq: Frequency = DAILY) -> int:
    """Buckets without a sale that make an item silent: :data:`SILENT_DAYS` days, in whole buckets (8 weeks, 2 months)."""
    return freq.whole_periods(SILENT_DAYS)


def bias_window(freq: Frequency = DAILY) -> tuple[int, int]:
    """(buckets in the bias window, fewest buckets compared) of ``freq``: 28/14 days, 13/8 weeks, 6/4 months."""
    return BIAS_WINDOW[freq.code]


def stockouts_before_arrival(table: pd.DataFrame, projection: pd.DataFrame, freq: Frequency = DAILY) -> Flag:
    """Items at least a unit short on the day an order placed today could arrive (see :func:`order_now`)."""
    short = _shortfalls(table, projection, freq)
    rows = table[is_shortage(short)]
    short = short[is_shortage(short)]
    detail = [f"runs out on {out:%Y-%m-%d}; an order today arrives after {int(lead)} days, "
              f"{whole(units)} units short by then"
              for out, lead, units in zip(rows["stockout_date"], rows["lead_time_days"], short)]
    return Flag(STOCKOUT, rows["item_id"].to_numpy(), short, detail)


def _shortfalls(table: pd.DataFrame, projection: pd.DataFrame, freq: Frequency) -> np.ndarray:
    """Each table row's units short on arrival, from the plan's projection (the same buckets for every item)."""
    if table.empty:
        return np.zeros(0)
    days = len(projection) // projection["item_id"].nunique()
    stock = projection["projected_stock"].to_numpy(dtype=np.float64).reshape(-1, days)
    row = pd.Index(projection["item_id"].to_numpy()[::days]).get_indexer(table["item_id"])
    return shortfall_on_arrival(stock[row], table["lead_time_days"].to_numpy(), freq)


def whole(units: float) -> str:
    """Units rounded to whole ones for a sentence, never "-0"."""
    return f"{np.round(units) + 0.0:,.0f}"


def below_reorder_point(table: pd.DataFrame) -> Flag:
    rows = table[table["inventory_position"] <= table["reorder_point"]]
    units = (rows["reorder_point"] - rows["inventory_position"]).to_numpy(dtype=float)
    detail = [f"position {whole(p)} at or below the reorder point {rp:,.1f}; suggested order {whole(q)}"
              for p, rp, q in zip(rows["inventory_position"], rows["reorder_point"], rows["order_qty"])]
    return Flag(BELOW_ROP, rows["item_id"].to_numpy(), units, detail)


def excess_stock(table: pd.DataFrame) -> Flag:
    over = (table["inventory_position"] > EXCESS_FACTOR * table["order_up_to"]) & (table["order_up_to"] > 0)
    rows = table[over]
    units = (rows["inventory_position"] - rows["order_up_to"]).to_numpy(dtype=float)
    detail = [f"position {whole(p)} is {p / u:,.1f} x the order-up-to level {u:,.1f}"
              for p, u in zip(rows["inventory_position"], rows["order_up_to"])]
    return Flag(EXCESS, rows["item_id"].to_numpy(), units, detail)


def silent_items(items: pd.DataFrame, as_of: pd.Timestamp, freq: Frequency = DAILY) -> Flag:
    """Items that sold before but not in the last :func:`silent_buckets` buckets (``items``: ``item_id, last_date,
    on_hand``; dates of ``freq``'s buckets): daily, SILENT_DAYS days between the last sale and the as-of date."""
    last = pd.to_datetime(items["last_date"])
    ago = _buckets_before(as_of, last, freq)
    silent = ago >= silent_buckets(freq)
    rows = items[silent]
    detail = [f"last sale {d:%Y-%m-%d}, {n} {freq.units} before the data's as-of date"
              for d, n in zip(last[silent], ago[silent])]
    return Flag(SILENT, rows["item_id"].to_numpy(), rows["on_hand"].fillna(0.0).to_numpy(dtype=float), detail)


def short_histories(items: pd.DataFrame, skipped: list[str], min_days: int, freq: Frequency = DAILY) -> Flag:
    """Items with a stock position that the reorder table had to leave out for too little history
    (``history_buckets``: each item's buckets of history, :func:`forecasting.core.history.history_lengths`)."""
    rows = items[items["item_id"].isin(skipped) & items["on_hand"].notna()]
    detail = [f"only {n} {freq.unit}(s) of sales history; forecasts need {min_days}" if n > 0
              else "no sales history yet" for n in rows["history_buckets"].fillna(0).astype(int)]
    return Flag(SHORT, rows["item_id"].to_numpy(), rows["on_hand"].to_numpy(dtype=float), detail)


def bias_by_item(compared: pd.DataFrame, as_of: pd.Timestamp, freq: Frequency = DAILY) -> pd.DataFrame:
    """Per item over the bias window (:func:`bias_window`): ``buckets`` compared, bias (sum(f - y) / sum(y)),
    share over, |f - y| summed.

    ``compared``: ``item_id, date, forecast, actual`` (a stored forecast for a
    bucket whose actual is now known; one row per item and bucket).
    """
    window, _ = bias_window(freq)
    recent = compared[_buckets_before(as_of, pd.to_datetime(compared["date"]), freq) < window]
    error = recent["forecast"] - recent["actual"]
    grouped = recent.assign(error=error, over=(error > 0).astype(float), under=(error < 0).astype(float),
                            miss=error.abs()).groupby("item_id")
    out = pd.DataFrame({
        "buckets": grouped.size(),
        "error": grouped["error"].sum(),
        "sold": grouped["actual"].sum(),
        "over": grouped["over"].mean(),
        "under": grouped["under"].mean(),
        "miss": grouped["miss"].sum(),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["bias"] = out["error"] / out["sold"].where(out["sold"] > 0)
    return out.reset_index()


def biased(compared: pd.DataFrame, as_of: pd.Timestamp, freq: Frequency = DAILY) -> Flag:
    stats = bias_by_item(compared, as_of, freq)
    _, fewest = bias_window(freq)
    same_side = np.maximum(stats["over"], stats["under"]) >= BIAS_SAME_SIDE
    rows = stats[(stats["buckets"] >= fewest) & (stats["bias"].abs() >= BIAS_LIMIT) & same_side]
    detail = [f"forecasts {'above' if b > 0 else 'below'} the actuals by {abs(b):.0%} over the last {n} {freq.units}"
              for b, n in zip(rows["bias"], rows["buckets"])]
    return Flag(BIAS, rows["item_id"].to_numpy(), rows["miss"].to_numpy(dtype=float), detail)


def _buckets_before(as_of: pd.Timestamp, dates: pd.Series, freq: Frequency) -> pd.Series:
    """Buckets from each date's bucket to the as-of date's (0: the as-of bucket itself; daily: days)."""
    periods = freq.periods(np.asarray(pd.to_datetime(dates), dtype="datetime64[D]").astype(np.int64))
    end = freq.periods(np.array([np.datetime64(pd.Timestamp(as_of), "D").astype(np.int64)]))[0]
    return pd.Series(end - periods, index=dates.index)


def exception_queue(flags: list[Flag], items: pd.DataFrame) -> pd.DataFrame:
    """The ranked queue (EXCEPTION_COLUMNS): one row per item, under its most urgent reason."""
    rows = []
    for flag in flags:
        for item_id, units, detail in zip(flag.item_ids, flag.units, flag.detail):
            rows.append({"item_id": str(item_id), "reason": flag.reason, "units": float(units), "detail": detail})
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EXCEPTION_COLUMNS})
    found = pd.DataFrame(rows)
    found["urgency"] = found["reason"].map({r: k for k, r in enumerate(REASONS)})
    found = found.sort_values(["item_id", "urgency"], kind="stable")
    others = found.groupby("item_id")["reason"].apply(lambda r: ", ".join(r.iloc[1:]))
    queue = found.drop_duplicates("item_id").set_index("item_id")
    queue["other_reasons"] = others
    info = items.set_index("item_id")
    queue["name"] = info["name"].reindex(queue.index).fillna("")
    queue["category"] = info["category"].reindex(queue.index).fillna("")
    queue["unit_cost"] = info["unit_cost"].reindex(queue.index)
    queue["value_at_risk"] = queue["units"] * queue["unit_cost"]
    queue = queue.reset_index().sort_values(
        ["urgency", "value_at_risk", "units", "item_id"], ascending=[True, False, False, True], na_position="last",
        kind="stable",
    )
    queue["rank"] = np.arange(1, len(queue) + 1)
    return queue[EXCEPTION_COLUMNS].reset_index(drop=True)


def filter_queue(
    queue: pd.DataFrame, reasons: Sequence[str] = (), categories: Sequence[str] = (), min_value: float = 0.0
) -> pd.DataFrame:
    """The queue's rows with one of ``reasons`` and ``categories`` (empty: all) and a value at risk >= ``min_value``.

    Rows without a value at risk (no unit cost) stay: their value is unknown, not trivial.
    """
    keep = pd.Series(True, index=queue.index)
    if reasons:
        keep &= queue["reason"].isin(list(reasons))
    if categories:
        keep &= queue["category"].isin(list(categories))
    if min_value > 0:
        keep &= ~(queue["value_at_risk"] < min_value)
    return queue[keep]


def queue_totals(queue: pd.DataFrame) -> dict[str, float | int]:
    """The headline numbers of (a filtered) queue: items, urgent ones, shortage value and excess value at risk.

    ``urgent``: items to order now (:data:`URGENT`); ``shortage_value``: value at
    risk of :data:`SHORTAGE_REASONS`; ``excess_value``: of :data:`EXCESS_REASONS`;
    ``no_cost``: items without a unit cost (not in either value).
    """
    value = queue["value_at_risk"].astype(float)
    return {
        "items": len(queue),
        "urgent": int(queue["reason"].isin(URGENT).sum()),
        "shortage_value": float(value[queue["reason"].isin(SHORTAGE_REASONS)].sum(skipna=True)),
        "excess_value": float(value[queue["reason"].isin(EXCESS_REASONS)].sum(skipna=True)),
        "no_cost": int(value.isna().sum()),
    }


def attention_queue(
    table: pd.DataFrame,
    projection: pd.DataFrame,
    items: pd.DataFrame,
    compared: pd.DataFrame,
    as_of: pd.Timestamp,
    skipped: list[str],
    min_days: int,
    freq: Frequency = DAILY,
) -> pd.DataFrame:
    """Every rule over the client's numbers, as one ranked queue (see the module docstring).

    ``table``/``projection``: the reorder plan of the items with a stock position;
    ``items``: ``item_id, name, category, unit_cost, on_hand, last_date, history_buckets``
    (every item); ``compared``: stored forecasts against actuals (:func:`bias_by_item`);
    ``skipped``: items the reorder plan left out; ``min_days``: the model's minimum
    history in buckets; ``freq``: the data's bucket (dates are its buckets' dates).
    """
    flags = [stockouts_before_arrival(table, projection, freq), below_reorder_point(table),
             biased(compared, as_of, freq), silent_items(items[items["last_date"].notna()], as_of, freq),
             excess_stock(table), short_histories(items, skipped, min_days, freq)]
    return exception_queue(flags, items)
