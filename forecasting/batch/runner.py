"""Running a batch job end to end: plan the chunks, run them on an engine, write the output, record the run.

File mode (:func:`run_file_job`): the sales file is staged by item
(:mod:`forecasting.batch.staging`), chunks are cut from the parts, and the
output file is assembled from the chunks' parts in order and renamed into
place at the end. Database mode (:func:`run_database_job`): the client's items
are read page by page in id order (keyset pagination), the job is recorded as
one run (the cache key of the same request made through the service), each
chunk's forecast is stored under it as the chunk finishes (COPY on
PostgreSQL), and the run is marked succeeded only at the end. Either way a
chunk whose worker raises unexpectedly is tried again, up to
``job.max_attempts`` times in all; bad input fails at once. A failed job
names its chunk, leaves no output file, and its run is marked failed with
whatever it stored removed, so it is never served from the cache. A job killed
outright is cleaned up by the next command, app or API start
(:mod:`forecasting.services.run_recovery`): its run marked failed, its
results, work folder and partial output removed.

Memory is what one chunk needs per worker, plus per-item bookkeeping that is
small (ids and keys; a backtest's metric sums), whatever the catalogue's size.
"""
from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecasting.applications.classification.item_classes import abc_classes
from forecasting.applications.inventory.calculator import InventoryCalculator, classify_inventory
from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.batch.engines import create_engine
from forecasting.batch.plan import BatchJob, Chunk, slices
from forecasting.batch.sources import DatabaseSource, FileSource
from forecasting.batch.staging import KEY, merge_parts, stage_sales, write_part
from forecasting.batch.work import ChunkContext, backtest_metrics
from forecasting.core.calendar import DAILY, Frequency
from forecasting.core.covariates import KnownFuture, used_covariates, with_covariates
from forecasting.core.errors import (
    ForecastingError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
    database_error_message,
    is_database_error,
    listed,
)
from forecasting.core.history import check_min_days, daily_in_buckets
from forecasting.core.models.base import BaseForecastModel, ProgressCallback, validate_horizon
from forecasting.io.scratch import work_dir
from forecasting.io.table_writer import TableWriter
from forecasting.modes.factory import ModelFactory

#: items per page when reading a client's item keys
KEY_PAGE = 10_000

if TYPE_CHECKING:
    from forecasting.services.planning import DemandSource

log = logging.getLogger("forecasting.batch")


class ChunkFailed(ForecastingError):
    """A chunk failed (bad input at once, or an unexpected error on every attempt)."""


@dataclass(frozen=True)
class BatchOutcome:
    """What a job did: its run (database mode), whether it came from the cache, the items it left out."""

    run_id: int | None = None
    cached: bool = False
    skipped: tuple[str, ...] = ()
    #: the data's bucket (what the horizon and the output dates count)
    freq: Frequency = DAILY


def run_file_job(
    job: BatchJob,
    sales: str | Path,
    output: str | Path | None,
    inventory: pd.DataFrame | None = None,
    engine: str = "local",
    progress: ProgressCallback | None = None,
    freq: str | None = None,
    bucket: str | None = None,
    calendar: KnownFuture | None = None,
) -> BatchOutcome:
    """A job over every item of a sales file (CSV or Parquet); output CSV or Parquet (None: CSV on stdout).

    ``freq``: the declared bucket (D, W or M); None: detected from the file's dates.
    ``bucket`` (W or M): daily data summed to weeks or months first, the models
    fitted on the sums (:func:`forecasting.core.history.aggregate_history`).
    The outcome's ``freq`` is the bucket the models worked in.
    ``calendar``: known-future covariates for the forecast and backtest (their past values join the history).
    """
    models = _models(job)
    with work_dir() as work:
        staged = stage_sales(sales, work / "sales", job.chunk_items, freq)
        inventory_ids = None if inventory is None else inventory["item_id"].astype(str).to_numpy()
        if inventory_ids is not None:
            present = np.concatenate(staged.item_ids)
            missing = inventory_ids[~np.isin(inventory_ids, present)]
            if len(missing):
                raise NotFoundError(f"inventory item(s) without sales history: {listed(missing)}")
        chunks, ids, first = [], [], []
        for part, part_ids, first_days in zip(staged.parts, staged.item_ids, staged.first_days):
            if inventory_ids is not None:
                keep = np.isin(part_ids, inventory_ids)
                part_ids, first_days = part_ids[keep], first_days[keep]
            ids.append(part_ids)
            first.append(first_days)
            for s in slices(len(part_ids), job.chunk_items):
                chunk_ids = part_ids[s]
                rows = None if inventory is None else _rows_of(inventory, chunk_ids)
                chunks.append(Chunk(len(chunks), chunk_ids, part=part, inventory=rows))
        ids_all, first_all = np.concatenate(ids), np.concatenate(first)
        order = np.argsort(ids_all, kind="stable")
        source = _file_source(staged, bucket)
        if calendar is not None and source.aggregate is not None:  # daily covariates, as the daily sales, in buckets
            calendar = calendar.in_buckets(source.freq)
        lengths = source.freq.periods(np.full(len(first_all), source.as_of)) - source.freq.periods(first_all) + 1
        check_min_days(ids_all[order], lengths[order], max(m.min_history_days for m in models), source.freq)
        context = ChunkContext(job, models, source, _horizon(job, models, inventory, source.freq), calendar=calendar)
        _run_and_write(context, chunks, engine, work / "results", output, progress)
    return BatchOutcome(freq=source.freq)


