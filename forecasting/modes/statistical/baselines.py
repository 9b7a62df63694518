"""Baseline models: 7-day moving average and seasonal naive (last week repeated).

Both are vectorised over items on the right-aligned [items, T] history matrix;
their bands and sample paths come from each series' own past errors
(:mod:`forecasting.modes.statistical.empirical`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import BaseForecastModel, Prediction, ProgressCallback
from forecasting.modes.statistical.empirical import (
    MIN_TRAJECTORIES,
    InSampleRule,
    error_quantiles,
    error_window,
    error_trajectories,
)

WEEK = 7


def _moving_average_rule(y: np.ndarray, h: int) -> np.ndarray:
    """F[:, t] = mean of y[t-6..t] (the same for every step h); NaN where the window is incomplete."""
    c = np.cumsum(np.where(np.isnan(y), 0.0, y), axis=1)
    out = np.full_like(y, np.nan)
    out[:, WEEK - 1] = c[:, WEEK - 1]
    out[:, WEEK:] = c[:, WEEK:] - c[:, :-WEEK]
    out /= WEEK
    # padding is only on the left, so a window is complete exactly when its first day is observed
    out[:, WEEK - 1 :][np.isnan(y[:, : y.shape[1] - WEEK + 1])] = np.nan
    return out


_moving_average_rule.same_for_every_step = True  # type: ignore[attr-defined]


def _seasonal_naive_rule(y: np.ndarray, h: int) -> np.ndarray:
    """F[:, t] = y[t + h - 7k] with k = ceil(h / 7): the same weekday of the last observed week."""
    lag = WEEK * -(-h // WEEK) - h  # how many days before the origin the source day lies
    out = np.full_like(y, np.nan)
    out[:, lag:] = y[:, : y.shape[1] - lag]
    # an origin t needs its whole last week observed, i.e. y[t-6] (padding is only on the left)
    out[:, : WEEK - 1] = np.nan
    out[:, WEEK - 1 :][np.isnan(y[:, : y.shape[1] - WEEK + 1])] = np.nan
    return out


class _EmpiricalBaseline(BaseForecastModel):
    """A rule plus empirical bands; subclasses give the rule and the final point forecast."""

    rule: InSampleRule

    def _point(self, y: np.ndarray, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def _predict(
        self,
        history: PreparedHistory,
        horizon: int,
        levels: tuple[float, ...],
        future_covariates: pd.DataFrame | None,
        progress: ProgressCallback | None,
    ) -> Prediction:
        point = self._point(history.tail_matrix(WEEK), horizon)
        if levels:
            y = history.tail_matrix(error_window(horizon))
            errs = error_quantiles(y, type(self).rule, horizon, np.asarray(levels))
            quantiles = point[:, :, None] + errs
        else:
            quantiles = np.empty((history.n_items, horizon, 0))
        if progress:
            progress(history.n_items, history.n_items)
        return Prediction(point, quantiles)

    def _sample_paths(
        self,
        history: PreparedHistory,
        horizon: int,
        n_paths: int,
        seed: int,
        progress: ProgressCallback | None,
    ) -> np.ndarray:
        """Point forecast plus each past origin's whole error trajectory (one path per origin).

        Items with fewer than MIN_TRAJECTORIES complete past trajectories fall
        back to independent daily draws from their empirical bands.
        """
        y = history.tail_matrix(error_window(horizon))
        point = np.maximum(self._point(y[:, -WEEK:], horizon), 0.0)
        traj = error_trajectories(y, type(self).rule, horizon)
        values = np.maximum(point[:, None, :] + traj, 0.0)
        complete = np.count_nonzero(~np.isnan(traj[:, :, 0]), axis=1)
        few = complete < MIN_TRAJECTORIES
        if few.any():
            fallback = super()._sample_paths(history, horizon, max(values.shape[1], MIN_TRAJECTORIES), seed, None)
            if values.shape[1] < fallback.shape[1]:
                pad = fallback.shape[1] - values.shape[1]
                values = np.concatenate([values, np.full((len(y), pad, horizon), np.nan)], axis=1)
            values[few] = fallback[few]
        if progress:
            progress(history.n_items, history.n_items)
        return values


class MovingAverage7(_EmpiricalBaseline):
    name = "ma7"
    label = "MA7"
    version = "1"
    description = "7-day moving average of the last 7 days, flat over the horizon; empirical bands"
    rule = staticmethod(_moving_average_rule)

    def _point(self, y: np.ndarray, horizon: int) -> np.ndarray:
        level = y[:, -WEEK:].mean(axis=1)
        return np.repeat(level[:, None], horizon, axis=1)


class SeasonalNaive(_EmpiricalBaseline):
    name = "seasonal-naive"
    label = "Seasonal naive"
    version = "1"
    description = "last observed week repeated; empirical bands"
    rule = staticmethod(_seasonal_naive_rule)

    def _point(self, y: np.ndarray, horizon: int) -> np.ndarray:
        week = y[:, -WEEK:]
        return week[:, np.arange(horizon) % WEEK]
