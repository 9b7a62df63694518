"""Empirical uncertainty for point-forecast models, from each series' own past errors.

A model fitted to an item's history is replayed at every past origin t: the
error at step h is ``y[t+h] - f_t(h)``. Quantile bands at step h are the point
forecast plus the empirical quantiles of the item's last :data:`ERROR_ORIGINS`
step-h errors; sample paths are the point forecast plus whole past error
trajectories (so day-to-day correlation of errors is kept). Everything works on
the right-aligned [items, T] history matrix at once; the only Python loop runs
over horizon steps.

:class:`EmpiricalModel` is the base of every statistical model: a subclass
fits its parameters per item (:meth:`EmpiricalModel.fit`) and says what it
forecasts at each origin; bands and paths come from here.
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, bucket, in_bucket
from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import BaseForecastModel, Prediction, ProgressCallback

#: how many recent forecast origins supply errors on daily data (one year of origins); other buckets:
#: :attr:`forecasting.core.calendar.Frequency.error_origins` (see :func:`error_origins`)
ERROR_ORIGINS = DAILY.error_origins
#: an item needs at least this many complete past trajectories for empirical paths
MIN_TRAJECTORIES = 30
#: the buckets whose bands take the errors' quantiles at the Weibull positions (``row_quantiles(covering=True)``):
#: weeks and months, with 104 and 36 error origins; days keep numpy's default (with 364 origins the two differ
#: by a fraction of a percent of coverage)
COVERING_BUCKETS = ("W", "M")

#: ``forecasts(h)`` -> F [items, T] with F[:, t] = the forecast for day t + h made at origin t (NaN where none)
Forecasts = Callable[[int], np.ndarray]


def season() -> int:
    """The season length of the history being fitted: 7 days, 52 weeks or 12 months."""
    return bucket().season


def error_origins() -> int:
    """How many recent origins supply the errors in the current bucket (ERROR_ORIGINS for days)."""
    return bucket().error_origins


@dataclass
class Fit:
    """A model fitted to a history, seen over the history's last days (all the errors need).

    ``y`` [items, width] holds the last ``width`` days; ``forecasts(h)`` [items,
    width] the forecast for day j + h the model made on each of those days j (NaN
    where it had too little history). Its last column is the point forecast of
    step h. ``period``: the forecast repeats every ``period`` steps (1: the same
    for every step, as SES; 7: it depends only on the weekday, as weekly SES);
    None: no such pattern (a trend).
    """

    y: np.ndarray
    forecasts: Forecasts
    period: int | None = None
    #: ``at(h, columns)`` = forecasts(h)[:, columns], for fits that can give a few columns cheaply
    at: Callable[[int, np.ndarray], np.ndarray] | None = None
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def point(self, horizon: int) -> np.ndarray:
        """Forecasts [items, horizon] from the last day of the history."""
        forecasts = self.step_forecasts()
        return np.column_stack([forecasts(h)[:, -1] for h in range(1, horizon + 1)])

    def step_forecasts(self) -> Forecasts:
        """``forecasts``, each distinct step computed once per fit (steps a period apart share their array)."""
        if self.period is None:
            return self.forecasts

        def forecasts(h: int) -> np.ndarray:
            key = (h - 1) % self.period  # type: ignore[operator]
            if key not in self._cache:
                self._cache[key] = self.forecasts(key + 1)
            return self._cache[key]

        return forecasts

    def columns(self, h: int, columns: np.ndarray) -> np.ndarray:
        """The step-h forecasts made on some days only: [items, len(columns)]."""
        if self.at is not None and (self.period is None or (h - 1) % self.period not in self._cache):
            return self.at(h, columns)
        return self.step_forecasts()(h)[:, columns]


def tail(values: np.ndarray, horizon: int) -> np.ndarray:
    """The last days of a [items, T] history that the errors of a ``horizon``-day forecast use."""
    return values[:, -error_window(horizon):]


def flat(levels: np.ndarray, y: np.ndarray, horizon: int) -> Fit:
    """A fit whose forecast on day t is ``levels[:, t]`` for every step (SES, Croston, TSB...); full-width inputs."""
    kept = np.ascontiguousarray(tail(levels, horizon))
    return Fit(tail(y, horizon), lambda h: kept, period=1)


def by_step(y: np.ndarray, horizon: int, forecasts: Forecasts, period: int | None = None) -> Fit:
    """A fit from full-width forecasts ``forecasts(h)`` [items, T], kept over the days the errors use."""
    return Fit(tail(y, horizon), lambda h: tail(forecasts(h), horizon), period)


def error_window(horizon: int) -> int:
    """How many trailing buckets the last :func:`error_origins` origins (and their targets) can touch."""
    return error_origins() + horizon


def error_quantiles(fit: Fit, horizon: int, levels: np.ndarray) -> np.ndarray:
    """Empirical quantiles of step-h errors: [items, horizon, levels] (Weibull positions in COVERING_BUCKETS).

    Steps without any past error reuse the previous step's quantiles; an item
    without any past error at all gets zero-width bands.
    """
    forecasts = fit.step_forecasts()
    covering = bucket().code in COVERING_BUCKETS
    out = np.full((fit.y.shape[0], horizon, len(levels)), np.nan)
    for h in range(1, horizon + 1):
        errors = step_errors(fit.y, forecasts(h), h)
        if errors.shape[1] == 0:
            continue
        out[:, h - 1, :] = row_quantiles(errors, levels, covering=covering)
    _forward_fill_steps(out)
    return np.nan_to_num(out, nan=0.0)


def step_errors(y: np.ndarray, forecasts: np.ndarray, h: int) -> np.ndarray:
    """Errors y[t+h] - f_t(h) for the last ERROR_ORIGINS origins with an observed target."""
    last_origin = y.shape[1] - 1 - h
    if last_origin < 0:
        return np.empty((y.shape[0], 0))
    first_origin = max(0, last_origin - error_origins() + 1)
    f = forecasts[:, first_origin : last_origin + 1]
    return y[:, first_origin + h : last_origin + h + 1] - f


def error_trajectories(fit: Fit, horizon: int) -> np.ndarray:
    """Whole past error paths: [items, origins, horizon], NaN where incomplete."""
    y = fit.y
    forecasts = fit.step_forecasts()
    last_origin = y.shape[1] - 1 - horizon
    if last_origin < 0:
        return np.full((y.shape[0], 0, horizon), np.nan)
    first_origin = max(0, last_origin - error_origins() + 1)
    k = last_origin - first_origin + 1
    out = np.empty((y.shape[0], k, horizon))
    for h in range(1, horizon + 1):
        f = forecasts(h)[:, first_origin : last_origin + 1]
        out[:, :, h - 1] = y[:, first_origin + h : last_origin + h + 1] - f
    return out


def row_quantiles(values: np.ndarray, levels: np.ndarray, covering: bool = False) -> np.ndarray:
    """Linear-interpolated quantiles along the last axis, ignoring NaN (numpy's default method).

    ``covering``: the Weibull plotting position k / (n + 1) instead (numpy's
    ``method="weibull"``): the interval between its q and 1 - q quantiles of n
    past errors holds a new exchangeable error with probability 1 - 2q on
    average, where the default's holds (1 - 2q)(n - 1) / (n + 1) (36 monthly
    errors: 76% for an 80% band).
    One sort per call serves every level: much cheaper than np.nanquantile.
    Returns [..., levels]; NaN where a row has no value.
    """
    s = np.sort(values, axis=-1)  # NaN sorts last
    n = np.count_nonzero(~np.isnan(values), axis=-1)
    if covering:
        pos = np.clip(np.asarray(levels)[..., :] * (n + 1)[..., None] - 1.0, 0.0, (np.maximum(n, 1) - 1)[..., None])
    else:
        pos = np.asarray(levels)[..., :] * (np.maximum(n, 1) - 1)[..., None]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)[..., None])
    frac = pos - lo
    lo_v = np.take_along_axis(s, lo, axis=-1)
    hi_v = np.take_along_axis(s, hi, axis=-1)
    q = lo_v + frac * (hi_v - lo_v)
    q[n == 0] = np.nan
    return q



def _forward_fill_steps(q: np.ndarray) -> None:
    """In place: a step whose quantiles are NaN takes the previous step's."""
    for h in range(1, q.shape[1]):
        missing = np.isnan(q[:, h, 0])
        if missing.any():
            q[missing, h, :] = q[missing, h - 1, :]