def _file_source(staged, bucket: str | None) -> FileSource:
    """Chunks in the file's bucket, or (``--bucket``) daily data summed to weeks or months."""
    if bucket is None or bucket == "D":
        return FileSource(staged.as_of, staged.freq)
    if staged.freq != DAILY:
        raise ForecastingError(f"--bucket {bucket} plans daily data in weeks or months; this file is {staged.freq.label}")
    freq, last = daily_in_buckets(bucket, staged.as_of)
    return FileSource(int(freq.days_of(np.array([last]))[0]), freq, bucket)


def run_database_job(
    services,
    client_id: int,
    job: BatchJob,
    item_ids: Sequence[str] | None = None,
    output: str | Path | None = None,
    engine: str = "local",
    progress: ProgressCallback | None = None,
    user_id: int | None = None,
    bucket: str | None = None,
    demand: DemandSource | None = None,
) -> BatchOutcome:
    """A job over a client's items (all with sales, or ``item_ids``), recorded as one run; see the module docstring.

    ``bucket`` (W or M): the client's daily sales summed to weeks or months first, as in the app's view
    (:class:`forecasting.services.forecast_service.View`); recorded in the run's parameters and cache key.
    ``demand`` (reorder): the demand source of :func:`forecasting.services.planning.demand_source`, whose model is
    the job's; with a published plan its overrides move every chunk's paths and the run records which plan
    (a plan is in the client's own bucket, so it is refused with ``bucket``).
    """
    from forecasting.services.data_access import DataFingerprint
    from forecasting.services.forecast_service import client_view, run_request

    started = perf_counter()
    data = services.data
    client = data.get_client(client_id)
    if client.as_of is None:
        raise ForecastingError("the client has no sales yet: import a sales file first")
    models = _models(job)
    view = client_view(client, bucket)
    if view.code is not None and demand is not None and demand.plan is not None:
        raise InvalidInputError("the published plan is in the data's own bucket: name a model (--model) to plan "
                                "daily data in weeks or months")
    inventory, skipped = None, []
    if job.kind == "reorder":
        inventory, skipped = services.forecasts.positions(client_id, item_ids, models[0].min_history_days, {}, view)
        inventory = inventory.drop(columns="as_of")
        if job.service_type is not None:
            inventory["service_type"] = job.service_type
        keys = data.item_keys(client_id, inventory["item_id"].tolist())
    elif item_ids is not None:
        keys = data.item_keys(client_id, item_ids)
    else:
        pages = list(data.item_key_pages(client_id, KEY_PAGE))
        if not pages:
            raise ForecastingError("the client has no sales yet: import a sales file first")
        keys = pd.concat(pages, ignore_index=True).sort_values("external_id", kind="stable", ignore_index=True)
    fingerprint = DataFingerprint(client.as_of, client.freq, client.calendar_version)
    for s in slices(len(keys), KEY_PAGE):
        fingerprint.add(keys.iloc[s])
    horizon = _horizon(job, models, inventory, view.bucket)
    names = ",".join(m.name for m in models)
    versions = ",".join(str(m.version) for m in models)
    parameters: dict = {}
    if job.kind == "backtest":
        parameters = {"windows": job.windows}
    elif job.kind == "reorder":
        parameters = {k: v for k, v in {"service_level": job.service_level, "service_type": job.service_type}.items()
                      if v is not None}
        if demand is not None and demand.plan is not None:
            parameters["plan"] = demand.key
            names = demand.label
    parameters.update(view.parameters)
    levels = job.quantiles if job.kind != "reorder" else ()
    request = run_request(job.kind, tuple(keys["external_id"]), names, versions, horizon, levels, parameters,
                          fingerprint.hexdigest(), user_id)
    covariates = used_covariates(models[0], *data.covariate_names(client_id)) if job.kind == "forecast" else None
    if job.kind == "forecast":
        source_run = data.cached_run(client_id, request.cache_key)
        if source_run is not None:
            return replace(_cached_forecast(services, client_id, request, source_run, keys, job, output, progress,
                                            started, lambda frame: with_covariates(frame, models[0], covariates)),
                           freq=view.bucket)
    run_id, _ = data.record_run(client_id, request)
    try:
        source = DatabaseSource(
            database_url(services.database), client_id, client.as_of, run_id if job.kind == "forecast" else None,
            job.quantiles, view.bucket, view.code,
        )
        chunks = [
            Chunk(i, keys["external_id"].to_numpy(dtype=object)[s], keys=keys.iloc[s].reset_index(drop=True),
                  inventory=None if inventory is None else _rows_of(inventory, keys["external_id"].to_numpy()[s]))
            for i, s in enumerate(slices(len(keys), job.chunk_items))
        ]
        with work_dir() as work:
            policy = data.policy(client_id) if job.kind == "reorder" else None
            arrivals = data.arrivals(client_id) if job.kind == "reorder" else None
            calendar, categories = None, None
            if job.kind != "reorder" and any(m.uses_known_future for m in models):  # the client's calendar
                held_out = horizon * job.windows if job.kind == "backtest" else 0
                calendar = data.known_future(client_id, keys["external_id"].tolist(), horizon, held_out, view.code)
            if job.kind != "reorder" and any(m.uses_item_attributes for m in models):  # as the service's requests
                categories = dict(zip(keys["external_id"], keys["category"]))
            context = ChunkContext(job, models, source, horizon, calendar=calendar, policy=policy, arrivals=arrivals,
                                   covariates=covariates, demand=demand, categories=categories)
            _run_and_write(context, chunks, engine, work / "results", output, progress,
                           lambda: _unchanged(data, client_id, client.data_version))
        data.complete_run(client_id, run_id, perf_counter() - started)
    except BaseException as exc:
        message = _message(exc)
        data.fail_run(client_id, run_id, perf_counter() - started, message)
        if isinstance(exc, ForecastingError) or not isinstance(exc, Exception):
            raise
        raise ForecastingError(f"run {run_id} failed: {message}") from exc
    return BatchOutcome(run_id, False, tuple(skipped), view.bucket)


