"""Service API keys: stored only as SHA-256, shown once, revocable, scoped to a client; their CLI
commands; the api_keys migration (SQLite and PostgreSQL)."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text, update

from forecasting.cli import main
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.services.data_access import DataAccess
from forecasting.services.users import UserService
from forecasting.storage import Database
from forecasting.services.api_keys import KEY_PREFIX, ApiKeyService, InvalidApiKeyError
from forecasting.storage.models import ApiKey
from forecasting.storage.migrate import MIGRATIONS, current_revision, downgrade, head_revision, upgrade
from forecasting.storage.models import Base, utcnow

MIGRATION = "0002_api_keys.py"


@pytest.fixture
def setup(database):
    data = DataAccess(database)
    return ApiKeyService(database), data.create_client("Acme").client_id, data.create_client("Bolt").client_id


def _stored(database: Database) -> list[dict]:
    with database.read() as conn:
        return [dict(r) for r in conn.execute(text("SELECT * FROM api_keys ORDER BY id")).mappings()]


def test_a_key_is_shown_once_and_stored_only_as_its_sha256(database, setup):
    keys, a, _ = setup
    created = keys.create(a, "ERP nightly")
    assert created.key.startswith(KEY_PREFIX) and len(created.key) == len(KEY_PREFIX) + 43
    assert keys.create(a).key != created.key

    row = _stored(database)[0]
    assert row["key_hash"] == hashlib.sha256(created.key.encode()).hexdigest()
    assert row["prefix"] == created.key[:12] and row["name"] == "ERP nightly"
    assert not any(created.key in str(value) for value in row.values())  # the key itself is nowhere

    info = keys.verify(created.key)
    assert (info.key_id, info.client_id, info.active) == (created.key_id, a, True)
    listed = keys.list_keys(a)
    assert [k.key_id for k in listed] == [created.key_id + 1, created.key_id]  # newest first
    assert not hasattr(listed[0], "key") and not hasattr(listed[0], "key_hash")


def test_revocation_is_immediate_idempotent_and_kept_in_the_list(setup):
    keys, a, _ = setup
    created = keys.create(a, "old")
    first = keys.revoke(a, created.key_id)
    assert first.revoked_at is not None and not first.active
    with pytest.raises(InvalidApiKeyError, match="invalid or revoked API key"):
        keys.verify(created.key)
    assert keys.revoke(a, created.key_id).revoked_at == first.revoked_at  # revoking again changes nothing
    assert [k.active for k in keys.list_keys(a)] == [False]
    assert keys.list_keys(a, include_revoked=False) == []


def test_keys_are_scoped_to_their_client(database, setup):
    keys, a, b = setup
    created = keys.create(a, "a's key")
    assert keys.list_keys(b) == []
    with pytest.raises(NotFoundError, match=f"API key {created.key_id} not found for this client"):
        keys.revoke(b, created.key_id)
    assert keys.verify(created.key).client_id == a  # still works after B's attempt
    with pytest.raises(NotFoundError, match="client 999 not found"):
        keys.create(999)
    users = UserService(database, bcrypt_rounds=4)
    b_admin = users.create_user(b, "b-admin", "password-123", "admin")
    with pytest.raises(NotFoundError, match="not found for this client"):
        keys.create(a, "by someone of B", created_by=b_admin.user_id)
    a_admin = users.create_user(a, "a-admin", "password-123", "admin")
    assert keys.list_keys(a)[0].created_by is None
    assert keys.create(a, "by A's admin", created_by=a_admin.user_id).key_id > created.key_id
    assert keys.list_keys(a)[0].created_by == a_admin.user_id


@pytest.mark.parametrize("bad", ["", "fck_", "fck_" + "x" * 300, "Bearer fck_abc", None])
def test_malformed_keys_are_refused(setup, bad):
    keys, _, _ = setup
    with pytest.raises(InvalidApiKeyError):
        keys.verify(bad)


def test_labels_are_limited(setup):
    keys, a, _ = setup
    with pytest.raises(ForecastingError, match="longer than 100 characters"):
        keys.create(a, "x" * 101)


def test_last_use_is_recorded_at_most_once_a_minute(database, setup):
    keys, a, _ = setup
    created = keys.create(a)
    assert keys.list_keys(a)[0].last_used_at is None
    first = keys.verify(created.key)
    used = keys.list_keys(a)[0].last_used_at
    assert used is not None and first.last_used_at is None  # verify returns the row as it was read
    keys.verify(created.key)
    assert keys.list_keys(a)[0].last_used_at == used  # within the minute: no write
    earlier = utcnow() - timedelta(minutes=2)
    with database.write() as conn:
        conn.execute(update(ApiKey.__table__).values(last_used_at=earlier))
    keys.verify(created.key)
    assert keys.list_keys(a)[0].last_used_at > earlier + timedelta(minutes=1)


def test_cli_creates_lists_and_revokes_keys(db_url, capsys):
    assert main(["create-client", "Acme Foods", "--database-url", db_url]) == 0
    capsys.readouterr()
    assert main(["create-api-key", "--client", "Acme Foods", "--name", "ERP", "--database-url", db_url]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith(KEY_PREFIX) and "\n" not in key
    assert "store it now, it is not shown again" in out.err

    assert main(["list-api-keys", "--client", "Acme Foods", "--database-url", db_url]) == 0
    listed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(listed.columns) == ["key_id", "name", "prefix", "status", "created_at", "last_used_at", "revoked_at"]
    assert listed[["name", "prefix", "status"]].values.tolist() == [["ERP", key[:12], "active"]]
    key_id = int(listed.key_id[0])

    database = Database(db_url)
    assert ApiKeyService(database).verify(key).key_id == key_id
    assert main(["revoke-api-key", "--client", "Acme Foods", str(key_id), "--database-url", db_url]) == 0
    assert f"API key {key_id} ({key[:12]}...) of client 'Acme Foods' is revoked" in capsys.readouterr().out
    with pytest.raises(InvalidApiKeyError):
        ApiKeyService(database).verify(key)
    database.dispose()

    assert main(["revoke-api-key", "--client", "Nobody", "1", "--database-url", db_url]) == 2
    assert capsys.readouterr().err.strip() == "error: client 'Nobody' not found"
    assert main(["revoke-api-key", "--client", "Acme Foods", "99", "--database-url", db_url]) == 2
    assert "API key 99 not found for this client" in capsys.readouterr().err
    assert main(["serve-api", "--port", "70000", "--database-url", db_url]) == 2
    assert "port must be a whole number from 1 to 65535" in capsys.readouterr().err


def test_the_migration_is_the_single_head_and_creates_exactly_the_model(empty_db_url):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1
    mine = next(s for s in scripts.walk_revisions() if s.path.endswith(MIGRATION))
    database = Database(empty_db_url)
    assert current_revision(database) is None
    upgrade(database)
    with database.read() as conn:
        assert "api_keys" in inspect(conn).get_table_names()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "api_keys" in repr(d)] == []

    downgrade(database, mine.down_revision)
    with database.read() as conn:
        assert "api_keys" not in inspect(conn).get_table_names()
    upgrade(database)
    assert current_revision(database) == head_revision()
    database.dispose()
