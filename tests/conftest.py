"""Fixtures shared by every test module, registered once here instead of imported into each module.

The support modules under ``tests/support/`` hold fixtures and helpers (no tests):
databases on SQLite and PostgreSQL, the REST API world, the tiny Chronos-2 model
and the Streamlit AppTest back end.
"""

pytest_plugins = [
    "tests.support.db",
    "tests.support.api",
    "tests.support.chronos",
    "tests.support.app",
]
