"""Forecast runs and their results: recording requests, storing and reading forecasts.

A run row is written when a request starts (status ``running``), and its
results plus the final status are written together in one transaction when
the model returns, so a failed or interrupted run never leaves partial
results. A request answered from the cache is recorded as a ``cached`` row
pointing at the computed run whose results it reused, without the item list
(the computed run holds it): one row per computed run and user, which each
repeat moves to the time of its answer and counts in ``times_served``, so
that cached answers cannot grow the history without bound.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, update

from forecasting.core.calendar import Frequency
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.core.history import day_numbers_to_dates
from forecasting.core.models.base import quantile_column
from forecasting.storage import bulk, reads
from forecasting.storage.models import (
    Client,
    ExceptionRow,
    ForecastChoice,
    ForecastResult,
    ForecastRun,
    Item,
    User,
    utcnow,
)
from forecasting.storage.plans import plan_retention_days, protected_runs

_runs = ForecastRun.__table__
_results = ForecastResult.__table__
_choices = ForecastChoice.__table__
_exceptions = ExceptionRow.__table__
_items = Item.__table__
#: the tables that hold a forecast run's results (what the storage quota removes)
RESULT_TABLES = ("forecast_results", "forecast_choices")
#: the per-item columns of a forecast frame that are stored with the run (auto's choice)
CHOICE_COLUMNS = ("chosen_model", "choice")
_users = User.__table__
#: how many item ids the run list shows per run before "+N more"
LISTED_ITEMS = 10
RUN_COLUMNS = [
    "run_id", "created_at", "user", "kind", "model", "model_version", "items", "n_items", "horizon", "quantiles",
    "duration_s", "training_s", "cached", "times_served", "source_run_id", "status", "error", "chosen_models",
]
#: how many of a run's chosen models the run list names before "+N more"
LISTED_CHOICES = 4


@dataclass(frozen=True)
class RunInfo:
    """One stored run, as the app, the API and the CLI show it."""

    run_id: int
    client_id: int
    user_id: int | None
    kind: str
    created_at: datetime
    model: str
    model_version: str
    horizon: int
    quantiles: tuple[float, ...]
    parameters: dict
    item_ids: tuple[str, ...]
    status: str
    cached: bool
    source_run_id: int | None
    duration_s: float | None
    error: str | None
    data_fingerprint: str
    cache_key: str
    #: when the stored results were removed (storage quota or pruning), else None
    results_removed_at: datetime | None = None
    #: of ``duration_s``, the seconds spent training models (the global model); None: nothing was trained
    training_s: float | None = None


@dataclass(frozen=True)
class RunRequest:
    """What identifies a request: everything the cache key is made of, plus who asked."""

    kind: str
    model: str
    model_version: str
    horizon: int
    quantiles: tuple[float, ...]
    item_ids: tuple[str, ...]
    parameters: dict
    data_fingerprint: str
    cache_key: str
    user_id: int | None = None


def start_run(
    conn: Connection,
    client_id: int,
    request: RunRequest,
    *,
    status: str = "running",
    source_run_id: int | None = None,
    duration_s: float | None = None,
) -> tuple[int, datetime]:
    """Insert a run row; returns its id and creation time. A cached one (with ``source_run_id``) stores no item
    list: its source's is the same."""
    created_at = utcnow()
    run_id = conn.execute(
        insert(_runs)
        .values(
            client_id=client_id,
            user_id=request.user_id,
            kind=request.kind,
            created_at=created_at,
            model=request.model,
            model_version=request.model_version,
            horizon=request.horizon,
            quantiles=json.dumps(list(request.quantiles)),
            parameters=json.dumps(request.parameters, sort_keys=True),
            item_ids=json.dumps([] if source_run_id is not None else list(request.item_ids)),
            n_items=len(request.item_ids),
            data_fingerprint=request.data_fingerprint,
            cache_key=request.cache_key,
            status=status,
            cached=source_run_id is not None,
            source_run_id=source_run_id,
            duration_s=duration_s,
        )
        .returning(_runs.c.id)
    ).scalar_one()
    return int(run_id), created_at


