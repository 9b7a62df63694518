"""Connecting to the database: URL resolution, engine set-up, read and write transactions.

``DATABASE_URL`` picks the database; without it the embedded SQLite file
``data/app.db`` under the project root is used (created on first use).
PostgreSQL is reached with ``postgresql+psycopg2://user:password@host:port/db``.

Transactions come from :meth:`Database.read` and :meth:`Database.write`.
On SQLite, writes start with ``BEGIN IMMEDIATE`` (one writer at a time, no
deadlocking lock upgrades between processes) and reads see one snapshot (WAL);
on PostgreSQL, snapshot reads use REPEATABLE READ.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError

from forecasting.core.errors import ForecastingError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "app.db"
SUPPORTED = ("sqlite", "postgresql")
SQLITE_BUSY_TIMEOUT_S = 60
PG_CONNECT_TIMEOUT_S = 10
MIN_SQLITE = (3, 35)


#: any failure of the database layer (callers above storage catch this, never SQLAlchemy's own names)
StorageError = SQLAlchemyError


class DatabaseUnavailableError(ForecastingError):
    """The database cannot be reached or opened (the message names the URL, never the password)."""


class DatabaseBusyError(ForecastingError):
    """SQLite: another write (e.g. a long import) held the database for longer than the busy timeout.

    Nothing of the refused write was done; trying again after the other write ends works.
    """

    retry_after_s = 30


def default_database_url() -> str:
    """``$DATABASE_URL``, else the SQLite file ``data/app.db`` under the project root."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def safe_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def _parse(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailableError(
            "database URL is not valid (expected e.g. sqlite:///data/app.db or "
            "postgresql+psycopg2://user:password@host:5432/db)"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseUnavailableError(
            f"database {safe_url(parsed)} is not supported: use sqlite or postgresql+psycopg2"
        )
    return parsed


class Database:
    """An engine plus the transaction discipline every store uses; one per process and URL."""

    def __init__(self, url: str | URL | None = None, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S):
        """``busy_timeout_s``: how long an SQLite write waits for another one to finish before it is refused."""
        self.url = _parse(url if url is not None else default_database_url())
        self.busy_timeout_s = busy_timeout_s
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            _make_sqlite_folder(self.url)
        try:
            self.engine: Engine = _create_engine(self.url, busy_timeout_s)
        except (NoSuchModuleError, ImportError, ArgumentError) as exc:
            raise DatabaseUnavailableError(f"cannot use database {self.display_url}: {exc}") from None

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Connection]:
        """A read-only transaction; ``snapshot`` makes every statement see the same data."""
        with self._connect() as conn:
            if snapshot and self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self, wait_s: float | None = None) -> Iterator[Connection]:
        """A read-write transaction, committed when the block ends and rolled back on error.

        On SQLite, a write that waited ``busy_timeout_s`` (or ``wait_s``, for a write that must not keep
        its caller waiting) for another writer raises DatabaseBusyError.
        """
        waits = self.busy_timeout_s if wait_s is None else wait_s
        with self._connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_write=True)
                if wait_s is not None:
                    _sqlite_busy_timeout(conn, wait_s)
            try:
                with conn.begin():
                    yield conn
            except OperationalError as exc:
                if self.dialect == "sqlite" and "database is locked" in str(exc.orig):
                    raise DatabaseBusyError(
                        f"the database is busy with another write (such as a large import) for over "
                        f"{waits:g} seconds; nothing was changed: try again in a minute"
                    ) from None
                raise
            finally:
                if self.dialect == "sqlite" and wait_s is not None and not conn.invalidated:
                    _sqlite_busy_timeout(conn, self.busy_timeout_s)  # the pooled connection's usual wait

    def reclaim(self, *tables: str) -> None:
        """PostgreSQL: make the space of deleted rows reusable now (``VACUUM``), instead of at autovacuum's next
        pass, so that tables whose rows are replaced quickly do not grow; a table another vacuum holds is skipped.
        SQLite reuses freed pages by itself."""
        if self.dialect != "postgresql":
            return
        with self._connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(f"VACUUM (SKIP_LOCKED) {', '.join(tables)}")

    def check(self) -> None:
        """Connect once; raises DatabaseUnavailableError with a clear message when that fails."""
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except (OperationalError, DBAPIError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()
            detail = reason[0] if reason else type(exc).__name__
            raise DatabaseUnavailableError(f"cannot connect to database {self.display_url}: {detail}") from None
        with conn:
            yield conn


def _make_sqlite_folder(url: URL) -> None:
    path = url.database
    if path and path != ":memory:" and not path.startswith("file:"):
        try:
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(f"cannot create the folder of database {safe_url(url)}: {exc}") from None


def _create_engine(url: URL, busy_timeout_s: float) -> Engine:
    if url.get_backend_name() == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseUnavailableError(
                f"SQLite {'.'.join(map(str, MIN_SQLITE))} or newer is needed (UPDATE ... FROM, RETURNING); "
                f"this Python has {sqlite3.sqlite_version}"
            )
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}
        )
        _sqlite_transactions(engine)
        return engine
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_busy_timeout(conn: Connection, seconds: float) -> None:
    """Set how long this SQLite connection waits for another writer (outside any transaction)."""
    conn.connection.driver_connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (the documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_write") else "BEGIN")
