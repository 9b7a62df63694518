"""Tenant-scoped access to everything stored: clients, items, sales, inventory, runs.

Every method that touches tenant data takes the client id first and filters on
it, so ids of another client behave exactly like ids that do not exist
(:class:`NotFoundError`), never like data. Item ids are the client's own
(``item_id`` of the CSV files). Imports are validated in full before anything
is written and then written in one transaction (see
:mod:`forecasting.storage.imports`).
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.inventory.inventory_input import listed, validate_inventory
from forecasting.core.errors import ForecastingError, InvalidInputError, NotFoundError, RowProblem
from forecasting.core.history import day_numbers_to_dates, prepare_history, to_day_numbers
from forecasting.core.models.base import MAX_HORIZON, quantile_column
from forecasting.storage import bulk, imports, reads, runs
from forecasting.storage.database import Database
from forecasting.storage.imports import ImportResult
from forecasting.storage.models import Client, Item, User
from forecasting.storage.reads import ITEM_COLUMNS
from forecasting.storage.runs import RunInfo, RunRequest

MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 200
MAX_COVARIATE_NAME = 100
INVENTORY_COLUMNS = [
    "item_id", "on_hand", "on_order", "lead_time_days", "review_period_days", "service_level", "moq", "pack_size",
    "unit_cost", "name", "category", "as_of",
]
_clients = Client.__table__
_users = User.__table__
_items = Item.__table__

Source = str | Path | BinaryIO


@dataclass(frozen=True)
class ClientInfo:
    client_id: int
    name: str
    data_version: int


@dataclass(frozen=True)
class CacheLookup:
    """A forecast request's fingerprint and cache key, and the stored run answering it (if any)."""

    fingerprint: str
    cache_key: str
    item_ids: tuple[str, ...]
    run: RunInfo | None
    forecast: pd.DataFrame | None


@dataclass(frozen=True)
class HistorySnapshot:
    """History of some items and the fingerprint of exactly that data (read in one snapshot)."""

    frame: pd.DataFrame
    fingerprint: str
    item_ids: tuple[str, ...]