def record_cached(
    conn: Connection, client_id: int, request: RunRequest, source_run_id: int, duration_s: float | None
) -> tuple[int, datetime]:
    """Record a request answered from ``source_run_id``'s results; returns the cached row's id and time.

    The user's earlier cached row of the same computed run is moved to now and counted once more; only the
    first answer inserts one, and it stores no item list (it reads its source's).
    """
    now = utcnow()
    same = (_runs.c.client_id == client_id, _runs.c.cache_key == request.cache_key,  # the (client, key) index
            _runs.c.source_run_id == source_run_id, _runs.c.cached.is_(True),
            _runs.c.user_id.is_not_distinct_from(request.user_id))
    existing = conn.execute(select(func.max(_runs.c.id)).where(*same)).scalar()
    if existing is not None:
        conn.execute(
            update(_runs).where(_runs.c.id == existing)
            .values(created_at=now, duration_s=duration_s, times_served=_runs.c.times_served + 1)
        )
        return int(existing), now
    return start_run(conn, client_id, request, status="succeeded", source_run_id=source_run_id,
                     duration_s=duration_s)


def end_run(conn: Connection, client_id: int, run_id: int, duration_s: float, error: str | None = None,
            training_s: float | None = None) -> bool:
    """Mark a running run succeeded, or failed with ``error``; False if it was no longer running (recovery
    marked it failed: its process was taken for dead)."""
    return conn.execute(
        update(_runs)
        .where(_runs.c.id == run_id, _runs.c.client_id == client_id, _runs.c.status == "running")
        .values(status="failed" if error else "succeeded", duration_s=duration_s, error=error, training_s=training_s)
    ).rowcount == 1


def take_lease(conn: Connection, run_id: int, owner: str, now: datetime) -> None:
    """Record the process computing a run (``host:pid:start``) and its first heartbeat."""
    conn.execute(update(_runs).where(_runs.c.id == run_id).values(owner=owner, heartbeat_at=now))


def refresh_leases(conn: Connection, run_ids: Sequence[int], owner: str, now: datetime) -> None:
    """The heartbeat of runs this process still computes (its lease on them is renewed)."""
    for chunk in bulk.chunks(list(run_ids)):
        conn.execute(update(_runs).where(_runs.c.id.in_(chunk), _runs.c.owner == owner,
                                         _runs.c.status == "running").values(heartbeat_at=now))


def running_runs(conn: Connection) -> list:
    """Every client's ``running`` runs: ``id, client_id, owner, heartbeat_at, created_at`` (for recovery)."""
    return conn.execute(
        select(_runs.c.id, _runs.c.client_id, _runs.c.owner, _runs.c.heartbeat_at, _runs.c.created_at)
        .where(_runs.c.status == "running")
        .order_by(_runs.c.id)
    ).all()


def fail_abandoned(conn: Connection, client_id: int, run_id: int, error: str, lease_before: datetime | None) -> bool:
    """Mark a running run failed and remove what it stored; whether it was still running.

    ``lease_before``: only if its last heartbeat (else its start) is older (the owner's liveness is unknown).
    """
    query = update(_runs).where(_runs.c.id == run_id, _runs.c.client_id == client_id, _runs.c.status == "running")
    if lease_before is not None:
        query = query.where(func.coalesce(_runs.c.heartbeat_at, _runs.c.created_at) < lease_before)
    if conn.execute(query.values(status="failed", error=error)).rowcount != 1:
        return False
    delete_results(conn, client_id, [run_id])
    return True


def lock_running(conn: Connection, client_id: int, run_id: int) -> bool:
    """Whether the client's run is still ``running``, its row locked until the transaction ends (PostgreSQL).

    A batch chunk stores its results only then: a worker that finishes after its job failed writes nothing.
    """
    status = conn.execute(
        select(_runs.c.status).where(_runs.c.id == run_id, _runs.c.client_id == client_id).with_for_update()
    ).scalar_one_or_none()
    if status is None:
        raise NotFoundError(f"run {run_id} not found for this client")
    return status == "running"


