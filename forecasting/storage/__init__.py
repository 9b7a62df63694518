"""Persistence: schema, migrations, connections and the bulk readers and writers.

Services use :class:`Database` through :mod:`forecasting.services.data_access`;
``open_database()`` is what the CLI and the app call (it migrates to the newest
schema first).
"""
from __future__ import annotations

from forecasting.storage.database import (
    Database,
    DatabaseBusyError,
    DatabaseUnavailableError,
    StorageError,
    default_database_url,
    safe_url,
)
from forecasting.storage.migrate import upgrade


def open_database(url: str | None = None, migrate: bool = True) -> Database:
    """The database at ``url`` (default: ``$DATABASE_URL`` or data/app.db), migrated to the newest schema."""
    database = Database(url)
    if migrate:
        upgrade(database)
    return database


__all__ = [
    "Database", "DatabaseBusyError", "DatabaseUnavailableError", "StorageError", "default_database_url", "open_database", "safe_url", "upgrade",
]
