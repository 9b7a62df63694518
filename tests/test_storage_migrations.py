"""Alembic migrations: an empty database reaches the models' schema, from any working directory."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from forecasting.storage import Database
from forecasting.storage.migrate import current_revision, downgrade, head_revision, upgrade
from forecasting.storage.models import Base
from tests.support.db import TABLES

ROOT = Path(__file__).resolve().parents[1]


def _schema_diff(database: Database) -> list:
    with database.read() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_empty_database_migrates_to_exactly_the_models(empty_db_url):
    database = Database(empty_db_url)
    assert current_revision(database) is None
    with database.read() as conn:
        assert not set(TABLES) & set(inspect(conn).get_table_names())

    assert upgrade(database) == head_revision()

    assert current_revision(database) == head_revision()
    assert _schema_diff(database) == []
    with database.read() as conn:
        assert set(TABLES) <= set(inspect(conn).get_table_names())
    database.dispose()


def test_upgrade_twice_is_a_no_op_and_downgrade_removes_everything(empty_db_url):
    database = Database(empty_db_url)
    upgrade(database)
    upgrade(database)
    assert current_revision(database) == head_revision()

    downgrade(database, "base")
    assert current_revision(database) is None
    with database.read() as conn:
        assert not set(TABLES) & set(inspect(conn).get_table_names())

    upgrade(database)
    assert _schema_diff(database) == []
    database.dispose()


def test_init_command_migrates_from_another_working_directory(empty_db_url, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "forecasting", "init", "--database-url", empty_db_url],
        cwd=elsewhere,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"schema revision {head_revision()}" in done.stdout
    assert list(elsewhere.iterdir()) == []  # nothing written into the working directory
    database = Database(empty_db_url)
    assert current_revision(database) == head_revision()
    database.dispose()


def test_the_as_of_migration_fills_each_clients_last_sales_date_from_its_sales(empty_db_url):
    database = Database(empty_db_url)
    upgrade(database, "0002")
    with database.write() as conn:
        conn.exec_driver_sql("INSERT INTO clients (id, name, data_version) VALUES (1, 'A', 1), (2, 'B', 0)")
        conn.exec_driver_sql(
            "INSERT INTO items (id, client_id, external_id, name, category, review_period_days, service_level, moq, "
            "pack_size, sales_version) VALUES (10, 1, 'x', '', '', 7, 0.95, 0, 1, 1), (11, 1, 'y', '', '', 7, 0.95, 0, 1, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO sales (item_id, date, quantity) VALUES (10, '2024-03-01', 1), (11, '2024-05-07', 2), "
            "(11, '2024-04-01', 3)"
        )
    upgrade(database)
    with database.read() as conn:
        rows = conn.exec_driver_sql("SELECT id, sales_as_of FROM clients ORDER BY id").all()
    assert [(i, str(d) if d else None) for i, d in rows] == [(1, "2024-05-07"), (2, None)]
    database.dispose()
