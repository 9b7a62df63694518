"""``lgbm``: one LightGBM model trained across all the items of a request (a global model, through mlforecast).

Features (:mod:`forecasting.modes.ml.features`): target lags, rolling means of
lagged targets, date attributes, each item's demand class (a static feature,
from :func:`forecasting.modes.statistical.classification.classify` on the
training days), the history's numeric columns that never change within an
item (an item attribute such as a category code: static), and the known-future
covariates given for the forecast (a promotion flag, a planned price: their
past values come from the history's column of the same name). Numeric columns
of the history that are not known for the future are not features: the model
forecasts recursively, and a past-only covariate has no value on forecast days.

Training once per request, bands from held-out errors (split conformal): the
model is trained on every item's history except its last ``horizon`` days,
forecasts those days (recursively, as it will forecast the future), and each
item's errors ``actual - forecast`` on them are its calibration errors. The
forecast starts from the as-of date: the same model, with every feature computed
from the whole history. A quantile level q of the band is the point forecast
plus a quantile of the calibration errors (pooled over the steps; the item's own
and all items' scaled by their mean absolute error, the wider of both: see
:func:`band_shifts`). Why not
quantile models per level: forecast recursively, a 0.9 model feeds its own high
values back as lags and its band drifts upward with the horizon; the point
model's errors have no such feedback. Sample paths: independent daily draws
from those bands (the base class's default, as Chronos-2).

The point forecast is the median (LightGBM's ``quantile`` objective at 0.5); see
docs/models.md for the validation against the Tweedie mean on the pasta data.

A fit is kept in an in-process LRU keyed by the history's fingerprint, the
horizon, the known-future frame and the features, so that the bands, the sample
paths and the forecast of one request train once.

``auto``'s check of the model (:meth:`LightGBMGlobal.validate`): one training
up to the earliest validation origin minus the horizon forecasts from every
origin (features from the days up to each), each origin's bands from the
errors of the forecast before it; no day after an origin is seen. One training
instead of one per origin, as :meth:`fit` at each origin would be.

Speed (benchmarks/results/global.md, 10,000 items x 730 days): the time is
LightGBM's. Profiled with 300 trees, a 35 s fit spent 18 s training, 12 s in
the 56 recursive prediction steps (10,000 rows each) and 4 s building frames,
mlforecast's features and the demand classes; both LightGBM parts scale with
the trees (hence 150 at a higher rate, :data:`PARAMETERS`), the training also
with the rows (hence :data:`MAX_TRAINING_ROWS`).
LightGBM runs single-threaded (:func:`_threads`); auto gets its parallelism
from independent trainings in threads (LightGBM releases the GIL).
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import Availability, BaseForecastModel, Prediction, ProgressCallback, record_training
from forecasting.modes.ml.features import ID, TARGET, TIME, features_version, mlforecast_arguments, spec_for
from forecasting.core.covariates import future_values
from forecasting.modes.statistical.classification import classify
from forecasting.modes.statistical.empirical import row_quantiles

# mlforecast's notes on what is expected here, filtered for its module only (not with catch_warnings, which
# is not thread-safe: auto trains in threads): an item too short for the features by a training cutoff is
# forecast but not learnt from, and NaN is a feature an item's short history or the known-future frame lacks
warnings.filterwarnings("ignore", message="The following series were dropped", category=UserWarning,
                        module="mlforecast")
warnings.filterwarnings("ignore", message="Found null values", category=UserWarning, module="mlforecast")

#: the demand classes as the integer codes the model sees (a fixed vocabulary: codes mean the same in every fit)
CLASS_CODES = {"smooth": 0, "erratic": 1, "intermittent": 2, "lumpy": 3, "no recent demand": 4, "no demand": 5}
CLASS_FEATURE = "demand_class"
#: LightGBM settings (fixed seed and row-wise histograms: the same data gives the same model). 150 trees at
#: learning rate 0.1 rather than 300 at 0.05: half the training and recursive-prediction time, and on pasta
#: (4 x 28 days, sales only) WAPE 74.88 / WQL 0.560 against 75.15 / 0.563 (100 at 0.15: 75.30 / 0.564; 200 at
#: 0.075: 75.01 / 0.563)
PARAMETERS = {
    "n_estimators": 150,
    "learning_rate": 0.1,
    "num_leaves": 63,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "random_state": 0,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
OBJECTIVES = {"median": {"objective": "quantile", "alpha": 0.5}, "tweedie": {"objective": "tweedie",
                                                                             "tweedie_variance_power": 1.2}}
#: training rows at most: beyond, every item's most recent MAX_TRAINING_ROWS / items buckets (at least
#: MIN_TRAINING_DAYS) are learnt from. Training time grows with the rows (1,000,000 rows: ~40 s on one
#: core); 10,000 items x 730 days learn from their last 56 days (560,000 rows, ~20 s), pasta's 212,000
#: rows are all kept (so its accuracy does not depend on this cap).
MAX_TRAINING_ROWS = 500_000
MIN_TRAINING_DAYS = 56
#: fits kept in the process (each holds the forecasts and errors of one request's items)
CACHE_SIZE = 8


@dataclass
class GlobalFit:
    """One training's results for a history and horizon: point forecasts and calibration errors per item."""

    point: np.ndarray  # [items, horizon] from the as-of date
    errors: np.ndarray  # [items, horizon] actual - forecast on the held-out last days; NaN where none
    #: the last bucket number the model was trained on (the as-of bucket minus the horizon)
    trained_to: int
    features: tuple[str, ...]
    seconds: float

    def prediction(self, levels: tuple[float, ...]) -> Prediction:
        """The point forecast and its conformal bands at ``levels``."""
        return Prediction(self.point, self.point[:, :, None] + band_shifts(self.errors, self.point, levels)[:, None, :])


