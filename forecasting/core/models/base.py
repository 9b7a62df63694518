"""The one interface every forecasting model implements.

A model forecasts many items at once from a long frame (``item_id, date,
quantity`` plus optional covariate columns) and returns the forecast frame of
docs/data-formats.md. The public methods here do the validation and the
post-processing that the contract promises (dates from the bucket after each
item's last history bucket, quantiles sorted in the level, nothing below zero,
the model available here), so a model only computes numbers: in
:meth:`BaseForecastModel._predict` and, where it knows better than
independent days, :meth:`BaseForecastModel._sample_paths`.
"""
from __future__ import annotations

import contextvars
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, Frequency, in_bucket
from forecasting.core.cells import open_unit_interval
from forecasting.core.errors import ForecastingError, ModelUnavailableError, NonFiniteResultError, listed
from forecasting.core.history import MIN_HISTORY_DAYS, PreparedHistory, prepare_history

#: the longest daily horizon; every bucket's bounds: :mod:`forecasting.core.calendar`
MAX_HORIZON = DAILY.max_horizon
#: the levels a forecast has when the caller names none: a 10-90% band and the median
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
#: Levels used to describe a model's whole predictive distribution (Chronos-2's native grid).
DISTRIBUTION_LEVELS = (0.01, 0.05, *[round(0.1 + 0.05 * i, 2) for i in range(17)], 0.95, 0.99)
#: raised when the same model and data give other sample paths (2: one random stream per item), so that
#: runs cached before the change are not served for it (part of every run's cache key)
SAMPLE_PATHS_VERSION = 2

#: ``progress(done, total)`` is called as work advances (batches, items...).
ProgressCallback = Callable[[int, int], None]

_training = threading.local()
_clock_lock = threading.Lock()
T = TypeVar("T")


@contextmanager
def training_clock() -> Iterator[list[float]]:
    """Sum the seconds models spend training in this thread while the block runs (``[seconds]``; a run record's
    ``training_s``). Models that train (the global model) report with :func:`record_training`."""
    outer = getattr(_training, "clock", None)
    clock = [0.0]
    _training.clock = clock
    try:
        yield clock
    finally:
        _training.clock = outer
        if outer is not None:
            outer[0] += clock[0]


def record_training(seconds: float) -> None:
    """Count ``seconds`` of training on the current thread's :func:`training_clock` (if any)."""
    clock = getattr(_training, "clock", None)
    if clock is not None:
        with _clock_lock:  # threads started by :func:`submit` add to their caller's clock
            clock[0] += seconds


def submit(executor: Executor, fn: Callable[..., T], *args: object) -> Future[T]:
    """``executor.submit(fn, *args)`` with the caller's context (the data's bucket) and training clock.

    For work that runs beside the caller's (the global model's trainings, which
    release the GIL, beside the statistical pool's numpy work in auto).
    """
    context = contextvars.copy_context()
    clock = getattr(_training, "clock", None)

    def run() -> T:
        _training.clock = clock
        try:
            return context.run(fn, *args)
        finally:
            _training.clock = None

    return executor.submit(run)


@dataclass(frozen=True)
class Availability:
    """Whether a model can run on this machine, and if not, why and what to do."""

    available: bool
    reason: str = ""


@dataclass
class Prediction:
    """What :meth:`BaseForecastModel._predict` returns: raw numbers, one row per item.

    ``point`` is [items, horizon]; ``quantiles`` is [items, horizon, levels]
    in the order of the requested levels.
    """

    point: np.ndarray
    quantiles: np.ndarray
    #: extra per-item columns of the forecast frame (e.g. auto's ``chosen_model``), one value per item
    item_columns: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class SamplePaths:
    """Joint scenarios of future demand per bucket, for quantities summed over several buckets.

    ``values`` is [items, paths, horizon]; NaN marks a path an item does not
    have (items may have different numbers of paths). ``first_date`` is each
    item's first forecast date; ``freq`` the bucket of each step.
    """

    item_ids: np.ndarray
    first_date: np.ndarray
    values: np.ndarray
    freq: Frequency = DAILY


def quantile_column(level: float) -> str:
    """Column name of a quantile level in the forecast CSV: ``q`` + the level, e.g. ``q0.1``."""
    return f"q{level:g}"


