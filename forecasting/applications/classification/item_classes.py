"""ABC, XYZ and lifecycle classes of items (docs/inventory-policy.md, classes), vectorised over items.

All rules read a right-aligned daily history [items, T] (NaN before an item's
first day, every item ending on the data's as-of date), as
:meth:`~forecasting.core.history.PreparedHistory.tail_matrix` gives it:

- **ABC**: value sold over the last :data:`VALUE_WINDOW_DAYS` days (units x
  unit cost; units alone when any item's cost is unknown, so all items are on
  one scale). Items sorted by value, largest first: an item is A while the
  cumulative share of the items before it is below the first threshold (80%),
  B below the second (95%), else C. So the items that make up the first 80% of
  the value are A, even when one item alone makes 90%. No value at all: C.
- **XYZ**: coefficient of variation (population std / mean) of the weekly sums
  of the last 52 whole weeks ending on the as-of date (only weeks inside the
  item's history): X below 0.5, Y below 1.0, else Z (also Z without two whole
  weeks or without any sale).
- **lifecycle**: ``dead`` when the last sale is at least :data:`DEAD_DAYS` days
  (26 weeks) ago, or the planner flagged the item phased out; else ``new`` when
  the first sale is less than :data:`NEW_DAYS` days (8 weeks) ago; else
  ``active``. An item that never sold counts from its first day of history.

Weekly or monthly history (``freq``): the day limits are counted in whole
buckets covering them (:meth:`~forecasting.core.calendar.Frequency.whole_periods`:
the value window is 52 weeks or 12 months, dead 26 weeks or 6 months, new 8
weeks or 2 months); XYZ is the CV of the weekly values themselves (52 weeks),
or of the monthly values (12 months: a month's sum varies less than a week's,
so monthly items lean to X); ``days_since_last_sale`` is the buckets since
then times the days in a bucket (7, or the mean month 30.44, rounded).

Relation to :func:`forecasting.modes.statistical.classification.no_recent_demand`:
that rule (at least 13 weeks and 4 mean intervals without a sale) decides when a
*forecast* drops to zero; the lifecycle's fixed 26 weeks decide when the *policy*
stops holding stock. Both read the days since the last sale from that one function.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, Frequency, in_bucket
from forecasting.modes.statistical.classification import no_recent_demand

VALUE_WINDOW_DAYS = 364
WEEKS = 52
#: cumulative value shares closing A and B (the client's own thresholds may replace them)
ABC_THRESHOLDS = (0.80, 0.95)
#: CV of weekly sums closing X and Y
XYZ_THRESHOLDS = (0.5, 1.0)
NEW_DAYS = 56
DEAD_DAYS = 182
LIFECYCLES = ("new", "active", "dead")
CLASS_COLUMNS = ["item_id", "abc", "xyz", "lifecycle", "value_52w", "weekly_cv", "days_since_last_sale"]


def abc_classes(value: np.ndarray, thresholds: Sequence[float] = ABC_THRESHOLDS) -> np.ndarray:
    """'A'/'B'/'C' per item from its value: cumulative share of the larger items before it vs the thresholds."""
    value = np.nan_to_num(np.asarray(value, dtype=np.float64))
    total = value.sum()
    order = np.argsort(-value, kind="stable")
    before = np.empty(len(value))
    before[order] = np.concatenate([[0.0], np.cumsum(value[order])[:-1]]) / (total if total > 0 else 1.0)
    a_share, b_share = thresholds
    labels = np.select([before < a_share, before < b_share], ["A", "B"], default="C").astype(object)
    return np.where(value > 0, labels, "C").astype(object)


def weekly_cv(y: np.ndarray, weeks: int = WEEKS, per_week: int = 7) -> np.ndarray:
    """CV of the weekly sums of the last ``weeks`` whole weeks inside each item's history (NaN: < 2 weeks or mean 0).

    ``per_week``: buckets summed into one week (7 days; 1 for weekly data, where ``weeks`` counts the
    buckets; monthly data passes 1 and 12: the CV of the months).
    """
    width = min(y.shape[1] // per_week, weeks) * per_week
    tail = y[:, y.shape[1] - width:].reshape(len(y), -1, per_week)
    whole = ~np.isnan(tail).any(axis=2)
    sums = np.where(whole, np.nan_to_num(tail).sum(axis=2), np.nan)
    count = whole.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(sums, axis=1) / np.maximum(count, 1)
        std = np.sqrt(np.nansum((sums - mean[:, None]) ** 2, axis=1) / np.maximum(count, 1))
        return np.where((count >= 2) & (mean > 0), std / mean, np.nan)


def xyz_classes(cv: np.ndarray, thresholds: Sequence[float] = XYZ_THRESHOLDS) -> np.ndarray:
    """'X'/'Y'/'Z' per item from its weekly CV (NaN is Z)."""
    x, y = thresholds
    with np.errstate(invalid="ignore"):
        return np.select([cv < x, cv < y], ["X", "Y"], default="Z").astype(object)


def lifecycle(
    y: np.ndarray, phase_out: np.ndarray | None = None, freq: Frequency = DAILY
) -> tuple[np.ndarray, np.ndarray]:
    """('new'/'active'/'dead', buckets since the last sale; -1 if none) per item of a right-aligned history."""
    with in_bucket(freq):
        _, since = no_recent_demand(y)
    width = y.shape[1]
    sold = np.nan_to_num(y) > 0
    present = ~np.isnan(y)
    first_day = np.where(present.any(axis=1), np.argmax(present, axis=1), width - 1)
    first_sale = np.where(sold.any(axis=1), np.argmax(sold, axis=1), first_day)
    quiet = np.where(since >= 0, since, width - 1 - first_day)
    dead = quiet >= freq.whole_periods(DEAD_DAYS)
    if phase_out is not None:
        dead |= np.asarray(phase_out, dtype=bool)
    new = width - first_sale < freq.whole_periods(NEW_DAYS)
    return np.select([dead, new], ["dead", "new"], default="active").astype(object), since


def item_classes(
    item_ids: np.ndarray,
    y: np.ndarray,
    unit_cost: np.ndarray | None = None,
    phase_out: np.ndarray | None = None,
    abc_thresholds: Sequence[float] = ABC_THRESHOLDS,
    freq: Frequency = DAILY,
) -> pd.DataFrame:
    """:data:`CLASS_COLUMNS` per item of a right-aligned history [items, buckets of ``freq``] (see the module doc)."""
    units = np.nansum(y[:, -freq.whole_periods(VALUE_WINDOW_DAYS):], axis=1)
    cost = None if unit_cost is None else np.asarray(unit_cost, dtype=np.float64)
    value = units * cost if cost is not None and np.isfinite(cost).all() else units
    cv = weekly_cv(y) if freq.code == "D" else weekly_cv(y, freq.whole_periods(VALUE_WINDOW_DAYS), 1)
    stage, since = lifecycle(y, phase_out, freq)
    if freq.code != "D":
        since = np.where(since >= 0, np.round(since * freq.days_per_period), -1).astype(np.int64)
    return pd.DataFrame({
        "item_id": np.asarray(item_ids).astype(str),
        "abc": abc_classes(value, abc_thresholds),
        "xyz": xyz_classes(cv),
        "lifecycle": stage,
        "value_52w": value,
        "weekly_cv": cv,
        "days_since_last_sale": since,
    }, columns=CLASS_COLUMNS)