class LightGBMGlobal(BaseForecastModel):
    name = "lgbm"
    label = "LightGBM (global)"
    uses_known_future = True
    uses_item_attributes = True
    description = ("one LightGBM model across all items (mlforecast): lags, rolling means, calendar, demand class "
                   "and known-future covariates; bands from held-out errors")

    def __init__(self, objective: str = "median"):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        self.objective = objective
        self._cache: OrderedDict[str, object] = OrderedDict()  # fits and validations
        self._lock = threading.Lock()
        #: keys being built now, each with the future its value arrives in
        self._pending: dict[str, Future] = {}
        #: the most recent fit (its training time and features, for run records and tests)
        self.last_fit: GlobalFit | None = None

    @property
    def version(self) -> str:  # type: ignore[override]
        """Changes with the settings and the features (a stored run's key). "2:": 150 trees at 0.1, at most
        500,000 training rows."""
        return f"2:{self.objective}:{features_version()}"  # the features are the data's bucket's (spec_for)

    def availability(self) -> Availability:
        try:
            import lightgbm  # noqa: F401
            import mlforecast  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"{exc.name} is not installed (pip install -r requirements.txt)")
        return Availability(True)

    def _predict(
        self,
        history: PreparedHistory,
        horizon: int,
        levels: tuple[float, ...],
        future_covariates: pd.DataFrame | None,
        progress: ProgressCallback | None,
    ) -> Prediction:
        prediction = self.fit(history, horizon, future_covariates).prediction(levels)
        if progress:
            progress(history.n_items, history.n_items)
        return prediction

    # --- training ---------------------------------------------------------------------------------

    def fit(self, history: PreparedHistory, horizon: int, future_covariates: pd.DataFrame | None = None) -> GlobalFit:
        """The fit for this history and horizon: from the cache, or trained now (once per key)."""
        known = future_values(future_covariates, history, horizon) if future_covariates is not None else {}
        key = self._key(history, horizon, known)
        return self._cached(key, lambda: self._train(history, horizon, known))  # type: ignore[return-value]

    def validate(self, history: PreparedHistory, horizon: int, origins: Sequence[int],
                 future_covariates: pd.DataFrame | None = None) -> dict[int, GlobalFit]:
        """Forecasts from each of ``origins`` (bucket numbers at least a horizon apart) by ONE model: auto's check.

        The model is trained up to the earliest origin minus the horizon. From
        there it forecasts the earliest origin's horizon (those errors are that
        origin's calibration errors), then from each origin in turn: the errors
        of one origin's forecast calibrate the next origin's bands. Every
        forecast's features, and every band's errors, come from days up to its
        origin, so no day after an origin is seen (as :meth:`fit` at that origin
        would do, but one training instead of one per origin). Each origin's
        ``GlobalFit`` covers every item (NaN where an item has no day by then).
        """
        days = sorted(int(d) for d in origins)
        if any(later - earlier < horizon for earlier, later in zip(days, days[1:])):
            raise ValueError(f"validation origins must be at least a horizon ({horizon}) apart, got {days}")
        known = future_values(future_covariates, history, horizon) if future_covariates is not None else {}
        key = "validate:" + ",".join(map(str, days)) + self._key(history, horizon, known)
        fits = self._cached(key, lambda: self._validate(history, horizon, days, list(known)))
        return fits  # type: ignore[return-value]

    def _cached(self, key: str, build: Callable[[], object]) -> object:
        """The value for ``key``: from the cache, from the thread already building it (waited for), or built now.

        Concurrent requests for one fit (auto's thread and a plain ``lgbm``
        request in the app, say) train it once.
        """
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._remember(self._cache[key])
            pending = self._pending.get(key)
            mine = pending is None
            if mine:
                pending = self._pending[key] = Future()
        if not mine:
            return self._remember(pending.result())
        try:
            value = build()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            del self._pending[key]
            self._remember(value)
        pending.set_result(value)
        return value

    def _remember(self, value: object) -> object:
        if isinstance(value, GlobalFit):
            self.last_fit = value
        return value

    def _key(self, history: PreparedHistory, horizon: int, known: dict[str, np.ndarray]) -> str:
        digest = hashlib.sha256(f"{self.version}|{horizon}|{history.freq.alias}".encode())
        digest.update(np.asarray(history.item_ids, dtype=str).tobytes())
        for array in (history.days, history.quantity, history.lengths):
            digest.update(np.ascontiguousarray(array).tobytes())
        for name in sorted(history.covariates):
            digest.update(name.encode() + np.ascontiguousarray(history.covariates[name]).tobytes())
        for name in sorted(known):
            digest.update(b"future:" + name.encode() + np.ascontiguousarray(known[name]).tobytes())
        return digest.hexdigest()

    def _train(self, history: PreparedHistory, horizon: int, known: dict[str, np.ndarray]) -> GlobalFit:
        """Train up to the end minus the horizon, forecast those last days (the bands' errors), then the future."""
        started = time.perf_counter()
        statics = static_columns(history)
        dynamic = [name for name in known if name not in statics]
        end = int(history.last_day.max())
        cutoff = end - horizon
        frame = long_frame(history, [*statics, *dynamic], since=cutoff - training_window(history))
        pipeline = self._pipeline(history, frame, cutoff, statics)
        errors = actuals_after(history, cutoff, horizon) - self._forecast_from(pipeline, history, frame, cutoff,
                                                                              horizon, dynamic)
        x_future = future_frame(history, horizon, known, dynamic) if dynamic else None
        point = np.nan_to_num(self._forecast_from(pipeline, history, frame, end, horizon, dynamic, x_future))
        seconds = time.perf_counter() - started
        record_training(seconds)
        return GlobalFit(point, errors, cutoff, tuple(pipeline.ts.features_order_), seconds)

    def _validate(self, history: PreparedHistory, horizon: int, days: list[int], known: list[str]
                  ) -> dict[int, GlobalFit]:
        started = time.perf_counter()
        cutoff = days[0] - horizon
        statics = static_columns(_up_to(history, cutoff))  # as the model trained up to then sees them
        dynamic = [name for name in known if name not in statics]
        frame = long_frame(history, [*statics, *dynamic], since=cutoff - training_window(history))
        pipeline = self._pipeline(history, frame, cutoff, statics)
        features = tuple(pipeline.ts.features_order_)
        errors = actuals_after(history, cutoff, horizon) - self._forecast_from(pipeline, history, frame, cutoff,
                                                                              horizon, dynamic)
        out = {}
        for k, day in enumerate(days):
            point = self._forecast_from(pipeline, history, frame, day, horizon, dynamic)
            out[day] = GlobalFit(point, errors, cutoff, features, 0.0)
            if k + 1 < len(days):  # the next origin's calibration: days up to day + horizon <= the next origin
                errors = actuals_after(history, day, horizon) - point
        seconds = time.perf_counter() - started
        record_training(seconds)
        for fit in out.values():
            fit.seconds = seconds
        return out

    def _pipeline(self, history: PreparedHistory, frame: pd.DataFrame, cutoff: int, statics: list[str]):
        """mlforecast's pipeline trained on the frame's days up to ``cutoff`` (the latest: MAX_TRAINING_ROWS)."""
        from lightgbm import LGBMRegressor
        from mlforecast import MLForecast

        periods = history.freq.periods(frame[TIME].to_numpy().astype("datetime64[D]").astype(np.int64))
        train = frame.loc[(periods <= cutoff) & (periods > cutoff - training_window(history))]
        train = train.assign(**{CLASS_FEATURE: _class_codes(_up_to(history, cutoff), train)})
        regressor = LGBMRegressor(**PARAMETERS, **OBJECTIVES[self.objective], n_jobs=_threads())
        pipeline = MLForecast(models={"lgbm": regressor}, num_threads=_threads(), **mlforecast_arguments(spec_for(
            history.freq)))
        pipeline.fit(train, id_col=ID, time_col=TIME, target_col=TARGET, static_features=[CLASS_FEATURE, *statics])
        return pipeline

    def _forecast_from(self, pipeline, history: PreparedHistory, frame: pd.DataFrame, day: int, horizon: int,
                       dynamic: list[str], x_future: pd.DataFrame | None = None) -> np.ndarray:
        """Each item's forecast of the ``horizon`` buckets after ``day`` from its days up to ``day`` ([items, horizon]).

        NaN for an item without a day in the features' reach by then; the
        known-future values come from ``x_future``, else from the frame (days
        of the history).
        """
        spec = spec_for(history.freq)
        periods = history.freq.periods(frame[TIME].to_numpy().astype("datetime64[D]").astype(np.int64))
        seen = _up_to(history, day)
        recent = frame.loc[(periods <= day) & (periods > day - 2 * spec.longest_lag)]
        recent = recent.assign(**{CLASS_FEATURE: _class_codes(seen, recent)})  # as the forecast's features need
        if dynamic and x_future is None:
            x_future = frame.loc[(periods > day) & (periods <= day + horizon), [ID, TIME, *dynamic]]
        forecast = pipeline.predict(h=horizon, new_df=recent, X_df=x_future)
        point = np.full((history.n_items, horizon), np.nan)
        rows = pd.Index(history.item_ids).get_indexer(forecast[ID].to_numpy())
        last = pd.Series(seen.last_day, index=seen.item_ids).reindex(history.item_ids[rows]).to_numpy()
        steps = _periods(history, forecast[TIME]) - last - 1
        point[rows, steps] = np.maximum(forecast["lgbm"].to_numpy(), 0.0)
        return point


