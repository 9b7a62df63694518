"""Bringing a database's schema to the newest Alembic revision, from any working directory.

``upgrade`` is what ``python -m forecasting init`` and every app start call:
cheap when the schema is current (one query), serialised between processes
that start at the same moment (an advisory lock on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite).
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from forecasting.storage.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key held while migrating ("fcst" in ASCII)
_PG_LOCK_KEY = 0x66637374


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision in the package."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with database.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> str:
    """Migrate to ``revision`` (default: the newest) and return the revision reached."""
    target = head_revision() if revision == "head" else revision
    if current_revision(database) == target:
        return target
    with database.write() as conn:
        if database.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.upgrade(_config(conn), revision)
    return target


def downgrade(database: Database, revision: str = "base") -> None:
    """Migrate down (tests and operators rolling back a release)."""
    with database.write() as conn:
        if database.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.downgrade(_config(conn), revision)
