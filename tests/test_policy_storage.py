"""Policy by class in the database (issue 20): the client's matrix stored and scoped, items' own targets,
database-mode reorder (service and batch) applying the matrix as file mode does."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from forecasting.applications.inventory.targets import DEFAULT_MATRIX, ClassPolicy
from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job
from forecasting.core.errors import InvalidInputError
from forecasting.services.container import build_services
from forecasting.storage import Database
from forecasting.storage.migrate import upgrade
from tests.support.db import inventory_frame


def _custom() -> ClassPolicy:
    return ClassPolicy(levels={**DEFAULT_MATRIX, "AX": 0.99, "CZ": 0.8}, types={
        cell: ("fill" if cell == "BY" else "cycle") for cell in DEFAULT_MATRIX}, abc_thresholds=(0.7, 0.9))


def test_policy_round_trip_and_defaults(data):
    client = data.create_client("Acme").client_id
    other = data.create_client("Other").client_id
    assert data.policy(client) == ClassPolicy()  # nothing stored: the defaults
    version = data.get_client(client).data_version
    data.save_policy(client, _custom())
    assert data.policy(client) == _custom()
    assert data.get_client(client).data_version == version + 1  # answers kept for the old policy are stale
    assert data.policy(other) == ClassPolicy()  # another client's matrix is untouched


def test_invalid_policy_is_refused_before_it_is_stored():
    with pytest.raises(InvalidInputError, match="AX: service level"):
        ClassPolicy(levels={**DEFAULT_MATRIX, "AX": 1.2})


def _sales(days: int = 120) -> pd.DataFrame:
    """'ax': steady high seller (A by value, X: weekly CV ~ 0); 'own' and 'cz': small (C)."""
    dates = pd.date_range("2024-01-01", periods=days)
    rows = [("ax", d, 100.0) for d in dates] + [("own", d, 1.0) for d in dates]
    rows += [("cz", d, 7.0 if i % 14 == 0 else 0.0) for i, d in enumerate(dates)]
    return pd.DataFrame(rows, columns=["item_id", "date", "quantity"])


@pytest.fixture
def world(db_url):
    services = build_services(db_url)
    clients = []
    for name in ("Acme", "Other"):
        client = services.data.create_client(name).client_id
        services.data.import_sales(client, _sales())
        inventory = inventory_frame(["ax", "own", "cz"]).astype({"service_level": object})
        inventory["service_level"] = [None, 0.8, None]  # 'own' keeps its level, the others take their cell
        services.data.import_inventory(client, inventory)
        clients.append(client)
    return services, *clients


def test_database_reorder_applies_the_class_matrix(world, tmp_path):
    services, client, other = world
    stored = services.data.list_items(client).set_index("item_id")
    assert np.isnan(stored.loc["ax", "service_level"]) and stored.loc["own", "service_level"] == 0.8

    table = services.forecasts.reorder(client).set_index("item_id")
    assert (table.loc["ax", "abc"], table.loc["ax", "xyz"]) == ("A", "X")
    assert table.loc["ax", "service_level"] == 0.98  # the default A/X cell
    assert table.loc["own", "service_level"] == 0.8  # its own level wins over its class

    services.data.save_policy(client, _custom())
    table = services.forecasts.reorder(client).set_index("item_id")
    assert table.loc["ax", "service_level"] == 0.99 and table.loc["own", "service_level"] == 0.8
    out = tmp_path / "reorder.parquet"
    run_database_job(services, client, BatchJob("reorder", ("ma7",), chunk_items=2), output=out)
    batch = pd.read_parquet(out).set_index("item_id")
    assert batch.loc["ax", "service_level"] == 0.99 and batch.loc["own", "service_level"] == 0.8
    np.testing.assert_allclose(batch.loc[table.index, "order_up_to"], table["order_up_to"], rtol=1e-12)

    # the other client's reorder still uses the defaults
    assert services.forecasts.reorder(other).set_index("item_id").loc["ax", "service_level"] == 0.98


def test_import_stores_service_type_lead_time_std_and_phase_out(data):
    client = data.create_client("Acme").client_id
    data.import_sales(client, _sales())
    inventory = inventory_frame(["ax", "own"]).assign(service_type=["fill", ""], lead_time_std_days=[1.5, 0.0],
                                                      phase_out=[0, 1])
    data.import_inventory(client, inventory)
    items = data.list_items(client).set_index("item_id")
    assert items.loc["ax", "service_type"] == "fill" and items.loc["own", "service_type"] == ""
    assert items.loc["ax", "lead_time_std_days"] == 1.5 and bool(items.loc["own", "phase_out"])
    assert not bool(items.loc["ax", "phase_out"])


def test_migration_keeps_explicit_levels_and_clears_the_old_default(empty_db_url):
    database = Database(empty_db_url)
    from alembic.script import ScriptDirectory

    from forecasting.storage.migrate import _config

    upgrade(database, ScriptDirectory.from_config(_config()).get_revision("0010_policy").down_revision)
    with database.write() as conn:
        conn.execute(text("INSERT INTO clients (id, name) VALUES (1, 'Acme')"))
        conn.execute(text("INSERT INTO items (client_id, external_id, service_level) "
                          "VALUES (1, 'default', 0.95), (1, 'explicit', 0.9)"))
    upgrade(database)
    with database.read() as conn:
        levels = dict(conn.execute(text("SELECT external_id, service_level FROM items")).all())
    assert levels["default"] is None and levels["explicit"] == 0.9
    database.dispose()


def test_api_policy_admins_edit_their_own_client_only(api):
    admin = api.users.create_user(api.a, "ada", "a-long-password-1", "admin").user_id
    assert admin
    ada = {"Authorization": f"Bearer {api.token('ada', 'a-long-password-1')}"}
    alice = {"Authorization": f"Bearer {api.token('alice')}"}
    answer = api.http.get("/api/v1/policy", headers={"X-API-Key": api.key_a})
    assert answer.status_code == 200 and answer.json()["levels"] == dict(DEFAULT_MATRIX)

    change = {"levels": {"AX": 0.99}, "types": {"BY": "fill"}}
    for headers in (alice, {"X-API-Key": api.key_a}):  # a planner, an API key: not admins
        assert api.http.put("/api/v1/policy", json=change, headers=headers).status_code == 403
    assert api.data.policy(api.a) == ClassPolicy()

    answer = api.http.put("/api/v1/policy", json=change, headers=ada)
    assert answer.status_code == 200, answer.text
    assert answer.json()["levels"]["AX"] == 0.99 and answer.json()["types"]["BY"] == "fill"
    assert api.data.policy(api.a).levels["AX"] == 0.99
    assert api.data.policy(api.b) == ClassPolicy()  # client B never sees or gets A's matrix
    answer = api.http.get("/api/v1/policy", headers={"X-API-Key": api.key_b})
    assert answer.json()["levels"]["AX"] == 0.98 and answer.json()["client_id"] == api.b

    bad = api.http.put("/api/v1/policy", json={"levels": {"AX": 0.3, "QQ": 0.9}}, headers=ada)
    assert bad.status_code == 422
    assert "AX: service level must be between 50.0% and 99.9%" in bad.json()["detail"]
    assert "unknown cell(s) QQ" in bad.json()["detail"] and "Traceback" not in bad.text
    assert api.data.policy(api.a).levels["AX"] == 0.99


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    from forecasting.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_policy_shows_and_changes_one_client(db_url, capsys):
    services = build_services(db_url)
    services.data.create_client("Acme")
    services.data.create_client("Other")
    base = ["--database-url", db_url]
    code, out, _ = _cli(["policy", "--client", "Acme", *base], capsys)
    assert code == 0 and "A,X,0.98,cycle" in out.splitlines()
    code, out, err = _cli(["policy", "--client", "Acme", "--set", "AX=0.99,by=fill", "--abc", "0.7,0.9", *base],
                          capsys)
    assert code == 0 and "A,X,0.99,cycle" in out and "B,Y,0.95,fill" in out and "70%" in err
    assert services.data.policy(services.data.client_by_name("Other").client_id) == ClassPolicy()
    for bad, message in ((["--set", "AX=1.5"], "between 50.0% and 99.9%"), (["--set", "AX"], "CELL=VALUE"),
                         (["--abc", "0.9"], "two shares"), (["--set", "AX=high"], "not a number")):
        code, _, err = _cli(["policy", "--client", "Acme", *bad, *base], capsys)
        assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert services.data.policy(services.data.client_by_name("Acme").client_id).levels["AX"] == 0.99
