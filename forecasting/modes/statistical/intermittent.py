"""Intermittent-demand models: Croston SBA, TSB, ADIDA and IMAPA, as statsforecast defines them.

Each is recomputed vectorised over items, step for step like statsforecast's
code, so the point forecasts equal its CrostonSBA, TSB, ADIDA and IMAPA:

- ``croston-sba``: SES (alpha 0.1) of the non-zero demand sizes z and of the
  intervals p between them (the first counted from the item's first day);
  forecast 0.95 z / p.
- ``tsb``: SES of the demand sizes (alpha_d) and of the 0/1 demand occurrence
  of every day (alpha_p); forecast occurrence x size.
- ``adida``: the series summed in buckets of A days (A = the mean interval
  between demands, rounded; buckets counted back from the last day), SES with
  its weight fitted in [0.1, 0.3] on the bucket sums, divided by A.
- ``imapa``: the mean of the ADIDA forecasts for every A from 1 to that rounded mean interval.

A series without any demand forecasts 0. Bands and paths are empirical: the
fitted weights replayed at every past origin (buckets ending on the origin).
"""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.empirical import EmpiricalModel, Fit, flat
from forecasting.modes.statistical.panel import Panel, to_matrix
from forecasting.modes.statistical.smoothing import golden_section_ses, ses_levels

CROSTON_ALPHA = 0.1
SBA_FACTOR = 0.95
#: statsforecast's bounds for the bucket-sum smoothing weight of ADIDA and IMAPA
AGGREGATE_BOUNDS = (0.1, 0.3)


def croston_levels(y: np.ndarray, alpha: float = CROSTON_ALPHA) -> np.ndarray:
    """Croston's classic z / p after each day [items, T] (0 before the first demand, NaN before the first day)."""
    panel = Panel.from_matrix(y)
    x, started = panel.values, panel.started
    size = np.full(panel.n_items, np.nan)
    interval = np.full(panel.n_items, np.nan)
    since = np.zeros(panel.n_items)  # days since the last demand (the first counts from before day 0)
    out = np.full(x.shape, np.nan)
    for t in range(panel.n_steps):
        k = started[t]
        if not k:
            continue
        day = x[t, :k]
        since[:k] += 1.0
        demand = day > 0
        prev_size = np.where(np.isnan(size[:k]), day, size[:k])  # SES starts from its first value
        prev_interval = np.where(np.isnan(interval[:k]), since[:k], interval[:k])
        size[:k] = np.where(demand, alpha * day + (1.0 - alpha) * prev_size, size[:k])
        interval[:k] = np.where(demand, alpha * since[:k] + (1.0 - alpha) * prev_interval, interval[:k])
        since[:k] = np.where(demand, 0.0, since[:k])
        with np.errstate(invalid="ignore"):
            out[t, :k] = np.where(np.isnan(size[:k]), 0.0, size[:k] / interval[:k])
    return to_matrix(panel, out)


def tsb_levels(y: np.ndarray, alpha_d: float, alpha_p: float) -> np.ndarray:
    """TSB's occurrence x size after each day [items, T] (0 before the first demand)."""
    panel = Panel.from_matrix(y)
    x, started = panel.values, panel.started
    size = np.full(panel.n_items, np.nan)
    occurrence = np.empty(panel.n_items)
    out = np.full(x.shape, np.nan)
    before = 0
    for t in range(panel.n_steps):
        k = started[t]
        if not k:
            continue
        day = x[t, :k]
        demand = day != 0
        happened = demand.astype(np.float64)
        if k > before:
            occurrence[before:k] = happened[before:k]  # SES starts from its first value
        occurrence[:k] = alpha_p * happened + (1.0 - alpha_p) * occurrence[:k]
        prev_size = np.where(np.isnan(size[:k]), day, size[:k])
        size[:k] = np.where(demand, alpha_d * day + (1.0 - alpha_d) * prev_size, size[:k])
        out[t, :k] = np.where(np.isnan(size[:k]), 0.0, occurrence[:k] * size[:k])
        before = k
    return to_matrix(panel, out)


