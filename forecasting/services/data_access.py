"""Tenant-scoped access to everything stored: clients, items, sales, inventory, runs.

Every method that touches tenant data takes the client id first and filters on
it, so ids of another client behave exactly like ids that do not exist
(:class:`NotFoundError`), never like data. Item ids are the client's own
(``item_id`` of the CSV files). Imports are validated in full before anything
is written and then written in one transaction (see
:mod:`forecasting.storage.imports`). The SQL is in :mod:`forecasting.storage`;
this class decides what is read and written together, and checks the input.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from forecasting.applications.inventory.inventory_input import validate_inventory
from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.applications.inventory.parameters import CYCLE_PROBLEM, cycle_too_long, edit_values
from forecasting.core.as_of import AsOfMove
from forecasting.core.calendar import DAILY, Frequency, detect_frequency
from forecasting.core.covariates import CATEGORY, KnownFuture, with_category
from forecasting.core.client_calendar import ClientCalendar
from forecasting.core.cells import COVARIATE_NAME_LENGTH, ID_LENGTH, TEXT_LENGTH, too_long
from forecasting.core.errors import ForecastingError, InvalidInputError, NotFoundError, ResultsRemovedError, listed
from forecasting.core.history import daily_in_buckets, short_histories, to_day_numbers
from forecasting.core.models.base import quantile_column
from forecasting.core.process import this_process
from forecasting.core.sales import covariate_columns, validate_sales_frame
from forecasting.services.run_recovery import LeaseKeeper
from forecasting.storage import calendar as calendar_store
from forecasting.storage import clients, imports, items, reads, runs
from forecasting.storage import policy as policy_store
from forecasting.storage import purchasing as purchasing_store
from forecasting.storage import users as stored_users
from forecasting.storage.clients import ClientInfo
from forecasting.storage.database import Database
from forecasting.storage.ids import whole_id
from forecasting.storage.models import utcnow
from forecasting.storage.imports import ImportResult
from forecasting.io.calendar_file import read_calendar_table
from forecasting.storage.reads import ITEM_COLUMNS
from forecasting.storage.runs import RunInfo, RunRequest

#: seconds a cached answer waits to be recorded behind another write (SQLite: an import) before it is
#: answered unrecorded (docs/security.md)
CACHED_RECORD_WAIT_S = 0.25

INVENTORY_COLUMNS = [
    "item_id", "on_hand", "on_order", "lead_time_days", "review_period_days", "service_level", "moq", "pack_size",
    "unit_cost", "name", "category", "on_order_due", "service_type", "lead_time_std_days", "phase_out", "as_of",
]

Source = str | Path | BinaryIO
#: items per part of a streamed sales import (:meth:`DataAccess.import_sales_file`): what one write holds
IMPORT_PART_ITEMS = 1_000


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
    #: the client's data "as of" date: every item's history runs to it
    as_of: date | None = None
    #: the client's calendar as the snapshot read it (None: none)
    calendar: ClientCalendar | None = None
    #: the items' categories (``item_id, category``, "" when none): what the calendar may name, and the item
    #: attribute lgbm learns from (:meth:`with_category`)
    categories: pd.DataFrame | None = None
    freq: Frequency = DAILY

    def known_future(self, horizon: int, held_out: int = 0, bucket: str | None = None) -> KnownFuture | None:
        """The calendar's covariates for these items: on the days it covers and on every bucket from
        ``held_out`` buckets before the as-of date (a backtest's windows) to ``horizon`` buckets after it;
        ``bucket`` (W, M): in the buckets of the daily data's view (:func:`calendar_covariates`).

        None without a calendar. Models that use covariates (lgbm, chronos-2)
        get the frame; the others ignore it.
        """
        if self.calendar is None:
            return None
        return calendar_covariates(self.calendar, self.categories, self.as_of, self.freq, horizon, held_out, bucket)

    def with_category(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (this history, or its view) with each item's category code (:func:`with_category`)."""
        if self.categories is None:
            return frame
        return with_category(frame, dict(zip(self.categories["item_id"], self.categories["category"])))


class DataAccess:
    """The one way services and the app reach stored data; every tenant method takes ``client_id``."""

    def __init__(self, database: Database):
        self.database = database
        #: renews the heartbeat of the runs this process computes (services/run_recovery.py)
        self.leases = LeaseKeeper(database)

    # --- clients -------------------------------------------------------------------------

    def create_client(self, name: str) -> ClientInfo:
        """A new client (tenant); names are unique."""
        name = _text(name, "client name", required=True)
        with self.database.write() as conn:
            return clients.create(conn, name)

    def get_client(self, client_id: int) -> ClientInfo:
        with self.database.read() as conn:
            return clients.get(conn, client_id)

    def client_by_name(self, name: str) -> ClientInfo:
        """The client called ``name`` (for the CLI, whose users know their client by name)."""
        with self.database.read() as conn:
            return clients.by_name(conn, name)

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
            clients.get(conn, client_id)
            if ids is not None:
                items.resolve(conn, client_id, ids)
            frame = reads.items_table(conn, client_id, ids, category)
        return frame[ITEM_COLUMNS]

    def categories(self, client_id: int) -> list[str]:
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return reads.categories(conn, client_id)

    def update_item(self, client_id: int, item_id: str, **params: object) -> None:
        """Change an item's name, category, unit cost, replenishment or policy parameters (validated)."""
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
            values[str(item_id)], problems[str(item_id)] = edit_values(dict(params))
        with self.database.write() as conn:
            keys = items.resolve(conn, client_id, list(values))
            pk_of = dict(zip(keys["external_id"].tolist(), keys["pk"].tolist()))
            for item_id, problem in _cycle_problems(conn, client_id, pk_of, values, problems).items():
                problems[item_id].append(problem)
            bad = sorted(item_id for item_id, found in problems.items() if found)
            if bad:
                detail = "; ".join(f"item {i}: {', '.join(problems[i])}" for i in bad[:InvalidInputError.MAX_LISTED])
                more = len(bad) - InvalidInputError.MAX_LISTED
                detail += f" (and {more} more items)" if more > 0 else ""
                raise ForecastingError(f"bad item changes: {detail}")
            items.write_values(conn, client_id, pk_of, values)
            clients.bump_data_version(conn, client_id)
        return len(values)

    # --- sales and inventory ---------------------------------------------------------------

    def history(self, client_id: int, item_ids: Sequence[str], start: date | None = None) -> pd.DataFrame:
        """Long frame ``item_id, date, quantity, <covariates>`` of the items, missing days filled with 0.

        Items come sorted by id, each from its first day (or ``start``) to the
        client's "as of" date (its last sales date over all items).
        """
        return self.history_snapshot(client_id, item_ids, start).frame

    def history_snapshot(self, client_id: int, item_ids: Sequence[str], start: date | None = None) -> HistorySnapshot:
        """History plus the fingerprint of that very data (the forecast cache key), from one snapshot."""
        ids = normalise_item_ids(item_ids)
        with self.database.read(snapshot=True) as conn:
            keys = items.resolve(conn, client_id, ids)
            client = clients.get(conn, client_id)
            as_of = client.as_of
            frame = reads.history_frame(conn, client_id, keys, start, as_of)
            calendar = None if client.calendar_version is None else calendar_store.load(conn, client_id)
        categories = pd.DataFrame({"item_id": keys["external_id"].to_numpy(dtype=object),
                                   "category": keys["category"].to_numpy(dtype=object)})
        return HistorySnapshot(frame, _fingerprint(keys, as_of, client.freq, client.calendar_version),
                               tuple(keys["external_id"]), as_of, calendar, categories, client.freq)

    # --- calendar -------------------------------------------------------------------------------

    def calendar(self, client_id: int) -> ClientCalendar:
        """The client's calendar of promotions, events, holidays and planned prices (empty when none)."""
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return calendar_store.load(conn, client_id)

    def import_calendar(
        self, client_id: int, source: str | Path | bytes | pd.DataFrame, name: str | None = None
    ) -> ClientCalendar:
        """Replace the client's calendar with a file's (docs/data-formats.md, "Calendar").

        Every problem (unknown item or category, overlapping promotions, an end
        before its start...) is listed in one InvalidInputError and nothing is
        imported; the check against the client's items runs inside the write.
        A new calendar changes the forecast cache key (its version). ``source``:
        a file's path or bytes (``name`` ending ``.parquet``: Parquet), or a
        table of the file's columns (the API's entries).
        """
        raw = source.astype("string") if isinstance(source, pd.DataFrame) else read_calendar_table(source, name)
        with self.database.write() as conn:
            clients.get(conn, client_id)
            calendar = ClientCalendar.check(raw, calendar_store.item_categories(conn, client_id))
            calendar_store.replace(conn, client_id, calendar)
        return calendar

    def covariate_names(self, client_id: int) -> tuple[list[str], list[str], list[str]]:
        """The client's covariates: the stored sales columns (past), the calendar's (known-future) and the item
        attributes (``category`` when its items have two categories or more, no category counting as one)."""
        with self.database.read(snapshot=True) as conn:
            clients.get(conn, client_id)
            categories = set(calendar_store.item_categories(conn, client_id).values())
            return (calendar_store.covariate_names(conn, client_id), calendar_store.load(conn, client_id).covariates,
                    [CATEGORY] if len(categories) > 1 else [])

    def known_future(self, client_id: int, item_ids: Sequence[str], horizon: int, held_out: int = 0,
                     bucket: str | None = None) -> KnownFuture | None:
        """The client's calendar as covariates of the items (:func:`calendar_covariates`, ``bucket`` the daily
        data's view W or M); None without one."""
        with self.database.read(snapshot=True) as conn:
            client = clients.get(conn, client_id)
            calendar, categories = _stored_calendar(conn, client, item_ids)
        if calendar is None:
            return None
        return calendar_covariates(calendar, categories, client.as_of, client.freq, horizon, held_out, bucket)

    def policy(self, client_id: int) -> ClassPolicy:
        """The client's policy by class (service levels per ABC x XYZ cell; the defaults when none is stored)."""
        with self.database.read() as conn:
            return policy_store.load(conn, client_id)

    def save_policy(self, client_id: int, policy: ClassPolicy) -> None:
        """Store the client's policy by class (admins only: the caller checks the role)."""
        with self.database.write() as conn:
            policy_store.save(conn, client_id, policy)

    def inventory(self, client_id: int, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Latest stock position and parameters (the inventory CSV's columns plus ``as_of``).

        All items with a position, or the named ones (each must have one). An
        item linked to a supplier plans with the supplier's terms: lead time
        (the link's override, else the supplier's), its standard deviation
        (likewise, when either gives one), pack size, MOQ and unit cost
        (the link's, when given) replace the item's own here, the one place
        that decides (docs/data-formats.md, supplier file); the item's own
        fields are kept and apply again when the link goes.
        """
        frame = self.list_items(client_id, item_ids)
        with self.database.read() as conn:
            terms = purchasing_store.item_terms(conn, client_id).set_index("item_id")
        if len(terms):
            linked = frame["item_id"].isin(terms.index).to_numpy() & frame["lead_time_days"].notna().to_numpy()
            ids = frame.loc[linked, "item_id"]
            for column in ("lead_time_days", "lead_time_std_days", "pack_size", "moq", "unit_cost"):
                given = ids.map(terms[column]).astype(float)
                frame.loc[linked, column] = given.where(given.notna(), frame.loc[linked, column]).to_numpy()
        has_position = frame["on_hand"].notna().to_numpy() & frame["lead_time_days"].notna().to_numpy()
        if item_ids is not None and not has_position.all():
            missing = frame["item_id"].to_numpy()[~has_position]
            raise ForecastingError(
                f"no inventory position for item(s) {listed(missing)}: import an inventory file first"
            )
        frame = frame.loc[has_position].rename(columns={"inventory_as_of": "as_of"})
        frame = frame.astype({"lead_time_days": np.int64, "review_period_days": np.int64, "phase_out": np.int64})
        return frame[INVENTORY_COLUMNS].reset_index(drop=True)

    def arrivals(self, client_id: int) -> pd.DataFrame:
        """Approved purchase-order lines still to arrive (``item_id, quantity, due_date``): the plan counts them."""
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return purchasing_store.arrivals(conn, client_id)

    def too_short_to_forecast(self, client_id: int, upload: pd.DataFrame) -> pd.DataFrame:
        """Items of a validated upload that would still be too short to forecast once it is imported.

        A sales upload adds its days to what is stored (the earlier first sale
        counts, the data's as-of date moves to the later last sale); an
        inventory upload adds none, so its items without sales are listed
        with 0 days. Columns of :func:`short_histories`, counted in the bucket the
        sales are read in (the client's, or the upload's for a first import).
        """
        stored = self.list_items(client_id).set_index("item_id")["first_date"]
        client = self.get_client(client_id)
        as_of, freq = client.as_of, client.freq
        ids = pd.unique(upload["item_id"])
        first = pd.to_datetime(stored.reindex(ids))
        if "date" in upload.columns:
            in_file = upload.groupby("item_id", sort=False)["date"].min().reindex(ids)
            first = first.where(first.notna() & (first <= in_file), in_file)
            last = upload["date"].max()
            as_of = last if as_of is None else max(pd.Timestamp(as_of), last)
            try:
                freq = _import_bucket(client, to_day_numbers(upload["date"]), None)
            except InvalidInputError:  # the import itself will say why; count in the client's bucket
                pass
        return short_histories(first, as_of, freq=freq)

    def sales_bucket(self, client_id: int, upload: pd.DataFrame, freq: str | None = None) -> Frequency:
        """The bucket a validated sales upload would be imported in (declared ``freq``: D, W, M; else detected),
        for the report before the import; dates off it are refused as the import would refuse them."""
        with self.database.read(snapshot=True) as conn:
            client = clients.get(conn, client_id)
            bucket = _import_bucket(client, to_day_numbers(upload["date"]), freq)
            _check_bucket_change(conn, client, bucket)
            return bucket

    def sales_as_of_move(self, client_id: int, upload: pd.DataFrame) -> AsOfMove | None:
        """How a validated sales upload would move the as-of date of the items it does not contain (None: not).

        For the validation report, before the planner confirms the import.
        """
        with self.database.read(snapshot=True) as conn:
            return imports.sales_as_of_move(conn, client_id, upload)

    def import_sales(
        self,
        client_id: int,
        source: Source | pd.DataFrame,
        max_bytes: int | None = None,
        max_rows: int | None = None,
        move_as_of: bool = False,
        freq: str | None = None,
    ) -> ImportResult:
        """Validate a sales CSV (or frame) in full, then upsert it in one transaction.

        An upload that would move the as-of date of stored items it does not
        contain (adding zero-sales days to their history) is refused with an
        :class:`AsOfMoveError` naming the numbers, unless ``move_as_of`` confirms it.
        The bucket (docs/data-formats.md): the first import's is detected from
        its dates (or ``freq``: D, W, M) and stored for the client; later
        imports must fit it, unless ``freq`` forces another one that the
        client's stored sales fit too. Dates off the bucket refuse the file.
        """
        if isinstance(source, pd.DataFrame):
            frame = validate_sales_frame(source)
        else:
            from forecasting.io.sales_csv import read_sales_csv

            frame = read_sales_csv(source, max_bytes=max_bytes, max_rows=max_rows)
        _check_length("item_id", pd.unique(frame["item_id"]), ID_LENGTH)
        _check_length("covariate column name", np.array(covariate_columns(frame.columns), dtype=object),
                      COVARIATE_NAME_LENGTH)
        days = to_day_numbers(frame["date"])
        with self.database.write() as conn:
            try:  # locked first: a concurrent import of the client waits, then sees this one's bucket
                client = clients.get(conn, client_id, lock=True)
            except NotFoundError:
                raise NotFoundError(f"client {client_id} does not exist") from None
            _keep_bucket(conn, client, _import_bucket(client, days, freq))
            return imports.write_sales(conn, client_id, frame, move_as_of=move_as_of)

    def import_sales_file(
        self, client_id: int, path: str | Path, move_as_of: bool = False, freq: str | None = None
    ) -> ImportResult:
        """A sales file (CSV or Parquet) of any size, in bounded memory, upserted in one transaction.

        The file is split by item on disk and validated whole first, as a batch
        job's input is (every row, repeated pairs), then written a part at a time.
        The as-of and bucket rules of :meth:`import_sales` apply (``move_as_of``
        confirms a move; ``freq`` declares the file's bucket, else a client with
        sales reads the file in its own bucket).
        """
        from forecasting.batch.staging import sales_frame, stage_sales
        from forecasting.core.history import day_numbers_to_dates
        from forecasting.io.scratch import work_dir

        client = self.get_client(client_id)
        declared = freq if freq is not None or client.as_of is None else client.freq.alias
        with work_dir() as folder:
            try:
                staged = stage_sales(path, folder / "sales", IMPORT_PART_ITEMS, declared)
            except InvalidInputError as exc:
                if freq is not None or client.as_of is None or "off that bucket" not in str(exc):
                    raise
                raise InvalidInputError(
                    f"the client's sales are {client.freq.label}: {exc} (declare the file's bucket with --freq to "
                    f"change the client's)") from None
            item_ids = np.concatenate(staged.item_ids)
            _check_length("item_id", item_ids, ID_LENGTH)
            last = pd.Timestamp(day_numbers_to_dates(np.array([staged.as_of]))[0]).date()

            def parts() -> Iterator[pd.DataFrame]:
                for part, part_ids in zip(staged.parts, staged.item_ids):
                    frame = sales_frame(part, part_ids)
                    _check_length("covariate column name", np.array(covariate_columns(frame.columns), dtype=object),
                                  COVARIATE_NAME_LENGTH)
                    yield frame

            with self.database.write() as conn:
                now = clients.get(conn, client_id, lock=True)
                if freq is None and now.as_of is not None and staged.freq != now.freq:  # changed meanwhile
                    raise InvalidInputError(
                        f"the client's sales are {now.freq.label} but this file's dates were read as "
                        f"{staged.freq.label}; nothing imported (declare the file's bucket with --freq)")
                _keep_bucket(conn, now, staged.freq)
                return imports.write_sales_parts(conn, client_id, parts(), last, item_ids, move_as_of=move_as_of)

    def import_inventory(
        self,
        client_id: int,
        source: Source | pd.DataFrame,
        as_of: date | None = None,
        default_service_level: float | None = None,
        max_bytes: int | None = None,
        max_rows: int | None = None,
    ) -> ImportResult:
        """Validate an inventory CSV (or frame) in full, then store parameters and positions as of ``as_of`` (today)."""
        if isinstance(source, pd.DataFrame):
            frame = source
        else:
            from forecasting.io.inventory_csv import read_inventory_csv

            frame = read_inventory_csv(source, default_service_level, max_bytes=max_bytes, max_rows=max_rows)
        inventory = validate_inventory(frame, levels_from_class=True)
        for label, values, limit in (
            ("item_id", inventory.item_ids, ID_LENGTH),
            ("name", inventory.name, TEXT_LENGTH),
            ("category", inventory.category, TEXT_LENGTH),
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
            clients.get(conn, client_id)
            return runs.list_runs(conn, client_id, limit)

    def get_run(self, client_id: int, run_id: int) -> RunInfo:
        with self.database.read() as conn:
            return runs.get_run(conn, client_id, whole_id(run_id, "run id"))

    def lookup_forecast(
        self, client_id: int, item_ids: Sequence[str], cache_key: Callable[[str], str]
    ) -> CacheLookup:
        """Fingerprint the items' data, derive the cache key from it, and find a stored forecast.

        The key is made from the data as the lookup read it; a run found
        under it was computed from exactly that data.
        """
        ids = normalise_item_ids(item_ids)
        with self.database.read() as conn:  # results are immutable: no snapshot needed
            keys = items.resolve(conn, client_id, ids)
            client = clients.get(conn, client_id)
            fingerprint = _fingerprint(keys, client.as_of, client.freq, client.calendar_version)
            key = cache_key(fingerprint)
            run = runs.find_cached(conn, client_id, key)
            frame = None if run is None else runs.read_results(conn, run, keys)
            return CacheLookup(fingerprint, key, tuple(keys["external_id"]), run, frame)

    def run_forecast(self, client_id: int, run_id: int) -> tuple[RunInfo, pd.DataFrame]:
        """A stored forecast run and its frame (a cached run's frame is that of the run it reused)."""
        with self.database.read(snapshot=True) as conn:
            run = runs.get_run(conn, client_id, whole_id(run_id, "run id"))
            if run.kind != "forecast":
                raise NotFoundError(f"run {run_id} is a {run.kind} run; only forecast results are stored")
            if run.status != "succeeded":
                detail = f": {run.error}" if run.error else ""
                raise ForecastingError(f"run {run_id} has no results (status {run.status}{detail})")
            source = runs.get_run(conn, client_id, run.source_run_id) if run.source_run_id else run
            if source.results_removed_at is not None or (run.cached and not run.source_run_id):
                raise ResultsRemovedError(
                    f"the results of run {run_id} are no longer stored (older runs are removed to keep each "
                    f"client's storage bounded, docs/security.md): run the forecast again"
                )
            keys = reads.item_keys(conn, client_id, source.item_ids)
            return run, runs.read_results(conn, source, keys)

    def record_run(
        self,
        client_id: int,
        request: RunRequest,
        source_run_id: int | None = None,
        duration_s: float | None = None,
    ) -> tuple[int, datetime]:
        """Insert a run: ``running`` for a computation, or record a cached request pointing at its source.

        A cached request waits at most :data:`CACHED_RECORD_WAIT_S` for another writer (SQLite during an
        import) and raises DatabaseBusyError after that: its answer must not wait on the import.
        """
        if source_run_id is not None:
            with self.database.write(wait_s=CACHED_RECORD_WAIT_S) as conn:
                return runs.record_cached(conn, client_id, request, source_run_id, duration_s)
        with self.database.write() as conn:
            run_id, created_at = runs.start_run(conn, client_id, request, duration_s=duration_s)
            runs.take_lease(conn, run_id, this_process().tag(), created_at)
        self.leases.hold(run_id)
        return run_id, created_at

    def complete_run(
        self,
        client_id: int,
        run_id: int,
        duration_s: float,
        forecast: pd.DataFrame | None = None,
        levels: Sequence[float] = (),
        keep_values: int | None = None,
        training_s: float | None = None,
    ) -> None:
        """Mark a run succeeded and store its forecast frame, both in one transaction (``training_s``: of
        ``duration_s``, the seconds spent training models).

        With ``keep_values``, older runs' results beyond that many stored values are removed in the same
        transaction (the client's storage quota, :func:`forecasting.storage.runs.remove_results_beyond`).
        """
        self.leases.release(run_id)
        with self.database.write() as conn:
            if forecast is not None and len(forecast):
                _write_forecast(conn, client_id, run_id, forecast, levels)
            _end_running(conn, client_id, run_id, duration_s, training_s)
            removed = [] if keep_values is None else runs.remove_results_beyond(conn, client_id, keep_values, utcnow())
        if removed:
            self.database.reclaim(*runs.RESULT_TABLES)

    def store_results(self, client_id: int, run_id: int, forecast: pd.DataFrame, levels: Sequence[float]) -> None:
        """Store part of a running run's forecast (a batch chunk), replacing what the run held for its items.

        The run stays ``running`` (never served from the cache) until :meth:`complete_run`.
        """
        with self.database.write() as conn:
            if not runs.lock_running(conn, client_id, run_id):
                raise ForecastingError(f"run {run_id} is no longer running (its job failed): nothing stored")
            if len(forecast):
                _write_forecast(conn, client_id, run_id, forecast, levels)

    def item_key_pages(self, client_id: int, page_items: int) -> Iterator[pd.DataFrame]:
        """The keys (``external_id, pk, sales_version``) of every item with sales, a page at a time.

        Pages come in the database's order of the ids (keyset pagination on its index).
        """
        after = None
        while True:
            with self.database.read() as conn:
                if after is None:
                    clients.get(conn, client_id)
                page = items.keys_page(conn, client_id, after, page_items)
            if len(page):
                yield page
            if len(page) < page_items:
                return
            after = str(page["external_id"].iloc[-1])

    def item_keys(self, client_id: int, item_ids: Sequence[str]) -> pd.DataFrame:
        """Keys of the named items, sorted by id; an unknown one is a NotFoundError."""
        ids = normalise_item_ids(item_ids)
        with self.database.read() as conn:
            return items.resolve(conn, client_id, ids)

    def history_of_keys(self, client_id: int, keys: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
        """The history frame (as :meth:`history`) of items already resolved to ``keys``, up to ``as_of``."""
        with self.database.read(snapshot=True) as conn:
            return reads.history_frame(conn, client_id, keys, None, as_of)

    def results_of_keys(self, client_id: int, run_id: int, keys: pd.DataFrame) -> pd.DataFrame:
        """The stored forecast of a computed run for the items of ``keys`` only (a batch job reads it in chunks)."""
        with self.database.read() as conn:
            run = runs.get_run(conn, client_id, whole_id(run_id, "run id"))
            return runs.read_results(conn, run, keys, only=True)

    def cached_run(self, client_id: int, cache_key: str) -> RunInfo | None:
        """The newest computed, successful run of the client with this cache key (any kind), if any."""
        with self.database.read() as conn:
            return runs.find_cached(conn, client_id, cache_key)

    def latest_forecast_run(self, client_id: int) -> int:
        """The id of the client's newest computed forecast run (0 without any)."""
        with self.database.read() as conn:
            return runs.latest_forecast_run(conn, client_id)

    def stored_forecasts(self, client_id: int, since: date, until: date) -> pd.DataFrame:
        """``item_id, date, forecast``: the newest stored point forecast of each item and day in the range."""
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return runs.stored_forecasts(conn, client_id, since, until)

    def complete_exceptions(self, client_id: int, run_id: int, duration_s: float, queue: pd.DataFrame) -> None:
        """Mark an exceptions run succeeded and store its queue, in one transaction."""
        self.leases.release(run_id)
        with self.database.write() as conn:
            if len(queue):
                keys = items.resolve(conn, client_id, queue["item_id"].astype(str).tolist())
                pk_of = dict(zip(keys["external_id"], keys["pk"]))
                runs.write_exceptions(conn, run_id, np.array([pk_of[i] for i in queue["item_id"]]), queue)
            _end_running(conn, client_id, run_id, duration_s)

    def exceptions_of_run(self, client_id: int, run_id: int) -> pd.DataFrame:
        """The stored queue of an exceptions run of the client."""
        with self.database.read() as conn:
            run = runs.get_run(conn, client_id, whole_id(run_id, "run id"))
            if run.kind != "exceptions":
                raise NotFoundError(f"run {run_id} is a {run.kind} run, not an exception queue")
            return runs.read_exceptions(conn, client_id, run.run_id)

    def prune_runs(self, client_id: int, older_than_days: int) -> int:
        """Delete the client's runs (and their results) older than ``older_than_days`` days; how many."""
        if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 0:
            raise ForecastingError(f"older_than_days must be a whole number >= 0, got {older_than_days!r}")
        with self.database.write() as conn:
            clients.get(conn, client_id)
            return runs.prune_runs(conn, client_id, utcnow() - timedelta(days=older_than_days))

    def fail_run(self, client_id: int, run_id: int, duration_s: float, error: str) -> None:
        """Mark a run failed; whatever it stored so far (batch chunks) is removed with it."""
        self.leases.release(run_id)
        with self.database.write() as conn:
            runs.delete_results(conn, client_id, [run_id])
            runs.end_run(conn, client_id, run_id, duration_s, error=error or "failed")

    def require_user(self, client_id: int, user_id: int) -> None:
        """NotFoundError unless the user belongs to the client (runs record who asked)."""
        with self.database.read() as conn:
            stored_users.require_member(conn, client_id, user_id)


def _end_running(conn, client_id: int, run_id: int, duration_s: float, training_s: float | None = None) -> None:
    """Mark a run succeeded; an error (the transaction, results included, rolls back) if recovery failed it."""
    if not runs.end_run(conn, client_id, run_id, duration_s, training_s=training_s):
        raise ForecastingError(f"run {run_id} was marked failed while it ran (its process was taken for dead): "
                               "nothing was stored; run it again")


def _write_forecast(conn, client_id: int, run_id: int, forecast: pd.DataFrame, levels: Sequence[float]) -> None:
    """Store a forecast frame's rows (and auto's choices) under the run."""
    ids = pd.unique(forecast["item_id"])
    keys = items.resolve(conn, client_id, [str(i) for i in ids])
    pk_of = dict(zip(keys["external_id"], keys["pk"]))
    codes, uniques = pd.factorize(forecast["item_id"])
    item_pk = np.array([pk_of[str(u)] for u in uniques], dtype=np.int64)[codes]
    columns = [quantile_column(level) for level in levels]
    quantiles = forecast[columns].to_numpy(dtype=np.float64).reshape(len(forecast), len(columns))
    runs.write_results(
        conn, run_id, item_pk, to_day_numbers(forecast["date"]), forecast["forecast"].to_numpy(dtype=np.float64),
        quantiles,
    )
    if all(c in forecast.columns for c in runs.CHOICE_COLUMNS):
        first = np.unique(codes, return_index=True)[1]  # each item's first row
        runs.write_choices(conn, run_id, item_pk[first], forecast["chosen_model"].to_numpy()[first],
                           forecast["choice"].to_numpy()[first])


def normalise_item_ids(item_ids: Sequence[str] | str) -> list[str]:
    """Requested item ids: stripped, de-duplicated, at least one."""
    if isinstance(item_ids, str):
        item_ids = [item_ids]
    ids = list(dict.fromkeys(str(i).strip() for i in item_ids if str(i).strip()))
    if not ids:
        raise ForecastingError("choose at least one item")
    return ids


class DataFingerprint:
    """What items' history depends on: their sales versions and categories, the client's as-of date (the zero days),
    its calendar.

    Fed with keys (sorted by id) a page at a time, so that a whole catalogue's
    run gets the fingerprint (and cache key) a request for all its items would.
    ``calendar``: the version of the client's calendar (a new calendar changes
    every forecast's key; None, no calendar, keeps the key it always had).
    """

    def __init__(self, as_of: date | None, freq: Frequency = DAILY, calendar: str | None = None):
        # the bucket is part of the data (daily keeps the key it always had)
        head = f"{as_of}" if freq == DAILY else f"{as_of} {freq.alias}"
        self._hash = hashlib.sha256((head + (f" calendar {calendar}" if calendar else "") + "\n").encode())
        self._empty = True

    def add(self, keys: pd.DataFrame) -> None:
        """Hash a page of keys; an item's category (an lgbm feature) counts too (none: the key it always had)."""
        if not len(keys):
            return
        categories = keys["category"] if "category" in keys else [""] * len(keys)
        text = "\n".join(f"{e}\t{v}" + (f"\t{c}" if c else "")
                         for e, v, c in zip(keys["external_id"], keys["sales_version"], categories))
        self._hash.update((text if self._empty else "\n" + text).encode())
        self._empty = False

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _stored_calendar(conn, client: ClientInfo, item_ids) -> tuple[ClientCalendar | None, pd.DataFrame | None]:
    """The client's stored calendar and the items' categories (``item_id, category``); (None, None) without one."""
    if client.calendar_version is None:
        return None, None
    known = calendar_store.item_categories(conn, client.client_id)
    ids = [str(i) for i in item_ids]
    categories = pd.DataFrame({"item_id": np.asarray(ids, dtype=object), "category": [known.get(i, "") for i in ids]})
    return calendar_store.load(conn, client.client_id), categories


def calendar_covariates(
    calendar: ClientCalendar, categories: pd.DataFrame, as_of: date | None, freq: Frequency, horizon: int,
    held_out: int = 0, bucket: str | None = None,
) -> KnownFuture | None:
    """A calendar's covariates for items (``item_id, category``) on the days its entries cover and on every
    bucket from ``held_out`` buckets before ``as_of`` to ``horizon`` buckets after it; None without entries.

    ``bucket`` (W or M): daily data viewed in weeks or months (:func:`daily_in_buckets`: weeks ending on
    ``as_of``, whole months): the covariates are the means over each view bucket's days
    (:meth:`ClientCalendar.known_future` ``view``) and the buckets count from the view's last whole one.
    """
    if calendar.entries.empty or as_of is None:
        return None
    day = (np.datetime64(as_of, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    if bucket is None:
        last = int(freq.periods(np.array([day]))[0])
    else:
        freq, last = daily_in_buckets(bucket, int(day))
    dates = pd.DatetimeIndex(freq.dates(np.arange(last + 1 - held_out, last + 1 + horizon)))
    return calendar.known_future(categories, dates, freq, view=bucket is not None)


def _keep_bucket(conn, client: ClientInfo, bucket: Frequency) -> None:
    """Store an import's bucket as the client's; a change (declared) needs the stored sales to fit it too."""
    if bucket == client.freq:
        return
    _check_bucket_change(conn, client, bucket)
    clients.set_freq(conn, client.client_id, bucket)


def _check_bucket_change(conn, client: ClientInfo, bucket: Frequency) -> None:
    """A client's bucket changes only where every stored sales date fits the new one."""
    if bucket != client.freq and client.as_of is not None:
        off = ~bucket.fits(reads.sales_days(conn, client.client_id))
        if off.any():
            raise InvalidInputError(
                f"the client's stored sales are {client.freq.label} and do not all fit {bucket.label} dates; "
                f"nothing imported")


def _import_bucket(client: ClientInfo, days: np.ndarray, declared: str | None) -> Frequency:
    """The bucket an import is read in: declared, else the client's when it has sales and the dates fit it, else detected.

    A client with sales refuses a file of another bucket unless it is declared.
    """
    rows = np.arange(2, len(days) + 2)
    if declared is not None:
        return detect_frequency(days, rows, declared, source="sales file")
    if client.as_of is not None and client.freq.fits(days).all():
        return client.freq
    bucket = detect_frequency(days, rows, None, source="sales file")
    if client.as_of is not None and bucket != client.freq:
        raise InvalidInputError(
            f"the client's sales are {client.freq.label} but this file's dates are {bucket.label}; nothing imported "
            f"(declare the file's bucket, --freq {bucket.code}, to change the client's)"
        )
    return bucket


def _fingerprint(keys: pd.DataFrame, as_of: date | None, freq: Frequency = DAILY, calendar: str | None = None) -> str:
    fingerprint = DataFingerprint(as_of, freq, calendar)
    fingerprint.add(keys)
    return fingerprint.hexdigest()


def _text(value: object, label: str, required: bool = False, limit: int = TEXT_LENGTH) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ForecastingError(f"{label} must not be empty")
    if len(text) > limit:
        raise ForecastingError(f"{label} is longer than {limit} characters")
    return text


def _check_length(label: str, values: np.ndarray, limit: int) -> None:
    long = too_long(values, limit)
    if long.any():
        raise InvalidInputError(f"{label} longer than {limit} characters: {listed(np.asarray(values)[long])}")


def _cycle_problems(
    conn,
    client_id: int,
    pk_of: dict[str, int],
    values: dict[str, dict[str, object]],
    problems: dict[str, list[str]],
) -> dict[str, str]:
    """Items whose lead time + 3 x its std + review period (changed or stored) would exceed the longest forecast."""
    fields = {"lead_time_days", "review_period_days", "lead_time_std_days"}
    checked = [i for i in values if not problems[i] and fields & set(values[i])]
    if not checked:
        return {}
    stored = items.cycles(conn, client_id, [pk_of[i] for i in checked])
    out = {}
    for item_id in checked:
        lead, review, std = stored[pk_of[item_id]]
        lead = values[item_id].get("lead_time_days", lead) or 0
        review = values[item_id].get("review_period_days", review)
        std = values[item_id].get("lead_time_std_days", std) or 0.0
        if cycle_too_long(np.array([lead]), np.array([review]), np.array([std]))[0]:
            out[item_id] = f"{CYCLE_PROBLEM}, got {lead + math.ceil(3 * std) + review}"
    return out
