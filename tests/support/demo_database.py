"""A demo database for the app's tests: built once per test process, copied for each test that writes.

The demo clients, data and users of ``python -m forecasting load-demo``
(bcrypt at 4 rounds so logins are fast), in a SQLite file under a temporary
folder. Tests get their own copy, so a lockout or an import in one test
never leaks into another.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from forecasting.services.container import build_services
from forecasting.services.demo_data import DEMO_USERS, load_demo
from forecasting.storage import open_database

TEST_BCRYPT_ROUNDS = 4
_template: Path | None = None

PLANNER = next(u for u in DEMO_USERS if u.client == "Demo Foods" and u.role == "planner")
ADMIN = next(u for u in DEMO_USERS if u.client == "Demo Foods" and u.role == "admin")
OTHER_CLIENT_PLANNER = next(u for u in DEMO_USERS if u.client != "Demo Foods")


def template() -> Path:
    """The demo database file, built on first use in this process."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="app-demo-db-"))
        path = folder / "demo.db"
        database = open_database(f"sqlite:///{path}")
        load_demo(build_services(database, TEST_BCRYPT_ROUNDS), folder=folder / "files")
        with database.write() as conn:  # fold the WAL into the file so a plain copy is complete
            conn.exec_driver_sql("SELECT 1")
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.dispose()
        _template = path
    return _template


def fresh_copy(folder: Path) -> str:
    """A private copy of the demo database in ``folder``; returns its URL."""
    target = Path(folder) / "app.db"
    shutil.copyfile(template(), target)
    return f"sqlite:///{target}"