def actuals_after(history: PreparedHistory, day: int, horizon: int) -> np.ndarray:
    """Each item's actuals in the ``horizon`` buckets after its last bucket up to ``day`` ([items, horizon], NaN
    where the history has none: after its end, or for an item that starts later)."""
    last = np.minimum(history.last_day, day)
    position = history.starts[:, None] + (last - history.first_day)[:, None] + np.arange(1, horizon + 1)[None, :]
    inside = (position < (history.starts + history.lengths)[:, None]) & (history.first_day <= day)[:, None]
    return np.where(inside, history.quantity[np.where(inside, position, 0)], np.nan)


def band_shifts(errors: np.ndarray, point: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """Per item and level, the shift from the point forecast (split conformal on the held-out errors).

    Two estimates, the wider one kept (the lower for a level below 0.5, the
    higher above): the level's quantile of the item's own errors, and the
    pooled quantile over all items of errors divided by their item's mean
    absolute error, times the item's (normalised conformal). The pooled one
    keeps a few dozen errors from giving a too-narrow band; the own one keeps
    an item's skew. Items without errors (too short) are scaled by their mean
    forecast times the median ratio of error to forecast. Returns [items, levels].
    On pasta (4 x 28 days): own only covered 65% of days with a 10-90% band,
    pooled only 75%, the wider of both 78%.
    """
    if not levels:
        return np.empty((len(point), 0))
    wanted = np.asarray(levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.nanmean(np.abs(errors), axis=1)
        known = ~np.isnan(scale)
        level = np.maximum(point.mean(axis=1), 1e-9)
        ratio = np.median(scale[known] / level[known]) if known.any() else 0.0
        scale = np.where(known, scale, ratio * level)
        usable = known & (scale > 0)
        normalised = errors[usable] / scale[usable, None]
    pooled = np.nanquantile(normalised, wanted) if usable.any() else np.zeros(len(wanted))
    pooled = pooled[None, :] * scale[:, None]
    own = row_quantiles(errors, wanted)
    own = np.where(np.isnan(own), pooled, own)
    return np.where(wanted < 0.5, np.minimum(own, pooled), np.where(wanted > 0.5, np.maximum(own, pooled), own))


def static_columns(history: PreparedHistory) -> list[str]:
    """The history's numeric columns that never change within any item: item attributes (e.g. a category code)."""
    out = []
    for name, values in history.covariates.items():
        same = np.maximum.reduceat(values, history.starts) == np.minimum.reduceat(values, history.starts)
        varies_across = np.ptp(values[history.starts]) > 0 if history.n_items > 1 else False
        if same.all() and varies_across:
            out.append(name)
    return out


def long_frame(history: PreparedHistory, columns: list[str], since: int | None = None) -> pd.DataFrame:
    """mlforecast's frame ``unique_id, ds, y, <columns>`` from the history's arrays (its buckets after ``since``)."""
    rows = slice(None) if since is None else history.days > since
    data = {ID: history.ids[rows], TIME: history.dates(history.days[rows]), TARGET: history.quantity[rows]}
    data.update({name: history.covariates[name][rows] for name in columns})
    return pd.DataFrame(data)


def future_frame(history: PreparedHistory, horizon: int, known: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    """mlforecast's ``X_df``: every item's forecast days with the known-future values (NaN: not known)."""
    days = (history.last_day[:, None] + np.arange(1, horizon + 1)[None, :]).ravel()
    data = {ID: np.repeat(history.item_ids, horizon), TIME: history.dates(days)}
    data.update({name: known[name].ravel() for name in names})
    return pd.DataFrame(data)


def training_window(history: PreparedHistory) -> int:
    """How many buckets before a training cutoff its rows (and their features' reach) come from."""
    return max(MAX_TRAINING_ROWS // max(history.n_items, 1), MIN_TRAINING_DAYS) + spec_for(history.freq).longest_lag


def _up_to(history: PreparedHistory, day: int) -> PreparedHistory:
    """The items with a bucket by ``day``, up to it."""
    keep = history.first_day <= day
    only = history if keep.all() else history.subset(keep)
    return only.truncate(np.full(only.n_items, day), min_days=0)


def _periods(history: PreparedHistory, dates: pd.Series) -> np.ndarray:
    """The bucket numbers (of ``history.days``) of a frame's dates."""
    return history.freq.periods(dates.to_numpy().astype("datetime64[D]").astype(np.int64))


def _class_codes(history: PreparedHistory, frame: pd.DataFrame) -> np.ndarray:
    """Each row's item's demand class code (classes from ``history``; items it lacks: 'no demand')."""
    _, _, labels = classify(history.tail_matrix()) if history.lengths.max() > 0 else (None, None, [])
    codes = pd.Series([CLASS_CODES[label] for label in labels], index=history.item_ids, dtype=np.int64)
    return codes.reindex(frame[ID].to_numpy()).fillna(CLASS_CODES["no demand"]).to_numpy(dtype=np.int64)


def _threads() -> int:
    """LightGBM's and mlforecast's threads: LGBM_THREADS, else 1.

    One by default: on a loaded 2-core machine, 2 OpenMP threads made a pasta
    fit 10x slower (230 s against 22 s); batch jobs run chunks in parallel anyway.
    """
    return max(1, int(os.environ.get("LGBM_THREADS", "1") or 1))