def _classes_over_chunks(context: ChunkContext, chunks: list[Chunk]) -> pd.DataFrame:
    """Every item's classes with ABC ranked over all chunks (what one reorder over all items gives).

    XYZ and lifecycle are per item; ABC needs every item's value, so each
    chunk's history is read once more here, before the forecasts.
    """
    no_cost = any(c.inventory is not None and "unit_cost" in c.inventory
                  and c.inventory["unit_cost"].isna().any() for c in chunks)
    frames = []
    for chunk in chunks:
        inventory = chunk.inventory.assign(unit_cost=np.nan) if no_cost else chunk.inventory
        frames.append(classify_inventory(context.source.load(chunk, context.min_days), inventory, context.policy))
    classes = pd.concat(frames, ignore_index=True)
    classes["abc"] = abc_classes(classes["value_52w"].to_numpy(), (context.policy or ClassPolicy()).abc_thresholds)
    return classes


def database_url(database) -> str:
    """The URL workers open the same database with (password included: they need it)."""
    return database.url.render_as_string(hide_password=False)


def _cached_forecast(services, client_id, request, source_run, keys, job, output, progress, started,
                     labelled) -> BatchOutcome:
    """A forecast answered from a stored run: its results streamed out chunk by chunk, a cached run recorded."""
    data = services.data
    with TableWriter(output) as writer:
        done = 0
        for s in slices(len(keys), job.chunk_items):
            writer.write(labelled(data.results_of_keys(client_id, source_run.run_id, keys.iloc[s])))
            done += s.stop - s.start
            if progress:
                progress(done, len(keys))
    run_id, _ = data.record_run(client_id, request, source_run_id=source_run.run_id,
                                duration_s=perf_counter() - started)
    return BatchOutcome(run_id, True)