class EmpiricalModel(BaseForecastModel):
    """A point-forecast model fitted per item, with the empirical bands and paths of this module."""

    @abstractmethod
    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        """Fit every item of the right-aligned history ``y`` [items, T] (NaN before each item's first day).

        ``horizon``: the longest step the fit will be asked for (it keeps the days its errors need).
        """

    def _predict(
        self,
        history: PreparedHistory,
        horizon: int,
        levels: tuple[float, ...],
        future_covariates: pd.DataFrame | None,
        progress: ProgressCallback | None,
    ) -> Prediction:
        with in_bucket(history.freq):
            fit = self.fit(history.tail_matrix(), horizon)
            prediction = predict_from_fit(fit, horizon, levels)
        if progress:
            progress(history.n_items, history.n_items)
        return prediction

    def _sample_paths(
        self,
        history: PreparedHistory,
        horizon: int,
        n_paths: int,
        seed: int,
        progress: ProgressCallback | None,
    ) -> np.ndarray:
        with in_bucket(history.freq):
            fit = self.fit(history.tail_matrix(), horizon)
            values = paths_from_fit(fit, horizon)
        few = too_few_trajectories(values)
        if few.any():  # independent draws per bucket from the bands instead, as many as a long history has paths
            fallback = super()._sample_paths(history, horizon, history.freq.error_origins, seed, None)
            if values.shape[1] < fallback.shape[1]:
                pad = fallback.shape[1] - values.shape[1]
                values = np.concatenate([values, np.full((len(values), pad, horizon), np.nan)], axis=1)
            values[few] = fallback[few]
        if progress:
            progress(history.n_items, history.n_items)
        return values


def predict_from_fit(fit: Fit, horizon: int, levels: tuple[float, ...]) -> Prediction:
    """The point forecast and its empirical bands."""
    point = fit.point(horizon)
    if levels:
        quantiles = point[:, :, None] + error_quantiles(fit, horizon, np.asarray(levels))
    else:
        quantiles = np.empty((fit.y.shape[0], horizon, 0))
    return Prediction(point, quantiles)


def paths_from_fit(fit: Fit, horizon: int) -> np.ndarray:
    """Point forecast plus each past origin's whole error trajectory: [items, origins, horizon], >= 0."""
    point = np.maximum(fit.point(horizon), 0.0)
    return np.maximum(point[:, None, :] + error_trajectories(fit, horizon), 0.0)


def too_few_trajectories(values: np.ndarray) -> np.ndarray:
    """Items (rows of paths [items, paths, horizon]) with fewer than MIN_TRAJECTORIES complete paths."""
    complete = np.count_nonzero(~np.isnan(values[:, :, 0]), axis=1) if values.shape[1] else np.zeros(len(values))
    return complete < MIN_TRAJECTORIES
