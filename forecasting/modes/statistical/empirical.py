"""Empirical uncertainty for simple forecasting rules, from each series' own past errors.

A rule is replayed at every past origin t of an item's history: the error at
step h is ``y[t+h] - f_t(h)``. Quantile bands at step h are the point forecast
plus the empirical quantiles of the item's last :data:`ERROR_ORIGINS` step-h
errors; sample paths are the point forecast plus whole past error
trajectories (so day-to-day correlation of errors is kept). Everything works on
the [items, T] matrix at once; the only Python loop runs over horizon steps.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: how many recent forecast origins supply errors (one year of daily origins)
ERROR_ORIGINS = 364
#: an item needs at least this many complete past trajectories for empirical paths
MIN_TRAJECTORIES = 30

#: ``rule(Y, h)`` -> [items, T] array F with F[:, t] = forecast for t + h made at origin t.
#: A rule whose forecast is the same for every step sets ``rule.same_for_every_step = True``.
InSampleRule = Callable[[np.ndarray, int], np.ndarray]
#: days before an origin that a rule may look at (both baselines look one week back)
RULE_LOOKBACK = 7


def _step_forecasts(y: np.ndarray, rule: InSampleRule) -> Callable[[int], np.ndarray]:
    """h -> rule(y, h), computed once for rules that do not depend on h."""
    if getattr(rule, "same_for_every_step", False):
        f = rule(y, 1)
        return lambda h: f
    return lambda h: rule(y, h)


def error_window(horizon: int) -> int:
    """How many trailing days the last ERROR_ORIGINS origins (and their targets) can touch."""
    return ERROR_ORIGINS + horizon + RULE_LOOKBACK


def _tail(y: np.ndarray, horizon: int) -> np.ndarray:
    return y[:, -error_window(horizon) :]


def error_quantiles(y: np.ndarray, rule: InSampleRule, horizon: int, levels: np.ndarray) -> np.ndarray:
    """Empirical quantiles of step-h errors: [items, horizon, levels].

    Steps without any past error reuse the previous step's quantiles; an item
    without any past error at all gets zero-width bands.
    """
    y = _tail(y, horizon)
    forecasts = _step_forecasts(y, rule)
    out = np.full((y.shape[0], horizon, len(levels)), np.nan)
    for h in range(1, horizon + 1):
        errors = step_errors(y, forecasts(h), h)
        if errors.shape[1] == 0:
            continue
        out[:, h - 1, :] = _row_quantiles(errors, levels)
    _forward_fill_steps(out)
    return np.nan_to_num(out, nan=0.0)


def step_errors(y: np.ndarray, forecasts: np.ndarray, h: int) -> np.ndarray:
    """Errors y[t+h] - f_t(h) for the last ERROR_ORIGINS origins with an observed target."""
    last_origin = y.shape[1] - 1 - h
    if last_origin < 0:
        return np.empty((y.shape[0], 0))
    first_origin = max(0, last_origin - ERROR_ORIGINS + 1)
    f = forecasts[:, first_origin : last_origin + 1]
    return y[:, first_origin + h : last_origin + h + 1] - f


def error_trajectories(y: np.ndarray, rule: InSampleRule, horizon: int) -> np.ndarray:
    """Whole past error paths: [items, origins, horizon], NaN where incomplete."""
    y = _tail(y, horizon)
    forecasts = _step_forecasts(y, rule)
    last_origin = y.shape[1] - 1 - horizon
    if last_origin < 0:
        return np.full((y.shape[0], 0, horizon), np.nan)
    first_origin = max(0, last_origin - ERROR_ORIGINS + 1)
    k = last_origin - first_origin + 1
    out = np.empty((y.shape[0], k, horizon))
    for h in range(1, horizon + 1):
        f = forecasts(h)[:, first_origin : last_origin + 1]
        out[:, :, h - 1] = y[:, first_origin + h : last_origin + h + 1] - f
    return out


def _row_quantiles(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolated quantiles per row, ignoring NaN (numpy's default method).

    One sort per call serves every level: much cheaper than np.nanquantile.
    """
    s = np.sort(values, axis=1)  # NaN sorts last
    n = np.count_nonzero(~np.isnan(values), axis=1)
    pos = levels[None, :] * (np.maximum(n, 1) - 1)[:, None]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)[:, None])
    frac = pos - lo
    lo_v = np.take_along_axis(s, lo, axis=1)
    hi_v = np.take_along_axis(s, hi, axis=1)
    q = lo_v + frac * (hi_v - lo_v)
    q[n == 0] = np.nan
    return q


def _forward_fill_steps(q: np.ndarray) -> None:
    """In place: a step whose quantiles are NaN takes the previous step's."""
    for h in range(1, q.shape[1]):
        missing = np.isnan(q[:, h, 0])
        if missing.any():
            q[missing, h, :] = q[missing, h - 1, :]