def _run_and_write(
    context: ChunkContext,
    chunks: list[Chunk],
    engine: str,
    folder: Path,
    output: str | Path | None,
    progress: ProgressCallback | None,
    before_output=None,
) -> None:
    """Run every chunk (with retries), then write the output in order from the chunks' parts."""
    folder.mkdir(parents=True, exist_ok=True)
    if context.job.kind == "reorder" and len(chunks) > 1:
        context = replace(context, classes=_classes_over_chunks(context, chunks))
    job = context.job
    parts: dict[int, Path] = {}
    sums: dict[int, pd.DataFrame] = {}
    attempts: Counter[int] = Counter()
    pending = deque(chunks)
    total = sum(len(c.item_ids) for c in chunks)
    done = running = 0
    with create_engine(engine, context) as workers:
        while pending or running:
            while pending and workers.has_capacity():
                workers.submit(pending.popleft())
                running += 1
            chunk, outcome = workers.next_done()
            running -= 1
            if isinstance(outcome, BaseException):
                attempts[chunk.index] += 1
                if isinstance(outcome, ForecastingError) or attempts[chunk.index] >= job.max_attempts:
                    raise ChunkFailed(f"{chunk.label} failed after {attempts[chunk.index]} attempt(s): "
                                      f"{_message(outcome)}") from outcome
                pending.appendleft(chunk)
                continue
            if len(outcome.table):
                parts[chunk.index] = folder / f"part-{chunk.index:06d}.arrow"
                write_part(outcome.table.sort_values(KEY, kind="stable"), parts[chunk.index])
            if outcome.sums is not None:
                sums[chunk.index] = outcome.sums
            done += len(chunk.item_ids)
            if progress:
                progress(done, total)
    if before_output is not None:
        before_output()
    with TableWriter(output) as writer:
        if job.kind == "backtest":
            writer.write(backtest_metrics([sums[i] for i in sorted(sums)], job.models, job.quantiles))
        else:
            merge_parts([parts[i] for i in sorted(parts)], writer.write)


def _unchanged(data, client_id: int, version: int) -> None:
    if data.data_version(client_id) != version:
        raise ForecastingError("the client's data changed while the job ran (an import or an item edit); run it again")


def _models(job: BatchJob) -> tuple[BaseForecastModel, ...]:
    """The job's models, each known and able to run here."""
    models = tuple(ModelFactory.create(name) for name in job.models)
    for model in models:
        status = model.availability()
        if not status.available:
            raise ModelUnavailableError(f"model {model.name} cannot run here: {status.reason}")
    return models


def _horizon(job: BatchJob, models: tuple[BaseForecastModel, ...], inventory: pd.DataFrame | None,
             freq: Frequency = DAILY) -> int:
    """The buckets every chunk forecasts: the job's horizon, or what the whole inventory needs."""
    if job.kind == "reorder":
        return InventoryCalculator.required_horizon(inventory, freq)
    return validate_horizon(job.horizon, min(*(m.max_horizon for m in models), freq.max_horizon), freq)


def _rows_of(inventory: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    return inventory.loc[inventory["item_id"].astype(str).isin(item_ids)].reset_index(drop=True)


def _message(exc: BaseException) -> str:
    if is_database_error(exc):  # its text may hold SQL: logged, not shown
        log.error("batch chunk failed in the database", exc_info=exc)
        return database_error_message(exc)
    return str(exc) if isinstance(exc, ForecastingError) else f"{type(exc).__name__}: {exc}"