def find_cached(conn: Connection, client_id: int, cache_key: str) -> RunInfo | None:
    """The newest computed, successful run of the client with this cache key, if any."""
    row = conn.execute(
        select(_runs)
        .where(
            _runs.c.client_id == client_id,
            _runs.c.cache_key == cache_key,
            _runs.c.status == "succeeded",
            _runs.c.cached.is_(False),
            _runs.c.results_removed_at.is_(None),
        )
        .order_by(_runs.c.id.desc())
        .limit(1)
    ).mappings().first()
    return None if row is None else _run_info(row)


def write_results(
    conn: Connection, run_id: int, item_pk: np.ndarray, day: np.ndarray, forecast: np.ndarray, quantiles: np.ndarray
) -> None:
    """Store one row per (item, day): the point forecast and the quantiles ([rows, levels]).

    Rows the run already holds for these items are replaced (a batch chunk written again after a retry).
    PostgreSQL: binary COPY; SQLite: one executemany.
    """
    if not (np.isfinite(forecast).all() and np.isfinite(quantiles).all()):
        raise ForecastingError("the model returned non-finite forecast values; nothing was stored")
    for chunk in bulk.chunks(np.unique(item_pk).tolist()):
        conn.execute(delete(_results).where(_results.c.run_id == run_id, _results.c.item_id.in_(chunk)))
        conn.execute(delete(_choices).where(_choices.c.run_id == run_id, _choices.c.item_id.in_(chunk)))
    packed = np.ascontiguousarray(quantiles, dtype="<f8")
    if conn.dialect.name == "postgresql":
        bulk.copy_in(
            conn, "forecast_results", ("run_id", "item_id", "date", "forecast", "quantiles"),
            ("int4", "int4", "date", "float8", np.dtype(("<f8", (packed.shape[1],)))),
            (np.full(len(forecast), run_id), item_pk, day, forecast, packed),
        )
        return
    width = packed.shape[1] * 8
    raw = packed.tobytes()
    blobs = [raw[i : i + width] for i in range(0, len(raw), width)] if width else [b""] * len(forecast)
    bulk.executemany(
        conn,
        "INSERT INTO forecast_results (run_id, item_id, date, forecast, quantiles) VALUES (?, ?, ?, ?, ?)",
        zip([run_id] * len(blobs), item_pk.tolist(), bulk.day_strings(day), forecast.tolist(), blobs),
    )


def remove_results_beyond(conn: Connection, client_id: int, keep_values: int, now: datetime) -> list[int]:
    """Remove the stored results of the client's older forecast runs beyond ``keep_values`` values; their ids.

    Runs are kept newest first while their values (items x days x (levels
    + 1)) add up to at most ``keep_values``; the newest run is always kept.
    The removed runs stay in the history with ``results_removed_at`` set.
    """
    rows = conn.execute(
        select(_runs.c.id, _runs.c.n_items, _runs.c.horizon, _runs.c.quantiles)
        .where(_runs.c.client_id == client_id, _runs.c.kind == "forecast", _runs.c.status == "succeeded",
               _runs.c.cached.is_(False), _runs.c.results_removed_at.is_(None),
               _runs.c.id.not_in(_kept_plans(conn, client_id, now)))
        .order_by(_runs.c.id.desc())
    ).all()
    total, removed = 0, []
    for position, row in enumerate(rows):
        total += row.n_items * row.horizon * (len(json.loads(row.quantiles)) + 1)
        if position and total > keep_values:
            removed.append(int(row.id))
    for chunk in bulk.chunks(removed):
        delete_results(conn, client_id, chunk)
        conn.execute(update(_runs).where(_runs.c.id.in_(chunk)).values(results_removed_at=now))
    return removed


def prune_runs(conn: Connection, client_id: int, before: datetime) -> int:
    """Delete the client's runs created before ``before``, with their results; how many were deleted."""
    return conn.execute(delete(_runs).where(_runs.c.client_id == client_id, _runs.c.created_at < before,
                                            _runs.c.id.not_in(_kept_plans(conn, client_id, utcnow())))).rowcount


