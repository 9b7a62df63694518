"""Database fixtures for the storage, service, user and CLI tests, on SQLite and PostgreSQL.

The fixtures are registered in tests/conftest.py; test modules import only the
helpers (``sales_frame``, ``inventory_frame``...). ``db_url`` is parametrised: every test using it runs
on a fresh SQLite file and, when ``TEST_DATABASE_URL`` is set (CI sets it to
the local server), on PostgreSQL in a schema of its own (dropped at the end of
the session). Without the variable the PostgreSQL cases are skipped.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.storage import Database, open_database
from forecasting.storage.migrate import head_revision
from forecasting.storage.models import Base

PG_ENV = "TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TABLES = (
    "clients", "users", "items", "sales", "sales_covariates", "inventory_positions", "forecast_runs",
    "forecast_results", "forecast_choices", "exception_rows", "api_keys", "login_addresses",
    "published_plans", "plan_overrides", "suppliers", "item_suppliers", "purchase_orders", "purchase_order_lines",
    "calendar_entries",
)


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def new_url(backend: str, tmp_path) -> Iterator[str]:
    """A URL for an empty database of ``backend``; PostgreSQL gets a fresh schema, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = _pg_base_or_skip()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty database (no tables at all): for the migration tests."""
    yield from new_url(request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """URL of an empty database with the current schema (SQLite file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(_sqlite_template(request), path)
        return f"sqlite:///{path}"
    base = _pg_base_or_skip()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema};\n{_pg_ddl(request)}")
    admin.dispose()
    _SESSION["schemas"].append(schema)
    return _schema_url(base, schema)


#: per-session state of the fixtures above (plain module state: the test modules import only the fixtures)
_SESSION: dict = {"sqlite_template": None, "pg_ddl": None, "schemas": []}


def _sqlite_template(request):
    """A SQLite file migrated once per session; each test gets a copy (cheaper than migrating again)."""
    if _SESSION["sqlite_template"] is None:
        path = request.getfixturevalue("tmp_path_factory").mktemp("template") / "template.db"
        open_database(f"sqlite:///{path}").dispose()
        _SESSION["sqlite_template"] = path
    return _SESSION["sqlite_template"]


def _pg_ddl(request) -> str:
    """The schema as DDL: the models' (the migration tests prove the migrations build the same).

    Every schema made from it is dropped, all together, when the session ends.
    """
    if _SESSION["pg_ddl"] is None:
        dialect = postgresql.dialect()
        statements = []
        for table in Base.metadata.sorted_tables:
            statements.append(str(CreateTable(table).compile(dialect=dialect)))
            statements += [str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]
        statements += [
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
            f"INSERT INTO alembic_version VALUES ('{head_revision()}')",
        ]
        _SESSION["pg_ddl"] = ";\n".join(statements)
        request.session.config.add_cleanup(_drop_pg_schemas)
    return _SESSION["pg_ddl"]


def _drop_pg_schemas() -> None:
    schemas, _SESSION["schemas"] = _SESSION["schemas"], []
    base = pg_base_url()
    if schemas and base:
        admin = create_engine(base, poolclass=NullPool)
        for start in range(0, len(schemas), 20):  # one transaction locks every table it drops: keep it small
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {', '.join(schemas[start:start + 20])} CASCADE"))
        admin.dispose()


def _pg_base_or_skip() -> str:
    base = pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set (CI sets it to the local PostgreSQL server)")
    return base


def _schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def database(db_url) -> Iterator[Database]:
    """A migrated, empty database."""
    db = open_database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def data(database) -> DataAccess:
    return DataAccess(database)


@pytest.fixture
def service(data) -> ForecastService:
    return ForecastService(data)


def sales_frame(
    items: dict[str, float], days: int, start: str = "2024-01-01", seed: int = 0, promo: bool = False
) -> pd.DataFrame:
    """Daily Poisson sales: ``items`` maps item id to mean demand; optional 0/1 ``promo`` column."""
    rng = np.random.default_rng(seed)
    ids = list(items)
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(np.array(ids, dtype=object), days),
            "date": np.tile(pd.date_range(start, periods=days).to_numpy(), len(ids)),
            "quantity": rng.poisson(np.repeat([items[i] for i in ids], days)).astype(float),
        }
    )
    if promo:
        frame["promo"] = (rng.random(len(frame)) < 0.2).astype(float)
    return frame


def inventory_frame(item_ids: list[str], lead_time_days: int = 3, on_hand: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": item_ids,
            "on_hand": on_hand,
            "on_order": 0.0,
            "lead_time_days": lead_time_days,
            "review_period_days": 7,
            "service_level": 0.95,
            "moq": 0.0,
            "pack_size": 1.0,
            "unit_cost": 2.0,
            "name": [f"name {i}" for i in item_ids],
            "category": "cat",
        }
    )


def table_counts(database: Database) -> dict[str, int]:
    """Rows per table: compared before and after an operation that must change nothing."""
    with database.read() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}


def database_state(database: Database) -> dict[str, object]:
    """Counts, data versions and the sales themselves: everything an import may change."""
    with database.read() as conn:
        versions = conn.execute(text("SELECT id, data_version FROM clients ORDER BY id")).all()
        sales = conn.execute(text("SELECT item_id, date, quantity FROM sales ORDER BY item_id, date")).all()
        items = conn.execute(
            text("SELECT id, external_id, name, lead_time_days, sales_version FROM items ORDER BY id")
        ).all()
    return {"counts": table_counts(database), "versions": versions, "sales": sales, "items": items}


# --- work done by child processes in the concurrency tests (module level: picklable for spawn) ---


def child_import(url: str, client_id: int, frame: pd.DataFrame, barrier) -> tuple[int, int]:
    database = Database(url)
    try:
        barrier.wait(timeout=60)
        result = DataAccess(database).import_sales(client_id, frame, move_as_of=True)  # the later file moves it
        return result.inserted, result.updated
    finally:
        database.dispose()


def child_forecast(url: str, client_id: int, items: list[str], barrier) -> tuple[int, bool]:
    database = Database(url)
    try:
        barrier.wait(timeout=60)
        response = ForecastService(DataAccess(database)).forecast(client_id, items, "ma7", 14)
        return response.run_id, response.cached
    finally:
        database.dispose()


def run_child(target, queue, *args) -> None:
    """Process entry point: put ``target(*args)`` (or the error's text) on ``queue``."""
    try:
        queue.put(("ok", target(*args)))
    except BaseException as exc:  # reported to the parent test, which fails with it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """The demo CSVs, generated once per test session."""
    from forecasting.services.demo_data import write_files

    folder = tmp_path_factory.mktemp("demo")
    write_files(folder)
    return folder


@pytest.fixture
def cli(db_url, capsys):
    """Runs a command of ``python -m forecasting`` against the test database; returns (exit code, stdout, stderr)."""
    from forecasting.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--database-url", db_url])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