class DataAccess:
    """The one way services and the app reach stored data; every tenant method takes ``client_id``."""

    def __init__(self, database: Database):
        self.database = database

    # --- clients -------------------------------------------------------------------------

    def create_client(self, name: str) -> ClientInfo:
        """A new client (tenant); names are unique."""
        name = _text(name, "client name", required=True)
        try:
            with self.database.write() as conn:
                client_id = conn.execute(insert(_clients).values(name=name).returning(_clients.c.id)).scalar_one()
        except IntegrityError:
            raise ForecastingError(f"a client named {name!r} already exists") from None
        return ClientInfo(int(client_id), name, 0)

    def get_client(self, client_id: int) -> ClientInfo:
        with self.database.read() as conn:
            return _client(conn, client_id)

    def client_by_name(self, name: str) -> ClientInfo:
        """The client called ``name`` (for the CLI, whose users know their client by name)."""
        with self.database.read() as conn:
            row = conn.execute(select(_clients).where(_clients.c.name == str(name).strip())).mappings().first()
        if row is None:
            raise NotFoundError(f"client {name!r} not found")
        return ClientInfo(row["id"], row["name"], row["data_version"])

    def data_version(self, client_id: int) -> int:
        """Changes on every import or item edit of the client: a cache key for the app."""
        return self.get_client(client_id).data_version

    # --- items ---------------------------------------------------------------------------

    def list_items(
        self, client_id: int, item_ids: Sequence[str] | None = None, category: str | None = None
    ) -> pd.DataFrame:
        """Items with parameters, latest stock position and sales figures (:data:`ITEM_COLUMNS`).

        ``first_date``/``last_date``/``total_quantity`` cover all sales;
        ``recent_quantity`` the last 28 days up to the client's last sales date
        (for "top N by volume"). Named items that do not exist are a NotFoundError.
        """
        ids = None if item_ids is None else normalise_item_ids(item_ids)
        with self.database.read(snapshot=True) as conn:
            _client(conn, client_id)
            if ids is not None:
                _resolve(conn, client_id, ids)
            frame = reads.items_table(conn, client_id, ids, category)
        return frame[ITEM_COLUMNS]

    def categories(self, client_id: int) -> list[str]:
        with self.database.read() as conn:
            _client(conn, client_id)
            return reads.categories(conn, client_id)

    def update_item(self, client_id: int, item_id: str, **params: object) -> None:
        """Change an item's name, category, unit cost or replenishment parameters (validated)."""
        self.update_items(client_id, {item_id: params})

    def update_items(self, client_id: int, changes: Mapping[str, Mapping[str, object]]) -> int:
        """Change several items' parameters all or nothing; returns how many items changed.

        ``changes`` maps item id to ``{parameter: value}`` (as :meth:`update_item`
        takes them). Every change is checked before anything is written, and one
        error names every bad item and field; unknown items (another client's
        included) are a NotFoundError. All changes go in one transaction, which
        bumps the data version once.
        """
        if not changes:
            raise ForecastingError("nothing to update: no item changes given")
        problems: dict[str, list[str]] = {}
        values: dict[str, dict[str, object]] = {}
        for item_id, params in changes.items():
            values[str(item_id)], problems[str(item_id)] = _item_params(dict(params))
        with self.database.write() as conn:
            keys = _resolve(conn, client_id, list(values))
            pk_of = dict(zip(keys["external_id"].tolist(), keys["pk"].tolist()))
            for item_id, problem in _horizon_problems(conn, client_id, pk_of, values, problems).items():
                problems[item_id].append(problem)
            bad = sorted(item_id for item_id, found in problems.items() if found)
            if bad:
                detail = "; ".join(f"item {i}: {', '.join(problems[i])}" for i in bad[:InvalidInputError.MAX_LISTED])
                more = len(bad) - InvalidInputError.MAX_LISTED
                detail += f" (and {more} more items)" if more > 0 else ""
                raise ForecastingError(f"bad item changes: {detail}")
            _write_item_values(conn, client_id, pk_of, values)
            imports.bump_data_version(conn, client_id)
        return len(values)

    # --- sales and inventory ---------------------------------------------------------------

    def history(self, client_id: int, item_ids: Sequence[str], start: date | None = None) -> pd.DataFrame:
        """Long frame ``item_id, date, quantity, <covariates>`` of the items, missing days filled with 0.

        Items come sorted by id, each from its first day (or ``start``) to its last sales day.
        """
        return self.history_snapshot(client_id, item_ids, start).frame

    def history_snapshot(self, client_id: int, item_ids: Sequence[str], start: date | None = None) -> HistorySnapshot:
        """History plus the fingerprint of that very data (the forecast cache key), from one snapshot."""
        ids = normalise_item_ids(item_ids)
        with self.database.read(snapshot=True) as conn:
            keys = _resolve(conn, client_id, ids)
            frame = _history_frame(conn, client_id, keys, start)
        return HistorySnapshot(frame, _fingerprint(keys), tuple(keys["external_id"]))

    def inventory(self, client_id: int, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Latest stock position and parameters (the inventory CSV's columns plus ``as_of``).

        All items with a position, or the named ones (each must have one).
        """
        items = self.list_items(client_id, item_ids)
        has_position = items["on_hand"].notna().to_numpy() & items["lead_time_days"].notna().to_numpy()
        if item_ids is not None and not has_position.all():
            missing = items["item_id"].to_numpy()[~has_position]
            raise ForecastingError(
                f"no inventory position for item(s) {listed(missing)}: import an inventory file first"
            )
        frame = items.loc[has_position].rename(columns={"inventory_as_of": "as_of"})
        frame = frame.astype({"lead_time_days": np.int64, "review_period_days": np.int64})
        return frame[INVENTORY_COLUMNS].reset_index(drop=True)

    def import_sales(
        self, client_id: int, source: Source | pd.DataFrame, max_bytes: int | None = None, max_rows: int | None = None
    ) -> ImportResult:
        """Validate a sales CSV (or frame) in full, then upsert it in one transaction."""
        if isinstance(source, pd.DataFrame):
            frame = validate_sales_frame(source)
        else:
            from forecasting.io.sales_csv import read_sales_csv

            frame = read_sales_csv(source, max_bytes=max_bytes, max_rows=max_rows)
        _check_names(frame)
        with self.database.write() as conn:
            return imports.write_sales(conn, client_id, frame)

    def import_inventory(
        self,
        client_id: int,
        source: Source | pd.DataFrame,
        as_of: date | None = None,
        default_service_level: float = 0.95,
        max_bytes: int | None = None,
        max_rows: int | None = None,
    ) -> ImportResult:
        """Validate an inventory CSV (or frame) in full, then store parameters and positions as of ``as_of`` (today)."""
        if isinstance(source, pd.DataFrame):
            frame = source
        else:
            from forecasting.io.inventory_csv import read_inventory_csv

            frame = read_inventory_csv(source, default_service_level, max_bytes=max_bytes, max_rows=max_rows)
        inventory = validate_inventory(frame)
        InventoryCalculator.required_horizon(frame)  # lead time + review period within the longest forecast
        negative = inventory.on_hand < 0
        if negative.any():
            raise InvalidInputError(
                f"inventory on_hand must be >= 0; bad for item(s) {listed(inventory.item_ids[negative])}"
            )
        for label, values, limit in (
            ("item_id", inventory.item_ids, MAX_ID_LENGTH),
            ("name", inventory.name, MAX_TEXT_LENGTH),
            ("category", inventory.category, MAX_TEXT_LENGTH),
        ):
            _check_length(label, values, limit)
        as_of = as_of or datetime.now(timezone.utc).date()
        with self.database.write() as conn:
            return imports.write_inventory(conn, client_id, inventory, as_of)

    # --- runs ----------------------------------------------------------------------------

    def list_runs(self, client_id: int, limit: int = 50) -> pd.DataFrame:
        """The client's newest runs first: who, when, model, items, horizon, duration, cached, status, error."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ForecastingError(f"limit must be a whole number >= 1, got {limit!r}")
        with self.database.read() as conn:
            _client(conn, client_id)
            return runs.list_runs(conn, client_id, limit)

    def get_run(self, client_id: int, run_id: int) -> RunInfo:
        with self.database.read() as conn:
            return runs.get_run(conn, client_id, _whole(run_id, "run id"))

    def lookup_forecast(
        self, client_id: int, item_ids: Sequence[str], cache_key: Callable[[str], str]
    ) -> CacheLookup:
        """Fingerprint the items' data, derive the cache key from it, and find a stored forecast.

        The key is made from the data as the lookup read it; a run found
        under it was computed from exactly that data.
        """
        ids = normalise_item_ids(item_ids)
        with self.database.read() as conn:  # results are immutable: no snapshot needed
            keys = _resolve(conn, client_id, ids)
            fingerprint = _fingerprint(keys)
            key = cache_key(fingerprint)
            run = runs.find_cached(conn, client_id, key)
            frame = None if run is None else runs.read_results(conn, run, keys)
            return CacheLookup(fingerprint, key, tuple(keys["external_id"]), run, frame)

    def run_forecast(self, client_id: int, run_id: int) -> tuple[RunInfo, pd.DataFrame]:
        """A stored forecast run and its frame (a cached run's frame is that of the run it reused)."""
        with self.database.read(snapshot=True) as conn:
            run = runs.get_run(conn, client_id, _whole(run_id, "run id"))
            if run.kind != "forecast":
                raise NotFoundError(f"run {run_id} is a {run.kind} run; only forecast results are stored")
            if run.status != "succeeded":
                detail = f": {run.error}" if run.error else ""
                raise ForecastingError(f"run {run_id} has no results (status {run.status}{detail})")
            source = runs.get_run(conn, client_id, run.source_run_id) if run.source_run_id else run
            keys = reads.item_keys(conn, client_id, source.item_ids)
            return run, runs.read_results(conn, source, keys)

    def record_run(
        self,
        client_id: int,
        request: RunRequest,
        source_run_id: int | None = None,
        duration_s: float | None = None,
    ) -> tuple[int, datetime]:
        """Insert a run: ``running`` for a computation, or a finished cached request pointing at its source."""
        with self.database.write() as conn:
            status = "running" if source_run_id is None else "succeeded"
            return runs.start_run(
                conn, client_id, request, status=status, source_run_id=source_run_id, duration_s=duration_s
            )

    def complete_run(
        self,
        client_id: int,
        run_id: int,
        duration_s: float,
        forecast: pd.DataFrame | None = None,
        levels: Sequence[float] = (),
    ) -> None:
        """Mark a run succeeded and store its forecast frame, both in one transaction."""
        with self.database.write() as conn:
            if forecast is not None and len(forecast):
                ids = pd.unique(forecast["item_id"])
                keys = _resolve(conn, client_id, [str(i) for i in ids])
                pk_of = dict(zip(keys["external_id"], keys["pk"]))
                codes, uniques = pd.factorize(forecast["item_id"])
                item_pk = np.array([pk_of[str(u)] for u in uniques], dtype=np.int64)[codes]
                columns = [quantile_column(level) for level in levels]
                quantiles = forecast[columns].to_numpy(dtype=np.float64).reshape(len(forecast), len(columns))
                runs.write_results(
                    conn,
                    run_id,
                    item_pk,
                    to_day_numbers(forecast["date"]),
                    forecast["forecast"].to_numpy(dtype=np.float64),
                    quantiles,
                )
            runs.end_run(conn, client_id, run_id, duration_s)

    def fail_run(self, client_id: int, run_id: int, duration_s: float, error: str) -> None:
        with self.database.write() as conn:
            runs.end_run(conn, client_id, run_id, duration_s, error=error or "failed")

    def require_user(self, client_id: int, user_id: int) -> None:
        """NotFoundError unless the user belongs to the client (runs record who asked)."""
        with self.database.read() as conn:
            found = conn.execute(
                select(_users.c.id).where(_users.c.id == _whole(user_id, "user id"), _users.c.client_id == client_id)
            ).first()
        if found is None:
            raise NotFoundError(f"user {user_id} not found for this client")


# --- helpers shared by the methods above ------------------------------------------------------


def _whole(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NotFoundError(f"{label} must be a whole number, got {value!r}")
    return int(value)


def _client(conn: Connection, client_id: int) -> ClientInfo:
    row = conn.execute(select(_clients).where(_clients.c.id == _whole(client_id, "client id"))).mappings().first()
    if row is None:
        raise NotFoundError(f"client {client_id} not found")
    return ClientInfo(row["id"], row["name"], row["data_version"])


def normalise_item_ids(item_ids: Sequence[str] | str) -> list[str]:
    """Requested item ids: stripped, de-duplicated, at least one."""
    if isinstance(item_ids, str):
        item_ids = [item_ids]
    ids = list(dict.fromkeys(str(i).strip() for i in item_ids if str(i).strip()))
    if not ids:
        raise ForecastingError("choose at least one item")
    return ids


def _resolve(conn: Connection, client_id: int, ids: list[str]) -> pd.DataFrame:
    """Keys of the named items of the client; any unknown one (or client) is a NotFoundError naming them."""
    keys = reads.item_keys(conn, client_id, ids)
    if len(keys) != len(ids):
        _client(conn, client_id)
        missing = sorted(set(ids) - set(keys["external_id"]))
        raise NotFoundError(f"unknown item(s) for this client: {listed(np.array(missing, dtype=object))}")
    return keys


def _fingerprint(keys: pd.DataFrame) -> str:
    text = "\n".join(f"{e}\t{v}" for e, v in zip(keys["external_id"], keys["sales_version"]))
    return hashlib.sha256(text.encode()).hexdigest()


def _history_frame(conn: Connection, client_id: int, keys: pd.DataFrame, start: date | None) -> pd.DataFrame:
    """Sales (and covariates) of the keyed items in external-id order, gaps filled with zero."""
    item_pk, day, quantity = reads.load_sales(conn, client_id, keys["pk"].to_numpy(), start)
    if start is not None:
        item_pk, day, quantity = _pad_to_start(conn, client_id, keys, start, item_pk, day, quantity)
    covariates = reads.load_covariates(conn, client_id, keys["pk"].to_numpy(), start)
    if not len(item_pk):
        return pd.DataFrame(
            {
                "item_id": pd.Series(dtype=object),
                "date": pd.Series(dtype="datetime64[ns]"),
                "quantity": pd.Series(dtype=float),
            }
        )
    # rows arrive ordered by (pk, day); reorder blocks by external id (keys are sorted that way)
    rank = reads.key_rank(keys, item_pk)
    order = np.argsort(rank, kind="stable")
    rank, day, quantity = rank[order], day[order], quantity[order]
    data: dict[str, np.ndarray] = {
        "item_id": keys["external_id"].to_numpy(dtype=object)[rank],
        "date": day_numbers_to_dates(day),
        "quantity": quantity,
    }
    if len(covariates):
        row_key = (rank << 32) + day
        cov_rank = reads.key_rank(keys, covariates["pk"].to_numpy(dtype=np.int64))
        cov_key = (cov_rank << 32) + covariates["day"].to_numpy(dtype=np.int64)
        pos = np.minimum(np.searchsorted(row_key, cov_key), len(row_key) - 1)
        matched = row_key[pos] == cov_key
        names = covariates["name"].to_numpy(dtype=object)
        values = covariates["value"].to_numpy(dtype=np.float64)
        for name in sorted(set(names)):
            column = np.zeros(len(row_key))
            sel = matched & (names == name)
            column[pos[sel]] = values[sel]
            data[name] = column
    return prepare_history(pd.DataFrame(data), min_days=0).frame


def _pad_to_start(
    conn: Connection,
    client_id: int,
    keys: pd.DataFrame,
    start: date,
    item_pk: np.ndarray,
    day: np.ndarray,
    quantity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A zero row on ``start`` for items whose range spans it without a row that day, so they start there."""
    start_day = int(np.datetime64(start, "D").astype(np.int64))
    later = set(item_pk.tolist()) - set(item_pk[day == start_day].tolist())
    earlier = reads.started_before(conn, client_id, np.array(sorted(later)), start) if later else set()
    pad = np.array(sorted(earlier), dtype=np.int64)
    if not len(pad):
        return item_pk, day, quantity
    item_pk = np.concatenate([item_pk, pad])
    day = np.concatenate([day, np.full(len(pad), start_day)])
    quantity = np.concatenate([quantity, np.zeros(len(pad))])
    order = np.lexsort((day, item_pk))
    return item_pk[order], day[order], quantity[order]


def _text(value: object, label: str, required: bool = False, limit: int = MAX_TEXT_LENGTH) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ForecastingError(f"{label} must not be empty")
    if len(text) > limit:
        raise ForecastingError(f"{label} is longer than {limit} characters")
    return text


def _check_length(label: str, values: np.ndarray, limit: int) -> None:
    lengths = pd.Series(values, dtype=object).astype(str).str.len().to_numpy()
    long = lengths > limit
    if long.any():
        raise InvalidInputError(f"{label} longer than {limit} characters: {listed(np.asarray(values)[long])}")


def _check_names(frame: pd.DataFrame) -> None:
    _check_length("item_id", pd.unique(frame["item_id"]), MAX_ID_LENGTH)
    covariates = [c for c in frame.columns if c not in imports.SALES_COLUMNS]
    _check_length("covariate column name", np.array(covariates, dtype=object), MAX_COVARIATE_NAME)


_DAYS = ("a whole number of days from 0 to 365", lambda v: float(v).is_integer() and 0 <= v <= MAX_HORIZON)
_ITEM_RULES = {
    "lead_time_days": _DAYS,
    "review_period_days": _DAYS,
    "service_level": ("a number strictly between 0 and 1", lambda v: 0 < v < 1),
    "moq": ("a number >= 0", lambda v: v >= 0),
    "pack_size": ("a number > 0", lambda v: v > 0),
    "unit_cost": ("empty or a number >= 0", lambda v: v >= 0),
}


def _item_params(params: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    """Column values for one item's changes, and what is wrong with them (one entry per bad field)."""
    allowed = ["name", "category", *_ITEM_RULES]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        return {}, [f"unknown item parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"]
    if not params:
        return {}, [f"nothing to update; give one of {', '.join(allowed)}"]
    out: dict[str, object] = {}
    problems: list[str] = []
    for key, value in params.items():
        if key in ("name", "category"):
            try:
                out[key] = _text(value, key)
            except ForecastingError as exc:
                problems.append(str(exc))
            continue
        if key == "unit_cost" and value is None:
            out[key] = None
            continue
        what, rule = _ITEM_RULES[key]
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number) or not rule(number):
            problems.append(f"{key} must be {what}, got {value!r}")
            continue
        out[key] = int(number) if key.endswith("_days") else number
    return out, problems


def _horizon_problems(
    conn: Connection,
    client_id: int,
    pk_of: dict[str, int],
    values: dict[str, dict[str, object]],
    problems: dict[str, list[str]],
) -> dict[str, str]:
    """Items whose lead time + review period (changed or stored) would exceed the longest forecast."""
    checked = [i for i in values if not problems[i] and {"lead_time_days", "review_period_days"} & set(values[i])]
    if not checked:
        return {}
    query = select(_items.c.id, _items.c.lead_time_days, _items.c.review_period_days).where(
        _items.c.client_id == client_id
    )
    stored = {}
    for chunk in bulk.chunks([pk_of[i] for i in checked]):
        stored.update({row.id: row for row in conn.execute(query.where(_items.c.id.in_(chunk)))})
    out = {}
    for item_id in checked:
        current = stored[pk_of[item_id]]
        lead = values[item_id].get("lead_time_days", current.lead_time_days) or 0
        review = values[item_id].get("review_period_days", current.review_period_days)
        if lead + review > MAX_HORIZON:
            total = lead + review
            out[item_id] = f"lead_time_days + review_period_days must be at most {MAX_HORIZON} days, got {total}"
    return out


def _write_item_values(
    conn: Connection, client_id: int, pk_of: dict[str, int], values: dict[str, dict[str, object]]
) -> None:
    """One executemany per set of changed columns (items changing the same fields share a statement)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for item_id, row in values.items():
        groups.setdefault(tuple(sorted(row)), []).append(
            {"item_pk": pk_of[item_id], **{f"new_{c}": v for c, v in row.items()}}
        )
    for columns, rows in groups.items():
        statement = (
            update(_items)
            .where(_items.c.id == bindparam("item_pk"), _items.c.client_id == client_id)
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        conn.execute(statement, rows)


def validate_sales_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A sales frame given directly (not read from CSV), checked like the CSV reader checks files.

    Row numbers in errors count like file lines (the first data row is 2).
    """
    missing = [c for c in imports.SALES_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"sales data is missing required column(s) {', '.join(missing)}")
    if frame.empty:
        raise InvalidInputError("sales data has no rows")
    rows = np.arange(len(frame)) + 2
    problems: list[RowProblem] = []

    def flag(mask: np.ndarray, problem: str) -> None:
        problems.extend(RowProblem(int(r), problem) for r in rows[mask][: InvalidInputError.MAX_LISTED])

    ids = frame["item_id"].astype("string").str.strip()
    flag(ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy(), "empty item_id")
    dates = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
    bad_date = dates.isna().to_numpy() | (dates != dates.dt.normalize()).fillna(False).to_numpy()
    flag(bad_date, "unparsable date (expected YYYY-MM-DD)")
    quantity = pd.to_numeric(frame["quantity"], errors="coerce").to_numpy(dtype=np.float64)
    flag(~np.isfinite(quantity) | (quantity < 0), "quantity must be a finite number >= 0")
    out = pd.DataFrame(
        {"item_id": ids.to_numpy(dtype=object), "date": dates.to_numpy(dtype="datetime64[ns]"), "quantity": quantity}
    )
    for column in frame.columns:
        if column in imports.SALES_COLUMNS:
            continue
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        flag(np.isnan(values) & raw.notna().to_numpy() | np.isinf(values), f"non-numeric {column}")
        out[str(column)] = values
    if not problems:
        flag(out.duplicated(["item_id", "date"], keep=False).to_numpy(), "repeated (item_id, date) pair")
    if problems:
        problems.sort(key=lambda p: p.row)
        raise InvalidInputError("sales data rejected, nothing imported", problems)
    return out