def _kept_plans(conn: Connection, client_id: int, now: datetime):
    """The client's published plans' runs of the last :func:`plan_retention_days` of its bucket: never counted or
    removed (forecast value added scores them; docs/planning.md)."""
    freq = conn.execute(select(Client.__table__.c.sales_freq).where(Client.__table__.c.id == client_id)).scalar()
    return protected_runs(client_id, now - timedelta(days=plan_retention_days(Frequency.parse(freq))))


def delete_results(conn: Connection, client_id: int, run_ids: Sequence[int]) -> None:
    """Remove what the client's runs stored (a failed batch run keeps no partial results; the quota removes
    old ones)."""
    owned = select(_runs.c.id).where(_runs.c.id.in_(run_ids), _runs.c.client_id == client_id)
    conn.execute(delete(_results).where(_results.c.run_id.in_(owned)))
    conn.execute(delete(_choices).where(_choices.c.run_id.in_(owned)))


def write_choices(conn: Connection, run_id: int, item_pk: np.ndarray, model: np.ndarray, reason: np.ndarray) -> None:
    """Store the model each item of the run got, and why (one row per item)."""
    conn.execute(
        insert(_choices),
        [
            {"run_id": run_id, "item_id": int(pk), "model": str(m), "reason": str(r)}
            for pk, m, r in zip(item_pk.tolist(), model, reason)
        ],
    )


def _read_choices(conn: Connection, run_id: int, pks: np.ndarray | None = None) -> dict[int, tuple[str, str]]:
    query = select(_choices.c.item_id, _choices.c.model, _choices.c.reason).where(_choices.c.run_id == run_id)
    if pks is None:
        rows = conn.execute(query).all()
    else:
        rows = [row for chunk in bulk.chunks(pks.tolist())
                for row in conn.execute(query.where(_choices.c.item_id.in_(chunk))).all()]
    return {row.item_id: (row.model, row.reason) for row in rows}


def read_results(conn: Connection, run: RunInfo, keys: pd.DataFrame, only: bool = False) -> pd.DataFrame:
    """The forecast frame (docs/data-formats.md) for a computed run of the client, items by id then date.

    ``run`` must come from :func:`get_run` (which checks the client) and ``keys``
    (``external_id, pk``, sorted by external id) must hold the run's items;
    ``only``: read just the items of ``keys`` (a batch job reads a run a chunk at a time).
    """
    levels = len(run.quantiles)
    wanted = keys["pk"].to_numpy(dtype=np.int64) if only else None
    if conn.dialect.name == "postgresql":
        pks, days, forecast, values = bulk.copy_out(
            conn,
            "SELECT item_id, date - DATE '1970-01-01', forecast, quantiles FROM forecast_results "
            "WHERE run_id = %(run)s" + (" AND item_id = ANY(%(pks)s)" if only else "") + " ORDER BY item_id, date",
            {"run": run.run_id, "pks": None if wanted is None else wanted.tolist()},
            ("int4", "int4", "float8", np.dtype(("<f8", (levels,)))),
        )
    else:
        sql = ("SELECT item_id, CAST(julianday(date) - 2440587.5 AS INTEGER), forecast, quantiles "
               "FROM forecast_results WHERE run_id = ?")
        cursor = conn.connection.cursor()
        try:
            if wanted is None:
                rows = cursor.execute(sql + " ORDER BY item_id, date", (run.run_id,)).fetchall()
            else:
                rows = []
                for chunk in bulk.chunks(np.sort(wanted).tolist()):
                    rows += cursor.execute(sql + f" AND item_id IN ({','.join('?' * len(chunk))}) "
                                           "ORDER BY item_id, date", (run.run_id, *chunk)).fetchall()
        finally:
            cursor.close()
        pks, days, forecast, blobs = (list(c) for c in zip(*rows)) if rows else ([], [], [], [])
        values = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(rows), levels)
    rank = reads.key_rank(keys, pks)
    order = np.argsort(rank, kind="stable")  # rows come by (pk, date): reorder items by external id
    data: dict[str, object] = {
        "item_id": keys["external_id"].to_numpy(dtype=object)[rank[order]],
        "date": day_numbers_to_dates(np.asarray(days, dtype=np.int64)[order]),
        "model": run.model,
        "forecast": np.asarray(forecast, dtype=np.float64)[order],
    }
    values = np.asarray(values, dtype=np.float64).reshape(len(order), levels)[order]
    for j, level in enumerate(run.quantiles):
        data[quantile_column(level)] = values[:, j]
    choices = _read_choices(conn, run.run_id, wanted)
    if choices:
        item_pk = np.asarray(pks, dtype=np.int64)[order]
        data["chosen_model"] = np.array([choices[pk][0] for pk in item_pk.tolist()], dtype=object)
        data["choice"] = np.array([choices[pk][1] for pk in item_pk.tolist()], dtype=object)
    return pd.DataFrame(data)


