"""Connecting: the default URL, unreachable or unusable databases give one clear message."""
from __future__ import annotations

import pytest

from forecasting.storage import DatabaseUnavailableError, open_database, safe_url
from forecasting.storage.database import DEFAULT_SQLITE_PATH, PROJECT_ROOT, Database, default_database_url


def test_default_url_is_the_sqlite_file_under_the_project_root(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert default_database_url() == f"sqlite:///{PROJECT_ROOT / 'data' / 'app.db'}"
    assert DEFAULT_SQLITE_PATH.is_absolute()


def test_database_url_environment_variable_wins(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    database = Database()
    assert database.display_url == url
    database.dispose()


def test_unreachable_postgresql_names_the_url_without_the_password():
    url = "postgresql+psycopg2://planner:s3cret-pw@127.0.0.1:1/forecasts"
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_database(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert message.startswith("cannot connect to database postgresql+psycopg2://planner:***@127.0.0.1:1/forecasts: ")
    assert "\n" not in message


def test_sqlite_file_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(DatabaseUnavailableError, match="cannot create the folder of database sqlite:///"):
        open_database(f"sqlite:///{blocker / 'sub' / 'app.db'}")


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u:pw@host/db", "is not supported: use sqlite or postgresql"),
        ("not a url", "database URL is not valid"),
    ],
)
def test_unsupported_or_malformed_urls_are_refused(url, message):
    with pytest.raises(DatabaseUnavailableError, match=message) as caught:
        Database(url)
    assert "pw" not in str(caught.value)


def test_safe_url_hides_only_the_password():
    assert safe_url("postgresql+psycopg2://u:pw@h:5432/d") == "postgresql+psycopg2://u:***@h:5432/d"
    assert safe_url("sqlite:///data/app.db") == "sqlite:///data/app.db"
