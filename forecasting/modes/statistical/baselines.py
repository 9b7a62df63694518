"""Baseline models: 7-day moving average and seasonal naive (last week repeated).

Both are rules of the last week, vectorised over items on the right-aligned
[items, T] history matrix; their bands and sample paths come from each series'
own past errors (:mod:`forecasting.modes.statistical.empirical`).
"""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.empirical import EmpiricalModel, Fit, by_step, flat

WEEK = 7


def moving_average(y: np.ndarray, window: int = WEEK) -> np.ndarray:
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


def _seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    """F[:, t] = y[t + h - 7k] with k = ceil(h / 7): the same weekday of the last observed week."""
    lag = WEEK * -(-h // WEEK) - h  # how many days before the origin the source day lies
    out = np.full_like(y, np.nan)
    out[:, lag:] = y[:, : y.shape[1] - lag]
    # an origin t needs its whole last week observed, i.e. y[t-6] (padding is only on the left)
    out[:, : WEEK - 1] = np.nan
    out[:, WEEK - 1 :][np.isnan(y[:, : y.shape[1] - WEEK + 1])] = np.nan
    return out


class MovingAverage7(EmpiricalModel):
    name = "ma7"
    label = "MA7"
    version = "1"
    description = "7-day moving average of the last 7 days, flat over the horizon; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return flat(moving_average(y), y, horizon)


class SeasonalNaive(EmpiricalModel):
    name = "seasonal-naive"
    label = "Seasonal naive"
    version = "1"
    description = "last observed week repeated; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return by_step(y, horizon, lambda h: _seasonal_naive(y, h), period=WEEK)