def mean_interval(y: np.ndarray) -> np.ndarray:
    """Mean days between demands, the first counted from the day before the item's first day; NaN without demand."""
    observed = ~np.isnan(y)
    first = observed.argmax(axis=1)
    demand = observed & (np.nan_to_num(y) != 0)
    count = demand.sum(axis=1)
    last = y.shape[1] - 1 - np.argmax(demand[:, ::-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (last - first + 1) / count, np.nan)


def aggregation_level(y: np.ndarray) -> np.ndarray:
    """statsforecast's bucket size: the mean interval rounded half to even (1 without demand)."""
    interval = mean_interval(y)
    return np.where(np.isnan(interval), 1, np.round(np.nan_to_num(interval, nan=1.0))).astype(np.int64)


def bucket_sums(y: np.ndarray, size: int, end: int | None = None) -> np.ndarray:
    """Sums of ``size``-day buckets ending on column ``end`` (default the last) and every ``size`` days before.

    [items, buckets], oldest first; a bucket reaching before an item's first day is NaN.
    Summed left to right, like statsforecast.
    """
    end = y.shape[1] - 1 if end is None else end
    n = (end + 1) // size
    first = end + 1 - n * size
    blocks = y[:, first : end + 1].reshape(len(y), n, size)
    total = blocks[:, :, 0].copy()
    for j in range(1, size):
        total += blocks[:, :, j]
    return total


def aggregate_forecasts(y: np.ndarray, size: int) -> np.ndarray:
    """F [items, T]: SES of ``size``-day bucket sums, divided by ``size``, at every origin.

    At origin t the buckets end on day t, smoothed with the weight statsforecast
    fits on the buckets ending on the last day; the last column is statsforecast's
    forecast exactly (an item with a single bucket forecasts that bucket's sum).
    """
    last = bucket_sums(y, size)
    panel = Panel.from_matrix(last)
    alpha = golden_section_ses(panel, *AGGREGATE_BOUNDS)
    final = to_matrix(panel, ses_levels(panel, alpha)[-1:])[:, 0]
    single = (~np.isnan(last)).sum(axis=1) == 1
    final[single] = last[single, -1]
    alpha = panel.to_items(alpha)
    # every bucket ending on any day, from running totals (the phases share them)
    totals = np.cumsum(np.nan_to_num(y), axis=1)
    rolling = np.full(y.shape, np.nan)
    rolling[:, size - 1] = totals[:, size - 1]
    rolling[:, size:] = totals[:, size:] - totals[:, :-size]
    rolling[:, size - 1 :][np.isnan(y[:, : y.shape[1] - size + 1])] = np.nan
    # origins T-1-phase, T-1-phase-size, ... share their buckets: each phase is a series of its own,
    # smoothed all at once (phases stacked as extra rows)
    phases, k = min(size, y.shape[1] - size + 1), y.shape[1] // size
    ends = y.shape[1] - 1 - np.arange(phases)[:, None] - size * np.arange(k)[::-1][None, :]  # [phases, k], oldest first
    ends = np.where(ends >= size - 1, ends, -1)
    stacked = np.where(ends[None, :, :] >= 0, rolling[:, np.maximum(ends, 0)], np.nan)  # [items, phases, k]
    stacked = stacked.reshape(len(y) * phases, -1)
    p = Panel.from_matrix(stacked)
    smoothed = to_matrix(p, ses_levels(p, p.per_item(np.repeat(alpha, phases)))).reshape(len(y), phases, -1)
    out = np.full(y.shape, np.nan)
    valid = ends >= 0
    out[:, ends[valid]] = smoothed[:, valid]
    out /= size
    out[:, -1] = final / size
    return out


class CrostonSBA(EmpiricalModel):
    name = "croston-sba"
    label = "Croston SBA"
    version = "2"
    description = "Croston's method with the Syntetos-Boylan correction (statsforecast CrostonSBA), for " \
                  "intermittent demand; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return flat(croston_levels(y) * SBA_FACTOR, y, horizon)


class TSB(EmpiricalModel):
    name = "tsb"
    label = "TSB"
    version = "2"
    description = "Teunter-Syntetos-Babai: demand size x probability, alpha_d = alpha_p = 0.1 (statsforecast " \
                  "TSB), for intermittent demand that may become obsolete; empirical bands"

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1):
        self.alpha_d, self.alpha_p = alpha_d, alpha_p

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return flat(tsb_levels(y, self.alpha_d, self.alpha_p), y, horizon)


class ADIDA(EmpiricalModel):
    name = "adida"
    label = "ADIDA"
    version = "2"
    description = "aggregate-disaggregate: SES on buckets of the mean demand interval (statsforecast ADIDA), " \
                  "for intermittent demand; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        sizes = aggregation_level(y)
        levels = np.zeros(y.shape)
        for size in np.unique(sizes):
            mine = sizes == size
            levels[mine] = aggregate_forecasts(y[mine], int(size))
        return flat(_no_demand_is_zero(y, levels), y, horizon)


class IMAPA(EmpiricalModel):
    name = "imapa"
    label = "IMAPA"
    version = "2"
    description = "mean of ADIDA over every bucket size up to the mean demand interval (statsforecast IMAPA), " \
                  "for intermittent demand; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        largest = aggregation_level(y)
        total = np.zeros(y.shape)
        for size in range(1, int(largest.max()) + 1):
            mine = largest >= size
            total[mine] += aggregate_forecasts(y[mine], size)
        return flat(_no_demand_is_zero(y, total / largest[:, None]), y, horizon)


def _no_demand_is_zero(y: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Items that never sold forecast 0 (statsforecast's rule), NaN before their first day."""
    never = np.isnan(mean_interval(y))
    levels[never] = np.where(np.isnan(y[never]), np.nan, 0.0)
    return levels
