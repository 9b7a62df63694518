"""Forecasts, backtests and reorder tables for a client, recorded as runs and cached.

Each request is checked first (items of the client, horizon 1..365, a known
model that can run here, valid quantile levels), then recorded as a
``ForecastRun``. A forecast whose client, items, model version, horizon,
quantile levels and data fingerprint match a stored successful run is answered
from the database without running the model; it is still recorded as a
``cached`` run pointing at the run it reused, so the run history shows it
(a user's repeats of one computed run share that row, which counts them), unless
another write holds the database (SQLite during an import): then it is answered
unrecorded, with the computed run's id, rather than wait.
New sales for any requested item change the fingerprint, so the cache never
serves forecasts of stale data.

With :class:`~forecasting.services.limits.RequestLimits` (the app and the API)
each request is checked against its cost budget before anything is recorded,
computes only in a free computation slot, and stored forecasts are kept within
the client's quota; without them (batch jobs) nothing is limited.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from time import perf_counter

import numpy as np
import pandas as pd

from forecasting.applications.classification.item_classes import item_classes
from forecasting.applications.exceptions.rules import attention_queue, bias_window
from forecasting.applications.inventory.calculator import (
    MIN_COVER_HORIZON,
    REORDER_COLUMNS,
    InventoryCalculator,
    ReorderPlan,
)
from forecasting.applications.inventory.inventory_input import validate_service_level
from forecasting.applications.inventory.targets import SERVICE_TYPES
from forecasting.core.calendar import DAILY, Frequency, bucket_text, view_code
from forecasting.core.errors import (
    ForecastingError,
    InvalidInputError,
    ModelUnavailableError,
    NonFiniteResultError,
    database_error_message,
    is_database_error,
    listed,
)
from forecasting.core.models.base import (
    DEFAULT_QUANTILES,
    MAX_HORIZON,
    SAMPLE_PATHS_VERSION,
    BaseForecastModel,
    ProgressCallback,
    training_clock,
    validate_horizon,
    validate_quantiles,
)
from forecasting.core.covariates import used_covariates
from forecasting.core.history import (
    aggregate_history,
    daily_in_buckets,
    day_numbers_to_dates,
    history_lengths,
    prepare_history,
    to_day_numbers,
)
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.classification import CLASS_COLUMNS, demand_classes
from forecasting.services.data_access import DataAccess, HistorySnapshot, normalise_item_ids
from forecasting.applications.quality.calculator import QualityCalculator
from forecasting.services.limits import CancelToken, ComputationSlots, RequestLimits
from forecasting.services.planning import DemandSource, demand_source
from forecasting.storage.database import DatabaseBusyError
from forecasting.storage.runs import RunInfo, RunRequest

log = logging.getLogger("forecasting.service")
#: the projection columns the exception rules read (an empty plan has just these)
PROJECTION_COLUMNS = ["item_id", "date", "projected_stock"]



@dataclass(frozen=True)
class ForecastOutcome:
    """A forecast and where it came from; ``forecast`` is the frame of docs/data-formats.md."""

    run_id: int
    cached: bool
    model: str
    model_version: str
    created_at: datetime
    horizon: int
    quantiles: tuple[float, ...]
    item_ids: tuple[str, ...]
    forecast: pd.DataFrame
    #: the computed run whose results these are (``run_id`` itself unless cached)
    source_run_id: int
    #: the bucket of the dates and quantities (the client's, or the view's: daily data summed to weeks or months)
    freq: Frequency = DAILY
    #: the covariates the model used (:func:`~forecasting.core.covariates.used_covariates`; () for the others)
    covariates: tuple[str, ...] = ()


@dataclass(frozen=True)
class BacktestOutcome:
    """Scored backtest forecasts, their metrics, and the history they were cut from (for charts)."""

    run_id: int
    models: tuple[str, ...]
    horizon: int
    windows: int
    quantiles: tuple[float, ...]
    created_at: datetime
    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    history: pd.DataFrame
    #: the bucket of the dates and quantities (as :attr:`ForecastOutcome.freq`)
    freq: Frequency = DAILY


@dataclass(frozen=True)
class ExceptionsOutcome:
    """The attention queue (``EXCEPTION_COLUMNS``) and where it came from."""

    run_id: int
    cached: bool
    as_of: date
    model: str
    queue: pd.DataFrame
    #: the published plan whose final forecast was the demand of the reorder rules; None: a fresh model run
    plan_id: int | None = None


@dataclass(frozen=True)
class ReorderOutcome:
    """A reorder table, the per-day projection it is made of (see ``ReorderPlan``), and where it came from."""

    run_id: int
    #: items left out (no stock position or too little history)
    skipped: tuple[str, ...]
    #: the client's data "as of" date: day 1 of the projection is the day after
    as_of: date | None
    table: pd.DataFrame
    projection: pd.DataFrame
    #: the published plan whose final forecast (with overrides) was the demand; None: a fresh model run
    plan_id: int | None = None
    #: the demand's name: ``plan 3 (ma7, as of 2024-03-01)`` or the model's
    demand: str = ""
    #: the bucket of the projection's dates and of the forecast the table was computed from
    freq: Frequency = DAILY


@dataclass(frozen=True)
class View:
    """The bucket a request works in: the client's data (``freq``), or daily data summed to weeks or months."""

    #: the client's data bucket
    freq: Frequency
    #: the bucket the models fit and forecast in (``freq`` itself unless ``code`` is set)
    bucket: Frequency
    #: ``W`` or ``M``: daily data summed to that bucket first (docs/cli.md ``--bucket``); None: the data itself
    code: str | None = None

    @property
    def text(self) -> str:
        """The one wording of the bucket (:func:`forecasting.core.calendar.bucket_text`)."""
        return bucket_text(self.freq, self.bucket)

    @property
    def parameters(self) -> dict:
        """What the run records and the cache key holds: the summed bucket, when there is one."""
        return {} if self.code is None else {"bucket": self.code}

    def frame(self, history: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
        """The history in this bucket: daily rows summed to weeks (ending on ``as_of``) or whole months."""
        return history if self.code is None else aggregate_history(history, self.code, as_of=as_of)


def client_view(client, bucket: str | None) -> View:
    """The :class:`View` of a client (``ClientInfo``) in ``bucket`` (None: its own); a finer bucket is refused."""
    code = view_code(client.freq, bucket)
    if code is None:
        return View(client.freq, client.freq)
    if client.as_of is None:
        raise ForecastingError("the client has no sales yet: import a sales file first")
    freq, _ = daily_in_buckets(code, int(to_day_numbers(np.array([client.as_of]))[0]))
    return View(client.freq, freq, code)


class ForecastService:
    """Runs models on stored data for one client at a time; see the module docstring."""

    def __init__(self, data: DataAccess, limits: RequestLimits | None = None):
        self.data = data
        #: the app's and the API's request limits (forecasting.services.limits); None for batch jobs
        self.limits = limits
        self.slots = ComputationSlots.for_limits(limits) if limits is not None else None

    def history(self, client_id: int, item_ids: Sequence[str], start: date | None = None,
                bucket: str | None = None) -> pd.DataFrame:
        """The items' history in the client's bucket (missing buckets as 0), or summed to ``bucket`` (W, M) for
        daily data, e.g. for drawing actuals."""
        snapshot = self.data.history_snapshot(client_id, item_ids, start)
        return self.view(client_id, bucket).frame(snapshot.frame, snapshot.as_of)

    def view(self, client_id: int, bucket: str | None = None) -> View:
        """The bucket a request in ``bucket`` works in (None: the client's own); a finer one is refused."""
        return client_view(self.data.get_client(client_id), bucket)

    def demand_classes(self, client_id: int, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Each item's demand class (smooth, erratic, intermittent, lumpy; docs/models.md) with its ADI and CV^2.

        All items with sales (default) or the named ones; items without any sales are left out.
        """
        if item_ids is None:
            items = self.data.list_items(client_id)
            item_ids = items.loc[items["last_date"].notna(), "item_id"].tolist()
            if not item_ids:
                return pd.DataFrame(columns=CLASS_COLUMNS)
        history = self.data.history(client_id, item_ids)
        return demand_classes(prepare_history(history, min_days=1))

    def item_classes(self, client_id: int) -> pd.DataFrame:
        """Every item with sales: ``item_id, abc, xyz, lifecycle`` (docs/inventory-policy.md), the client's
        ABC thresholds, value at the stored unit cost; the population is all the client's items with sales."""
        items = self.data.list_items(client_id)
        items = items.loc[items["last_date"].notna()].reset_index(drop=True)
        if items.empty:
            return pd.DataFrame(columns=["item_id", "abc", "xyz", "lifecycle"])
        prepared = prepare_history(self.data.history(client_id, items["item_id"].tolist()), min_days=1)
        stored = items.set_index("item_id").reindex(prepared.item_ids.astype(str))
        classes = item_classes(prepared.item_ids, prepared.tail_matrix(), stored["unit_cost"].to_numpy(dtype=float),
                               stored["phase_out"].to_numpy(dtype=bool),
                               self.data.policy(client_id).abc_thresholds, prepared.freq)
        return classes[["item_id", "abc", "xyz", "lifecycle"]]

    def forecast(
        self,
        client_id: int,
        item_ids: Sequence[str],
        model: str,
        horizon: int,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        bucket: str | None = None,
    ) -> ForecastOutcome:
        """Forecast the items ``horizon`` buckets ahead, from the cache when the same request was computed.

        ``bucket`` (W or M, daily data only): the models are fitted on weekly or
        monthly totals and forecast them (:class:`View`); None: the client's own bucket.
        ``cancel`` (set from another thread) stops the computation at its next check: the run fails.
        """
        started = perf_counter()
        instance = _model(model)
        view = self.view(client_id, bucket)
        horizon = validate_horizon(horizon, min(instance.max_horizon, MAX_HORIZON), view.bucket)
        levels = validate_quantiles(quantiles)
        ids = normalise_item_ids(item_ids)
        if self.limits is not None:
            self.limits.check_forecast(len(ids), horizon, len(levels))
        self._check_cost("forecast", [instance.name], len(ids))
        self._check_user(client_id, user_id)
        version = str(instance.version)

        def request_for(fingerprint: str, item_keys: tuple[str, ...]) -> RunRequest:
            return run_request("forecast", item_keys, instance.name, version, horizon, levels, view.parameters,
                               fingerprint, user_id)

        lookup = self.data.lookup_forecast(
            client_id, ids, lambda fingerprint: request_for(fingerprint, tuple(sorted(ids))).cache_key
        )
        if lookup.run is not None and lookup.forecast is not None:
            request = request_for(lookup.fingerprint, lookup.item_ids)
            run_id, created_at = self._record_cached(client_id, request, lookup.run, started)
            if progress:
                progress(len(ids), len(ids))
            return ForecastOutcome(
                run_id=run_id, cached=True, model=instance.name, model_version=version, created_at=created_at,
                horizon=horizon, quantiles=levels, item_ids=request.item_ids, forecast=lookup.forecast,
                source_run_id=lookup.run.run_id, freq=view.bucket,
                covariates=self.covariates_used(client_id, instance.name),
            )

        _require_available(instance)
        keep = None if self.limits is None else self.limits.stored_values_per_client
        with self._slot(client_id):
            snapshot = self.data.history_snapshot(client_id, ids)
            _require_history(snapshot)
            request = request_for(snapshot.fingerprint, snapshot.item_ids)
            run_id, created_at = self.data.record_run(client_id, request)
            history, future = _with_calendar(snapshot, [instance], horizon, view=view)
            with training_clock() as training:
                frame = self._run(
                    client_id,
                    run_id,
                    started,
                    lambda: instance.forecast(history, horizon, levels, future, progress=_watched(progress, cancel)),
                    save=lambda result, seconds: self.data.complete_run(client_id, run_id, seconds, result, levels,
                                                                        keep_values=keep,
                                                                        training_s=training[0] or None),
                    cancel=cancel,
                )
        return ForecastOutcome(
            run_id=run_id, cached=False, model=instance.name, model_version=version, created_at=created_at,
            horizon=horizon, quantiles=levels, item_ids=request.item_ids, forecast=frame, source_run_id=run_id,
            freq=view.bucket, covariates=self.covariates_used(client_id, instance.name),
        )

    def covariates_used(self, client_id: int, model: str) -> tuple[str, ...]:
        """The covariates ``model`` uses on the client's data, in its own bucket or a view of it in weeks or
        months: the calendar's for lgbm and chronos-2, the sales file's other columns for chronos-2, the items'
        category for lgbm (and auto), none for the statistical models."""
        instance = _model(model)
        if not instance.uses_known_future:
            return ()
        return used_covariates(instance, *self.data.covariate_names(client_id))

    def get_forecast(self, client_id: int, run_id: int) -> ForecastOutcome:
        """A stored forecast run of the client (a cached one returns the results it reused)."""
        run, frame = self.data.run_forecast(client_id, run_id)
        return ForecastOutcome(
            run_id=run.run_id, cached=run.cached, model=run.model, model_version=run.model_version,
            created_at=run.created_at, horizon=run.horizon, quantiles=run.quantiles, item_ids=run.item_ids,
            forecast=frame, source_run_id=run.source_run_id or run.run_id,
            freq=_stored_bucket(self.data.get_client(client_id).freq, run.parameters.get("bucket"), frame),
        )

    def backtest(
        self,
        client_id: int,
        item_ids: Sequence[str],
        models: Sequence[str] | str,
        horizon: int,
        windows: int = 1,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        bucket: str | None = None,
    ) -> BacktestOutcome:
        """Score models on the items' last ``windows`` x ``horizon`` buckets (hidden from the models); ``bucket``
        as for :meth:`forecast`."""
        started = perf_counter()
        names = ModelFactory.parse_names(models if isinstance(models, str) else ",".join(models))
        instances = [_model(n) for n in names]
        view = self.view(client_id, bucket)
        horizon = validate_horizon(horizon, freq=view.bucket)
        if isinstance(windows, bool) or not isinstance(windows, (int, np.integer)) or windows < 1:
            raise ForecastingError(f"windows must be a whole number >= 1, got {windows!r}")
        levels = validate_quantiles(quantiles)
        ids = normalise_item_ids(item_ids)
        if self.limits is not None:
            self.limits.check_backtest(len(ids), horizon, int(windows), len(instances), len(levels))
        self._check_cost("backtest", names, len(ids), int(windows))
        self._check_user(client_id, user_id)
        for instance in instances:
            _require_available(instance)
        with self._slot(client_id):
            snapshot = self.data.history_snapshot(client_id, ids)
            _require_history(snapshot)
            model_names = ",".join(m.name for m in instances)
            versions = ",".join(str(m.version) for m in instances)
            parameters = {"windows": int(windows), **view.parameters}
            request = run_request("backtest", snapshot.item_ids, model_names, versions, horizon, levels, parameters,
                               snapshot.fingerprint, user_id)
            run_id, created_at = self.data.record_run(client_id, request)
            history, future = _with_calendar(snapshot, instances, horizon, held_out=horizon * int(windows), view=view)
            result = self._run(
                client_id,
                run_id,
                started,
                lambda: QualityCalculator.backtest(history, names, horizon, int(windows), levels,
                                                   _watched(progress, cancel), future_covariates=future),
                cancel=cancel,
            )
        return BacktestOutcome(
            run_id=run_id, models=tuple(names), horizon=horizon, windows=int(windows), quantiles=levels,
            created_at=created_at, forecasts=result.forecasts, metrics=result.metrics, history=history,
            freq=view.bucket,
        )

    def reorder(
        self,
        client_id: int,
        item_ids: Sequence[str] | None = None,
        model: str | None = None,
        service_level: float | None = None,
        review_period_days: int | None = None,
        lead_time_days: int | None = None,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        service_type: str | None = None,
        bucket: str | None = None,
    ) -> pd.DataFrame:
        """The reorder table of :meth:`reorder_plan`, with ``attrs`` ``run_id``, ``skipped``, ``as_of`` and ``plan_id``."""
        outcome = self.reorder_plan(client_id, item_ids, model, service_level, review_period_days, lead_time_days,
                                    user_id, progress, cancel, service_type, bucket)
        table = outcome.table
        table.attrs.update(run_id=outcome.run_id, skipped=list(outcome.skipped), as_of=outcome.as_of,
                           plan_id=outcome.plan_id)
        return table

    def reorder_plan(
        self,
        client_id: int,
        item_ids: Sequence[str] | None = None,
        model: str | None = None,
        service_level: float | None = None,
        review_period_days: int | None = None,
        lead_time_days: int | None = None,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        service_type: str | None = None,
        bucket: str | None = None,
    ) -> ReorderOutcome:
        """The reorder table (docs/inventory-policy.md) and the projected stock it comes from.

        Uses the items' stored parameters and latest positions. Without
        ``item_ids``: every item with a stock position and enough history for
        the model (the others are in ``skipped``). ``service_level`` (strictly
        between 0 and 1), ``review_period_days`` and ``lead_time_days`` override
        the stored values for this table only, and so does ``service_type`` (cycle
        or fill); an invalid one is an error. ``model`` None: the published plan
        with its overrides when the client has one, else ma7
        (:func:`forecasting.services.planning.demand_source`). ``bucket`` (W or M, daily data only): the
        demand is forecast in weekly or monthly totals and the projection is in that bucket; lead time and
        review period stay in days and are converted pro rata (docs/inventory-policy.md); it needs a
        named ``model`` when the client has a published plan (the plan is in days).
        """
        started = perf_counter()
        source = _demand(self.data, client_id, model)
        instance = source.model
        view = self.view(client_id, bucket)
        if view.code is not None and source.plan is not None:
            raise InvalidInputError(f"the published plan is in {view.freq.units}: choose a demand model to plan "
                                    f"in {view.bucket.units}")
        overrides = {
            "review_period_days": _days(review_period_days, "review_period_days"),
            "lead_time_days": _days(lead_time_days, "lead_time_days"),
            "service_type": service_type,
        }
        if service_level is not None:
            service_level = validate_service_level(service_level)
        if service_type not in (None, *SERVICE_TYPES):
            raise InvalidInputError(f"service_type must be one of {', '.join(SERVICE_TYPES)}, got {service_type!r}")
        self._check_user(client_id, user_id)
        _require_available(instance)
        inventory, skipped = self.positions(client_id, item_ids, instance.min_history_days, overrides, view)
        horizon = InventoryCalculator.required_horizon(inventory, view.bucket)
        if self.limits is not None:
            self.limits.check_reorder(len(inventory), horizon)
        self._check_cost("reorder plan", [instance.name], len(inventory))
        with self._slot(client_id):
            snapshot = self.data.history_snapshot(client_id, inventory["item_id"].tolist())
            policy = self.data.policy(client_id)
            arrivals = self.data.arrivals(client_id)
            parameters = {k: v for k, v in {**overrides, "service_level": service_level}.items() if v is not None}
            parameters.update(view.parameters)
            if source.plan is not None:
                parameters["plan"] = source.key
            request = run_request("reorder", snapshot.item_ids, source.label, str(instance.version), horizon, (),
                               parameters, snapshot.fingerprint, user_id)
            run_id, _ = self.data.record_run(client_id, request)
            plan = self._run(
                client_id,
                run_id,
                started,
                lambda: _finite_plan(InventoryCalculator.plan(
                    instance, view.frame(snapshot.frame, snapshot.as_of), inventory.drop(columns="as_of"),
                    service_level,
                    _watched(progress, cancel), demand=source, policy=policy, arrivals=arrivals,
                )),
                cancel=cancel,
            )
        return ReorderOutcome(run_id=run_id, skipped=tuple(skipped), as_of=snapshot.as_of, table=plan.table,
                              projection=plan.projection, plan_id=_plan_id(source), demand=source.label,
                              freq=view.bucket)

    def exceptions(
        self,
        client_id: int,
        model: str | None = None,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ExceptionsOutcome:
        """What needs attention today (docs/inventory-policy.md, exceptions): the ranked queue of every item.

        Recorded as a run of kind ``exceptions`` and answered from the stored
        queue while the client's data, the model and the stored forecasts are
        unchanged (any import or item edit, or a new forecast run, computes it
        again). The reorder rules use ``model``'s forecasts; None: the published plan with its overrides when
        the client has one, else ma7 (:func:`forecasting.services.planning.demand_source`).
        """
        started = perf_counter()
        source = _demand(self.data, client_id, model)
        instance = source.model
        self._check_user(client_id, user_id)
        _require_available(instance)
        client = self.data.get_client(client_id)
        if client.as_of is None:
            raise ForecastingError("the client has no sales yet: import a sales file first")
        latest = self.data.latest_forecast_run(client_id)
        state = f"data {client.data_version}, as of {client.as_of}, forecasts to run {latest}"
        parameters = {"plan": source.key} if source.plan is not None else {}
        request = run_request("exceptions", (), source.label, str(instance.version), MIN_COVER_HORIZON, (),
                              parameters, state, user_id)
        stored = self.data.cached_run(client_id, request.cache_key)
        if stored is not None:
            run_id, _ = self._record_cached(client_id, request, stored, started)
            return ExceptionsOutcome(run_id=run_id, cached=True, as_of=client.as_of, model=source.label,
                                     queue=self.data.exceptions_of_run(client_id, stored.run_id),
                                     plan_id=_plan_id(source))
        with self._slot(client_id):
            run_id, _ = self.data.record_run(client_id, request)
            self._run(client_id, run_id, started,
                      lambda: self._attention(client_id, client.as_of, source, _watched(progress, cancel)),
                      save=lambda queue, seconds: self.data.complete_exceptions(client_id, run_id, seconds, queue),
                      cancel=cancel)
        return ExceptionsOutcome(run_id=run_id, cached=False, as_of=client.as_of, model=source.label,
                                 queue=self.data.exceptions_of_run(client_id, run_id), plan_id=_plan_id(source))

    def _attention(
        self, client_id: int, as_of: date, source: DemandSource, progress: ProgressCallback | None
    ) -> pd.DataFrame:
        """The exception queue from the client's current data (see :mod:`forecasting.applications.exceptions`)."""
        instance = source.model
        items = self.data.list_items(client_id)
        as_of_day = pd.Timestamp(as_of)
        freq = self.data.get_client(client_id).freq
        items["history_buckets"] = history_lengths(items["first_date"], as_of_day, freq).to_numpy()
        try:
            inventory, skipped = self.positions(client_id, None, instance.min_history_days, {})
        except ForecastingError:  # no item has a position (with history): only the sales rules apply
            inventory, skipped = None, items.loc[items["on_hand"].notna(), "item_id"].tolist()
        if inventory is not None:
            if self.limits is not None:
                self.limits.check_reorder(len(inventory), InventoryCalculator.required_horizon(inventory, freq))
            self._check_cost("exception queue", [instance.name], len(inventory))
            history = self.data.history(client_id, inventory["item_id"].tolist())
            plan = _plan_of_finite_items(source, history, inventory.drop(columns="as_of"), progress,
                                         self.data.arrivals(client_id))
            table, projection = plan.table, plan.projection
        else:
            table = pd.DataFrame(columns=REORDER_COLUMNS)
            projection = pd.DataFrame(columns=PROJECTION_COLUMNS)
        window, _ = bias_window(freq)  # from the first bucket of the bias window
        as_of_bucket = freq.periods(to_day_numbers(np.array([as_of_day])))[0]
        since = pd.Timestamp(day_numbers_to_dates(freq.days_of(np.array([as_of_bucket - window + 1])))[0]).date()
        stored = self.data.stored_forecasts(client_id, since, as_of)
        if len(stored):
            actuals = self.data.history(client_id, sorted(stored["item_id"].unique()), start=since)
            compared = stored.merge(actuals[["item_id", "date", "quantity"]], on=["item_id", "date"])
            compared = compared.rename(columns={"quantity": "actual"})
        else:
            compared = pd.DataFrame(columns=["item_id", "date", "forecast", "actual"])
        queue = attention_queue(table, projection, items, compared, as_of_day, skipped, instance.min_history_days,
                                freq)
        overflow = np.isinf(queue["value_at_risk"].to_numpy(dtype=np.float64))
        if overflow.any():  # units x a unit cost past the float range: unknown, like a missing unit cost
            log.warning("exception queue: value at risk beyond the float range for %s", listed(queue["item_id"][overflow]))
            queue.loc[overflow, "value_at_risk"] = np.nan
        return queue

    # --- helpers -------------------------------------------------------------------------

    def positions(
        self, client_id: int, item_ids: Sequence[str] | None, min_days: int, overrides: dict[str, int | str | None],
        view: View | None = None,
    ) -> tuple[pd.DataFrame, list[str]]:
        """The inventory to plan (with overrides applied) and, for all items, those left out for short history
        (``min_days`` buckets of ``view``, default the client's own).

        What :meth:`reorder_plan` plans; batch reorder jobs plan the same items.
        """
        inventory = self.data.inventory(client_id, item_ids)
        skipped: list[str] = []
        if item_ids is None:
            inventory, skipped = self._with_history(client_id, inventory, min_days, view)
        for column, value in overrides.items():
            if value is not None:
                inventory[column] = value
        return inventory, skipped

    def _run(
        self,
        client_id: int,
        run_id: int,
        started: float,
        work: Callable[[], object],
        save: Callable[[object, float], None] | None = None,
        cancel: CancelToken | None = None,
    ):
        """Do the work; record success (and its results, with ``save(result, seconds)`` in the same
        transaction as the status) or failure, then return or raise. A ``cancel`` set before the
        results are saved fails the run (nothing stored)."""
        try:
            if cancel is not None:
                cancel.check()
            result = work()
            if cancel is not None:
                cancel.check()
            if save is not None:
                save(result, perf_counter() - started)
            else:
                self.data.complete_run(client_id, run_id, perf_counter() - started)
        except BaseException as exc:
            message = str(exc) if isinstance(exc, ForecastingError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, Exception):  # interrupted, or the app's rerun/stop of an abandoned run
                message = f"cancelled: the run was abandoned ({type(exc).__name__})"
            elif is_database_error(exc):  # its text holds SQL: logged here, never shown to the caller
                log.exception("run %s of client %s failed in the database", run_id, client_id)
                message = database_error_message(exc)
            try:
                self.data.fail_run(client_id, run_id, perf_counter() - started, message)
            except Exception:  # the original error matters more than the bookkeeping
                pass
            if isinstance(exc, ForecastingError) or is_database_error(exc) or not isinstance(exc, Exception):
                raise
            raise ForecastingError(f"run {run_id} failed: {message}") from exc
        return result

    def _record_cached(
        self, client_id: int, request: RunRequest, source: RunInfo, started: float
    ) -> tuple[int, datetime]:
        """Record an answer from ``source``'s results: the cached run's id and time, or, when another write
        (SQLite: an import) holds the database, the source's own, unrecorded: a cached answer never waits."""
        try:
            return self.data.record_run(client_id, request, source_run_id=source.run_id,
                                        duration_s=perf_counter() - started)
        except DatabaseBusyError:
            return source.run_id, source.created_at

    def _check_cost(self, kind: str, models: Sequence[str], items: int, windows: int = 1) -> None:
        """The cost budget of the request limits: each model's calls (one per window) on ``items``."""
        if self.limits is None:
            return
        cost = sum(ModelFactory.cost(name, items, windows) for name in models)
        per_window = f" x {windows} windows" if kind == "backtest" else ""
        self.limits.check_cost(kind, cost, f"{items:,} items{per_window} of {', '.join(models)}")

    def _slot(self, client_id: int) -> AbstractContextManager[None]:
        """A computation slot of the request limits (none needed without limits)."""
        return nullcontext() if self.slots is None else self.slots.hold(client_id)

    def _check_user(self, client_id: int, user_id: int | None) -> None:
        if user_id is not None:
            self.data.require_user(client_id, user_id)

    def _with_history(
        self, client_id: int, inventory: pd.DataFrame, min_days: int, view: View | None = None
    ) -> tuple[pd.DataFrame, list[str]]:
        """Inventory rows of items with at least ``min_days`` buckets of history (of ``view``); the others' ids."""
        if inventory.empty:
            raise ForecastingError("no item has an inventory position: import an inventory file first")
        items = self.data.list_items(client_id, inventory["item_id"].tolist()).set_index("item_id")
        client = self.data.get_client(client_id)
        view = view or client_view(client, None)
        as_of = client.as_of
        if view.code is not None:  # a view of daily data: its last whole bucket ends the history
            _, last = daily_in_buckets(view.code, int(to_day_numbers(np.array([as_of]))[0]))
            as_of = np.datetime64(int(view.bucket.days_of(np.array([last]))[0]), "D")
        span = history_lengths(items["first_date"], as_of, view.bucket)  # every history runs to the as-of date
        enough = span.reindex(inventory["item_id"]).fillna(0).to_numpy() >= min_days
        if not enough.any():
            raise ForecastingError(
                f"no item with an inventory position has {min_days} or more {view.bucket.units} of sales history"
            )
        skipped = inventory.loc[~enough, "item_id"].tolist()
        return inventory.loc[enough].reset_index(drop=True), skipped


def _stored_bucket(freq: Frequency, code: str | None, forecast: pd.DataFrame) -> Frequency:
    """The bucket of a stored run's dates: the client's, or the view it was made in (weeks on its dates' weekday)."""
    if code is None:
        return freq
    if code == "M" or not len(forecast):
        return Frequency(code)
    return Frequency("W", int(pd.Timestamp(forecast["date"].iloc[0]).weekday()))


def _with_calendar(
    snapshot: HistorySnapshot, models: Sequence[BaseForecastModel], horizon: int, held_out: int = 0,
    view: View | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The history and known-future frame the models get, in the view's bucket (the client's own by default).

    The client's calendar is joined when one of them uses covariates (lgbm,
    chronos-2): in a view of daily data in weeks or months as the means over
    each bucket's days (:meth:`~forecasting.core.client_calendar.ClientCalendar.known_future`),
    as the summed history's covariates are. Each item's category code is added
    when one uses item attributes (lgbm, auto). The statistical models ignore
    both, and forecast as without them.
    """
    code = None if view is None else view.code
    frame = snapshot.frame if code is None else view.frame(snapshot.frame, snapshot.as_of)
    if any(m.uses_item_attributes for m in models):
        frame = snapshot.with_category(frame)
    known = snapshot.known_future(horizon, held_out, code) if any(m.uses_known_future for m in models) else None
    if known is None:
        return frame, None
    return known.join_history(frame), known.frame


def _model(name: str) -> BaseForecastModel:
    if not isinstance(name, str):
        raise ForecastingError(f"model must be a name such as 'ma7', got {name!r}")
    return ModelFactory.create(name)


def _demand(data: DataAccess, client_id: int, model: str | None) -> DemandSource:
    """The demand of a reorder table or an attention queue (one place decides: services/planning.py)."""
    if model is not None:
        _model(model)  # a name that is not a string is refused with the usual message
    return demand_source(data, client_id, model)


def _plan_id(source: DemandSource) -> int | None:
    return None if source.plan is None else source.plan.plan_id


def _finite_plan(plan: ReorderPlan) -> ReorderPlan:
    """The plan, refused when a number left the float range (e.g. order quantity x a huge unit cost)."""
    numbers = plan.table.select_dtypes("number")
    bad = np.isinf(numbers.to_numpy(dtype=np.float64)).any(axis=1)
    if bad.any():
        items = plan.table.loc[bad, "item_id"].tolist()
        raise NonFiniteResultError(
            f"the reorder plan of item(s) {listed(items)} has numbers beyond the float range: check their unit cost, "
            f"stock and sales", items)
    return plan


def _plan_of_finite_items(
    source: DemandSource, history: pd.DataFrame, inventory: pd.DataFrame, progress: ProgressCallback | None,
    arrivals: pd.DataFrame | None = None,
) -> ReorderPlan:
    """The exception queue's reorder plan without the items whose sales overflow the model (logged), so
    that one item's absurd data cannot fail the client's whole queue; an order value past the float
    range (a huge unit cost) is unknown (NaN), as with no unit cost."""
    model = source.model
    try:
        plan = InventoryCalculator.plan(model, history, inventory, None, progress, demand=source, arrivals=arrivals)
    except NonFiniteResultError as exc:
        log.warning("exception queue: %s", exc)
        keep = ~inventory["item_id"].astype(str).isin(exc.item_ids)
        if keep.all():
            raise
        if not keep.any():
            return ReorderPlan(pd.DataFrame(columns=REORDER_COLUMNS), pd.DataFrame(columns=PROJECTION_COLUMNS))
        inventory = inventory.loc[keep].reset_index(drop=True)
        history = history[history["item_id"].isin(inventory["item_id"])]
        plan = InventoryCalculator.plan(model, history, inventory, None, progress, demand=source, arrivals=arrivals)
    numbers = plan.table.select_dtypes("number").columns
    plan.table[numbers] = plan.table[numbers].where(~np.isinf(plan.table[numbers].to_numpy(dtype=np.float64)))
    return plan


def _watched(progress: ProgressCallback | None, cancel: CancelToken | None) -> ProgressCallback | None:
    """``progress`` that first checks ``cancel``: models and backtests report between blocks and windows."""
    if cancel is None:
        return progress

    def report(done: int, total: int) -> None:
        cancel.check()
        if progress:
            progress(done, total)

    return report


def _require_available(model: BaseForecastModel) -> None:
    status = model.availability()
    if not status.available:
        raise ModelUnavailableError(f"model {model.name} cannot run here: {status.reason}")


def _require_history(snapshot: HistorySnapshot) -> None:
    present = set(pd.unique(snapshot.frame["item_id"])) if len(snapshot.frame) else set()
    missing = [i for i in snapshot.item_ids if i not in present]
    if missing:
        shown = ", ".join(missing[:10]) + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
        raise ForecastingError(f"no sales history for item(s) {shown}: import sales first")


def _days(value: int | None, label: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_HORIZON:
        raise ForecastingError(f"{label} must be a whole number of days from 0 to {MAX_HORIZON}, got {value!r}")
    return int(value)


def run_request(
    kind: str,
    item_ids: Sequence[str],
    model: str,
    version: str,
    horizon: int,
    levels: Sequence[float],
    parameters: dict,
    fingerprint: str,
    user_id: int | None,
) -> RunRequest:
    """The run's record, with the cache key made of everything that decides its numbers (batch jobs' too)."""
    payload = json.dumps(
        [kind, sorted(item_ids), model, version, horizon, list(levels), parameters, fingerprint,
         SAMPLE_PATHS_VERSION],
        sort_keys=True,
    )
    return RunRequest(
        kind=kind, model=model, model_version=version, horizon=horizon, quantiles=tuple(levels),
        item_ids=tuple(item_ids), parameters=parameters, data_fingerprint=fingerprint,
        cache_key=hashlib.sha256(payload.encode()).hexdigest(), user_id=user_id,
    )