def get_run(conn: Connection, client_id: int, run_id: int) -> RunInfo:
    """A run of the client; another client's run is not found, like a missing one."""
    source = _runs.alias("source")
    row = conn.execute(
        select(_runs, source.c.item_ids.label("source_item_ids"))
        .outerjoin(source, source.c.id == _runs.c.source_run_id)
        .where(_runs.c.id == run_id, _runs.c.client_id == client_id)
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"run {run_id} not found for this client")
    return _run_info(row)


def _run_info(row) -> RunInfo:
    return RunInfo(
        run_id=row["id"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        created_at=row["created_at"],
        model=row["model"],
        model_version=row["model_version"],
        horizon=row["horizon"],
        quantiles=tuple(json.loads(row["quantiles"])),
        parameters=json.loads(row["parameters"]),
        item_ids=tuple(json.loads(_item_ids(row))),
        status=row["status"],
        cached=bool(row["cached"]),
        source_run_id=row["source_run_id"],
        duration_s=row["duration_s"],
        error=row["error"],
        data_fingerprint=row["data_fingerprint"],
        cache_key=row["cache_key"],
        results_removed_at=row["results_removed_at"],
        training_s=row["training_s"],
    )


def _item_ids(row) -> str:
    """The run's item list as stored: a cached run's is its source's (``source_item_ids``; none once pruned)."""
    if row["cached"]:
        return row.get("source_item_ids") or "[]"
    return row["item_ids"]


def list_runs(conn: Connection, client_id: int, limit: int = 50) -> pd.DataFrame:
    """The client's newest runs first (:data:`RUN_COLUMNS`): who, when, what, how long, cached, outcome."""
    source = _runs.alias("source")
    rows = conn.execute(
        select(_runs, _users.c.username, source.c.item_ids.label("source_item_ids"))
        .outerjoin(_users, _users.c.id == _runs.c.user_id)
        .outerjoin(source, source.c.id == _runs.c.source_run_id)
        .where(_runs.c.client_id == client_id)
        .order_by(_runs.c.created_at.desc(), _runs.c.id.desc())  # the (client_id, created_at) index
        .limit(limit)
    ).mappings().all()
    chosen = _chosen_summary(conn, [r["source_run_id"] or r["id"] for r in rows])
    return pd.DataFrame(
        [
            {
                "run_id": r["id"],
                "created_at": r["created_at"],
                "user": r["username"] or "",
                "kind": r["kind"],
                "model": r["model"],
                "model_version": r["model_version"],
                "items": _listed(json.loads(_item_ids(r))),
                "n_items": r["n_items"],
                "horizon": r["horizon"],
                "quantiles": ",".join(f"{q:g}" for q in json.loads(r["quantiles"])),
                "duration_s": r["duration_s"],
                "training_s": r["training_s"],
                "cached": bool(r["cached"]),
                "times_served": r["times_served"],
                "source_run_id": r["source_run_id"],
                "status": r["status"],
                "error": r["error"] or "",
                "chosen_models": chosen.get(r["source_run_id"] or r["id"], ""),
            }
            for r in rows
        ],
        columns=RUN_COLUMNS,
    ).astype({"source_run_id": "Int64"})


def _chosen_summary(conn: Connection, run_ids: Sequence[int]) -> dict[int, str]:
    """'weekly-ses 40, ses(alpha=0.01) 25, ...' per run that stored per-item choices (most chosen first)."""
    counts: dict[int, list[tuple[str, int]]] = {}
    for chunk in bulk.chunks(sorted(set(run_ids))):
        query = (
            select(_choices.c.run_id, _choices.c.model, func.count())
            .where(_choices.c.run_id.in_(chunk))
            .group_by(_choices.c.run_id, _choices.c.model)
        )
        for run_id, model, n in conn.execute(query):
            counts.setdefault(run_id, []).append((model, int(n)))
    out = {}
    for run_id, pairs in counts.items():
        pairs.sort(key=lambda p: (-p[1], p[0]))
        text = ", ".join(f"{m} {n}" for m, n in pairs[:LISTED_CHOICES])
        more = len(pairs) - LISTED_CHOICES
        out[run_id] = text + (f" (+{more} more)" if more > 0 else "")
    return out


def _listed(ids: Sequence[str]) -> str:
    shown = ",".join(ids[:LISTED_ITEMS])
    return shown if len(ids) <= LISTED_ITEMS else f"{shown} (+{len(ids) - LISTED_ITEMS} more)"



def write_exceptions(conn: Connection, run_id: int, item_pk: np.ndarray, queue: pd.DataFrame) -> None:
    """Store an exception queue (ranked rows; ``item_pk`` the items' keys in the queue's order)."""
    if not len(queue):
        return
    conn.execute(
        insert(_exceptions),
        [
            {"run_id": run_id, "rank": int(rank), "item_id": int(pk), "reason": reason, "detail": detail,
             "units": float(units), "other_reasons": others or ""}
            for rank, pk, reason, detail, units, others in zip(
                queue["rank"], item_pk.tolist(), queue["reason"], queue["detail"], queue["units"],
                queue["other_reasons"].fillna(""),
            )
        ],
    )


def read_exceptions(conn: Connection, client_id: int, run_id: int) -> pd.DataFrame:
    """A stored queue with the items' current names, categories and unit costs (the value at risk uses them)."""
    rows = conn.execute(
        select(_exceptions.c.rank, _items.c.external_id, _items.c.name, _items.c.category, _exceptions.c.reason,
               _exceptions.c.detail, _exceptions.c.units, _items.c.unit_cost, _exceptions.c.other_reasons)
        .join(_items, _items.c.id == _exceptions.c.item_id)
        .where(_exceptions.c.run_id == run_id, _items.c.client_id == client_id)
        .order_by(_exceptions.c.rank)
    ).all()
    frame = pd.DataFrame(rows, columns=["rank", "item_id", "name", "category", "reason", "detail", "units",
                                        "unit_cost", "other_reasons"])
    frame["unit_cost"] = frame["unit_cost"].astype(float)
    frame.insert(8, "value_at_risk", frame["units"] * frame["unit_cost"])
    return frame


def latest_forecast_run(conn: Connection, client_id: int) -> int:
    """The id of the client's newest computed forecast run (0 without any): stored forecasts change with it."""
    return int(conn.execute(
        select(func.coalesce(func.max(_runs.c.id), 0)).where(
            _runs.c.client_id == client_id, _runs.c.kind == "forecast", _runs.c.status == "succeeded",
            _runs.c.cached.is_(False))
    ).scalar_one())


def stored_forecasts(conn: Connection, client_id: int, since: date, until: date) -> pd.DataFrame:
    """``item_id, date, forecast``: for each item and day from ``since`` to ``until``, the point forecast of the
    newest computed forecast run that covered it (runs forecast days after their data ended: made beforehand)."""
    rows = conn.execute(
        select(_items.c.external_id, _results.c.date, _results.c.forecast, _results.c.run_id)
        .join(_runs, _runs.c.id == _results.c.run_id)
        .join(_items, _items.c.id == _results.c.item_id)
        .where(_runs.c.client_id == client_id, _items.c.client_id == client_id, _runs.c.kind == "forecast",
               _runs.c.status == "succeeded", _results.c.date >= since, _results.c.date <= until)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "forecast", "run_id"])
    frame["date"] = pd.to_datetime(frame["date"])
    newest = frame.sort_values("run_id").drop_duplicates(["item_id", "date"], keep="last")
    return newest.drop(columns="run_id").sort_values(["item_id", "date"]).reset_index(drop=True)
