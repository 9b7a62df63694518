"""Numeric kernels of the order-up-to policy (docs/inventory-policy.md), vectorised over items.

Everything works on sample paths ``values[item, path, day]`` where NaN marks
a path an item does not have. Totals over several days are summed path by
path *before* taking a quantile: the quantile of a sum is not the sum of the
daily quantiles (that would overstate safety stock for service levels above
0.5). There are no Python loops: every reduction runs over all items at once.
"""
from __future__ import annotations

import numpy as np

#: decimals of a pack kept before rounding up (float noise: 0.1+0.1+0.1 is 3.0000000000000004 packs of 0.1)
PACK_TOLERANCE_DECIMALS = 9


def window_totals(values: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Each path's total over its item's first ``days[i]`` steps (or ``days[i, p]`` per path): [items, paths].

    ``days`` may be fractional (a lead time in days on weekly or monthly
    paths: 10 days are 10/7 weeks): the last, partial step counts pro rata,
    total = sum of the first floor(w) steps + (w - floor(w)) x step floor(w) + 1.
    A path with NaN inside the window stays NaN (left out by the nan-aware
    reductions below); a window of 0 steps totals 0. The window mask is
    broadcast, never materialised at the size of ``values`` for per-item days.
    """
    days = np.asarray(days)
    whole = np.floor(days)
    per_path = days.ndim == 2
    inside = np.arange(values.shape[2])[None, None, :] < (whole[:, :, None] if per_path else whole[:, None, None])
    total = np.add.reduce(values, axis=2, where=inside)
    part = days - whole
    if part.any():  # never for whole days: daily totals are exactly the sums they always were
        step = np.minimum(whole.astype(np.int64), values.shape[2] - 1)
        if per_path:
            i, p = np.nonzero(part > 0)
            total[i, p] += part[i, p] * values[i, p, step[i, p]]
        else:
            rows = np.flatnonzero(part > 0)
            total[rows] += part[rows, None] * values[rows, :, step[rows]]
    return total


def path_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the paths (axis 1) ignoring NaN; NaN where an item has no value (no warning).

    [items, paths] -> [items] (expected totals); [items, paths, days] ->
    [items, days] (expected demand per day).
    """
    present = ~np.isnan(values)
    total = np.add.reduce(values, axis=1, where=present)
    count = np.count_nonzero(present, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def row_quantile(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The ``levels[i]``-quantile of row i ignoring NaN: numpy's default (linear) method.

    One sort for all rows, each with its own level (np.nanquantile takes one
    level set for every row). NaN for a row without any value.
    """
    ordered = np.sort(values, axis=1)  # NaN sorts last
    count = np.count_nonzero(~np.isnan(values), axis=1)
    pos = np.asarray(levels, dtype=np.float64) * (np.maximum(count, 1) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
    rows = np.arange(len(values))
    lo_v, hi_v = ordered[rows, lo], ordered[rows, hi]
    q = lo_v + (pos - lo) * (hi_v - lo_v)
    return np.where(count > 0, q, np.nan)


def order_quantity(need: np.ndarray, pack_size: np.ndarray, moq: np.ndarray) -> np.ndarray:
    """max(0, need) rounded up to whole packs, then raised to the MOQ when above 0.

    The MOQ itself is rounded up to whole packs too, so every order is a whole
    number of packs (a supplier that sells in packs of 4 cannot ship an MOQ of
    10): need 3, MOQ 10, pack 4 -> 12. A need of 0 orders nothing, whatever
    the MOQ.
    """
    packs = np.ceil(np.round(np.maximum(need, 0.0) / pack_size, PACK_TOLERANCE_DECIMALS))
    moq_packs = np.ceil(np.round(moq / pack_size, PACK_TOLERANCE_DECIMALS))
    return np.where(packs > 0, np.maximum(packs, moq_packs) * pack_size, 0.0)


def arrival_day(due_offset: np.ndarray, lead_time_days: np.ndarray) -> np.ndarray:
    """The day (1 = the first forecast day) stock on order arrives: its due date, else after the lead time.

    ``due_offset`` is days from the data's as-of date to the due date (NaN: no
    date given). Stock due on or before the first day (overdue) counts from day 1.
    """
    days = np.where(np.isnan(due_offset), lead_time_days, due_offset)
    return np.maximum(days, 1).astype(np.int64)


def projected_stock(
    expected_daily: np.ndarray, start: np.ndarray, arrivals: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Stock at the end of each day [items, days]: ``start`` plus arrivals, minus cumulative expected demand.

    ``arrivals`` are (quantity, day) pairs per item; a quantity counts from its day on.
    """
    days = np.arange(1, expected_daily.shape[1] + 1)[None, :]
    stock = start[:, None] - np.cumsum(expected_daily, axis=1)
    for quantity, day in arrivals:
        stock = stock + np.where(days >= day[:, None], quantity[:, None], 0.0)
    return stock


def first_shortfall(stock: np.ndarray) -> np.ndarray:
    """First day k (1-based) on which the projected stock is below zero; NaN if never."""
    short = stock < 0
    return np.where(short.any(axis=1), short.argmax(axis=1) + 1.0, np.nan)
