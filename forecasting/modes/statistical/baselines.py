"""Baseline models: moving average of the last 7 buckets and seasonal naive (last season repeated).

The season is the bucket's (:mod:`forecasting.core.calendar`): 7 days, 52
weeks or 12 months. Both are rules of the last buckets, vectorised over items on the right-aligned
[items, T] history matrix; their bands and sample paths come from each series'
own past errors (:mod:`forecasting.modes.statistical.empirical`).
"""
from __future__ import annotations

import numpy as np

from forecasting.core.history import MIN_HISTORY_DAYS
from forecasting.modes.statistical.empirical import EmpiricalModel, Fit, by_step, flat, season

#: the moving average's window, in buckets (``ma7``: the last 7 days, weeks or months)
MA_WINDOW = 7


def moving_average(y: np.ndarray, window: int = MA_WINDOW) -> np.ndarray:
    """F[:, t] = mean of y[t-window+1 .. t]; NaN where the window is incomplete."""
    c = np.cumsum(np.where(np.isnan(y), 0.0, y), axis=1)
    out = np.full_like(y, np.nan)
    out[:, window - 1] = c[:, window - 1]
    out[:, window:] = c[:, window:] - c[:, :-window]
    out /= window
    # padding is only on the left, so a window is complete exactly when its first day is observed
    out[:, window - 1 :][np.isnan(y[:, : y.shape[1] - window + 1])] = np.nan
    out[:, : window - 1] = np.nan
    return out


def _seasonal_naive(y: np.ndarray, h: int, period: int) -> np.ndarray:
    """F[:, t] = y[t + h - m k] with k = ceil(h / m), m the season: the same point of the last observed season.

    An origin needs its whole last season observed. Where a season is longer
    than the minimum history (52 weeks, 12 months), an origin with at least
    MIN_HISTORY_DAYS buckets but less than a season forecasts its last value
    (naive), as a forecast must exist for every item that may be forecast.
    """
    lag = period * -(-h // period) - h  # how many buckets before the origin the source bucket lies
    out = np.full_like(y, np.nan)
    if y.shape[1] >= period:  # else no origin has a whole season
        out[:, lag:] = y[:, : y.shape[1] - lag]
        # an origin t needs its whole last season observed, i.e. y[t-m+1] (padding is only on the left)
        out[:, : period - 1] = np.nan
        out[:, period - 1 :][np.isnan(y[:, : y.shape[1] - period + 1])] = np.nan
    if period > MIN_HISTORY_DAYS:
        seen = np.cumsum(~np.isnan(y), axis=1)
        short = (seen >= MIN_HISTORY_DAYS) & (seen < period)
        out[short] = y[short]
    return out


class MovingAverage7(EmpiricalModel):
    name = "ma7"
    label = "MA7"
    version = "2"
    description = "moving average of the last 7 buckets (days, weeks or months), flat over the horizon; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return flat(moving_average(y), y, horizon)


class SeasonalNaive(EmpiricalModel):
    name = "seasonal-naive"
    label = "Seasonal naive"
    version = "2"
    description = "last observed season repeated (7 days, 52 weeks, 12 months); empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        m = season()
        return by_step(y, horizon, lambda h: _seasonal_naive(y, h, m), period=m)