def validate_horizon(horizon: int, limit: int = MAX_HORIZON, freq: Frequency = DAILY) -> int:
    """A whole number of buckets of ``freq`` within its bounds (and within ``limit``, a model's own cap)."""
    unit = freq.units
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
        raise ForecastingError(f"horizon must be a whole number of {unit}, got {horizon!r}")
    low, high = freq.horizon_bounds
    high = min(high, limit)
    if not low <= horizon <= high:
        raise ForecastingError(f"horizon must be between {low} and {high} {unit}, got {horizon}")
    return int(horizon)


def validate_quantiles(levels: Sequence[float]) -> tuple[float, ...]:
    """Levels strictly inside (0, 1), no repeats; returned sorted ascending."""
    out = [open_unit_interval(level, "quantile level") for level in levels]
    names = [quantile_column(v) for v in out]
    if len(set(names)) != len(names):
        raise ForecastingError(f"quantile levels repeat (as output columns {', '.join(names)}): {list(levels)}")
    return tuple(sorted(out))


class BaseForecastModel(ABC):
    """Forecasts many items at once; subclasses implement :meth:`_predict`."""

    #: name used on the command line, in the factory and in output files
    name: ClassVar[str]
    #: how the app and reports show the model ("MA7", "Chronos-2")
    label: ClassVar[str]
    #: changes whenever the model's numbers would change (part of the cache key)
    version: ClassVar[str]
    #: one line for the ``models`` command and the app
    description: ClassVar[str]
    min_history_days: ClassVar[int] = MIN_HISTORY_DAYS
    #: longest horizon the model can produce (callers may cap lower)
    max_horizon: ClassVar[int] = MAX_HORIZON
    #: whether ``future_covariates`` (known-future values: promotions, prices) change its forecast
    uses_known_future: ClassVar[bool] = False
    #: whether past-only covariates (a sales file's extra columns the calendar lacks) change its forecast
    uses_past_covariates: ClassVar[bool] = False
    #: whether the item attributes (its category: forecasting.core.covariates.CATEGORY) change its forecast
    uses_item_attributes: ClassVar[bool] = False

    def availability(self) -> Availability:
        """Whether the model can run here; cheap (well under a second)."""
        return Availability(True)

    def forecast(
        self,
        history: pd.DataFrame | PreparedHistory,
        horizon: int,
        quantiles: Sequence[float] = (),
        future_covariates: pd.DataFrame | None = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """The forecast frame: ``item_id, date, model, forecast, q<level>...``; ``horizon`` in the data's buckets."""
        levels = validate_quantiles(quantiles)
        self._require_available()
        prepared = self.prepare(history)
        horizon = validate_horizon(horizon, self.max_horizon, prepared.freq)
        with in_bucket(prepared.freq):
            pred = self._predict(prepared, horizon, levels, future_covariates, progress)
        point, qs = _clean(pred.point, pred.quantiles)
        self._require_finite(prepared, np.isfinite(point).all(axis=-1) & np.isfinite(qs).all(axis=(-2, -1)))
        frame = forecast_frame(self.name, prepared, horizon, levels, point, qs)
        for column, values in pred.item_columns.items():
            frame[column] = np.repeat(np.asarray(values, dtype=object), horizon)
        return frame

    def sample_paths(
        self,
        history: pd.DataFrame | PreparedHistory,
        horizon: int,
        n_paths: int = 1000,
        seed: int = 0,
        progress: ProgressCallback | None = None,
    ) -> SamplePaths:
        """Joint demand scenarios over the horizon (buckets): ``values`` [items, paths, horizon], never negative."""
        self._require_available()
        prepared = self.prepare(history)
        horizon = validate_horizon(horizon, self.max_horizon, prepared.freq)
        with in_bucket(prepared.freq):
            values = self._sample_paths(prepared, horizon, n_paths, seed, progress)
        # NaN marks a path an item lacks; an item with no finite value at all, or an infinite one, overflowed
        finite = ~np.isinf(values).any(axis=(1, 2)) & np.isfinite(values).any(axis=(1, 2))
        self._require_finite(prepared, finite)
        return SamplePaths(prepared.item_ids, prepared.dates(prepared.last_day + 1), np.maximum(values, 0.0),
                           prepared.freq)

    def prepare(self, history: pd.DataFrame | PreparedHistory) -> PreparedHistory:
        """Validated, gap-filled history (pass a PreparedHistory to skip the work)."""
        if isinstance(history, PreparedHistory):
            return history
        return prepare_history(history, self.min_history_days)

    def _require_finite(self, history: PreparedHistory, finite: np.ndarray) -> None:
        """Refuse results that left the float range (sales too large to compute with), naming the items."""
        if not finite.all():
            bad = history.item_ids[~finite]
            raise NonFiniteResultError(
                f"model {self.name} gave non-finite numbers for item(s) {listed(bad)}: their sales are probably "
                f"too large to compute with; correct them and import the sales again", bad)

    def _require_available(self) -> None:
        status = self.availability()
        if not status.available:
            raise ModelUnavailableError(f"model {self.name} cannot run here: {status.reason}")

    @abstractmethod
    def _predict(
        self,
        history: PreparedHistory,
        horizon: int,
        levels: tuple[float, ...],
        future_covariates: pd.DataFrame | None,
        progress: ProgressCallback | None,
    ) -> Prediction:
        """Point forecast and quantiles for every item of ``history``."""

    def _sample_paths(
        self,
        history: PreparedHistory,
        horizon: int,
        n_paths: int,
        seed: int,
        progress: ProgressCallback | None,
    ) -> np.ndarray:
        """Paths [items, paths, horizon] (NaN where an item has fewer paths).

        Default: the model's forecast at :data:`DISTRIBUTION_LEVELS`, sampled
        independently day by day (inverse CDF, linear between levels, flat
        beyond 0.01/0.99). Days are assumed independent given the forecast;
        models that know better (the statistical ones) override this.
        """
        pred = self._predict(history, horizon, DISTRIBUTION_LEVELS, None, progress)
        return draw_paths(history.item_ids, pred.quantiles, DISTRIBUTION_LEVELS, n_paths, seed)


def draw_paths(item_ids: np.ndarray, quantiles: np.ndarray, levels: Sequence[float], n_paths: int,
               seed: int) -> np.ndarray:
    """Paths [items, n_paths, horizon] drawn independently day by day from quantiles [items, horizon, levels]."""
    _, qs = _clean(quantiles[..., 0], quantiles)
    u = item_uniforms(item_ids, seed, (n_paths, quantiles.shape[1]))
    return _interp_quantiles(qs, np.asarray(levels), u)


def item_uniforms(item_ids: np.ndarray, seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform draws [items, *shape], each item from its own stream (seeded by ``seed`` and its id).

    An item's draws do not depend on the other items forecast with it, so a
    catalogue forecast in chunks gives the same paths as one forecast of all items.
    """
    keys = pd.util.hash_array(np.asarray(item_ids, dtype=object).astype(str).astype(object)).astype(np.uint64)
    out = np.empty((len(keys), *shape))
    for i, key in enumerate(keys.tolist()):
        out[i] = np.random.default_rng([int(seed), key]).uniform(size=shape)
    return out


def _clean(point: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demand is never negative and quantiles never cross."""
    point = np.maximum(point, 0.0)
    quantiles = np.sort(np.maximum(quantiles, 0.0), axis=-1)
    return point, quantiles


def _interp_quantiles(qs: np.ndarray, levels: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Evaluate each (item, day) quantile function (qs: [items, H, L]) at u: [items, n, H]."""
    idx = np.clip(np.searchsorted(levels, u, side="right") - 1, 0, len(levels) - 2)
    lo_level, hi_level = levels[idx], levels[idx + 1]
    w = np.clip((u - lo_level) / (hi_level - lo_level), 0.0, 1.0)
    q_t = np.transpose(qs, (0, 2, 1))  # [items, L, H]
    items = np.arange(qs.shape[0])[:, None, None]
    days = np.arange(qs.shape[1])[None, None, :]
    lo = q_t[items, idx, days]
    hi = q_t[items, idx + 1, days]
    return lo + w * (hi - lo)


def forecast_frame(
    model: str,
    prepared: PreparedHistory,
    horizon: int,
    levels: Sequence[float],
    point: np.ndarray,
    quantiles: np.ndarray,
) -> pd.DataFrame:
    """Assemble the forecast frame (docs/data-formats.md) from per-item arrays.

    Dates are the buckets after each item's last one (the as-of bucket), in
    the history's bucket: a weekly file on Fridays gets Fridays.
    """
    n = prepared.n_items
    periods = (prepared.last_day[:, None] + np.arange(1, horizon + 1)[None, :]).ravel()
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(prepared.item_ids, horizon),
            "date": prepared.dates(periods),
            "model": model,
            "forecast": point.reshape(n * horizon),
        }
    )
    for j, level in enumerate(levels):
        frame[quantile_column(level)] = quantiles[:, :, j].reshape(n * horizon)
    return frame
