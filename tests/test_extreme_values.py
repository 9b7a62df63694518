"""Extreme but storable values (issue 23): sales of 1.7e308 or a unit cost of 1.7e308 written straight
into the database (bypassing the import rules), and 1e300 values in file mode, give finite numbers or a
clear refusal naming the items; no 500, no SQL in any answer or message, never inf in an output.
Database errors themselves reach callers as a generic message without SQL (logged in full)."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasting.api.app import create_app
from forecasting.api.settings import ApiSettings
from forecasting.cli import main
from forecasting.services.api_keys import ApiKeyService
from forecasting.services.data_access import DataAccess
from forecasting.services.limits import RequestLimits
from forecasting.storage import Database
from tests.support.db import inventory_frame, sales_frame

SECRET = "test-secret-" + "x" * 40
HUGE = 1.7e308
SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "[SQL", "sqlalche.me", "psycopg2", "sqlite3")


@pytest.fixture
def acme(data: DataAccess) -> int:
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({"A": 5.0, "B": 3.0}, days=60))
    data.import_inventory(client, inventory_frame(["A", "B"]))
    return client


def _set(database: Database, sql: str) -> None:
    with database.write() as conn:
        conn.execute(text(sql), {"huge": HUGE})


def _http(database: Database, client_id: int) -> tuple[TestClient, dict[str, str]]:
    http = TestClient(create_app(database, ApiSettings(SECRET), RequestLimits()), raise_server_exceptions=False)
    return http, {"X-API-Key": ApiKeyService(database).create(client_id, "erp").key}


def _no_sql(message: str) -> None:
    assert not any(word in message for word in SQL_WORDS), message


def test_huge_stored_sales_give_clear_refusals_and_a_working_item_list_and_queue(database, db_url, acme, capsys):
    _set(database, "UPDATE sales SET quantity = :huge WHERE item_id = (SELECT id FROM items WHERE external_id = 'A')")
    http, key = _http(database, acme)

    items = http.get("/api/v1/items", headers=key)
    assert items.status_code == 200  # PostgreSQL's float sum overflowed into a 500 before
    totals = {row["item_id"]: row["total_quantity"] for row in items.json()["items"]}
    assert totals["A"] is None and math.isfinite(totals["B"])  # a sum past the float range is unknown

    refusal = "model ma7 gave non-finite numbers for item(s) A: their sales are probably too large to compute with"
    for response in (
        http.post("/api/v1/reorder", headers=key, json={}),
        http.post("/api/v1/forecast", headers=key, json={"item_ids": ["A", "B"], "model": "ma7",
                                                         "prediction_length": 7}),
        http.post("/api/v1/backtest", headers=key, json={"item_ids": ["A", "B"], "models": ["ma7"],
                                                         "prediction_length": 7}),
    ):
        assert response.status_code == 422
        assert response.json()["detail"].startswith(refusal)

    queue = http.get("/api/v1/exceptions", headers=key)  # one item's absurd sales do not fail the client's queue
    assert queue.status_code == 200
    assert {row["item_id"] for row in queue.json()["items"]} <= {"B"}

    capsys.readouterr()
    assert main(["reorder", "--client", "Acme", "--database-url", db_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and refusal in err
    assert main(["exceptions", "--client", "Acme", "--database-url", db_url]) == 0


def test_a_huge_unit_cost_is_refused_by_reorder_and_unknown_in_the_exception_queue(database, acme):
    _set(database, "UPDATE items SET unit_cost = :huge WHERE external_id = 'A'")
    http, key = _http(database, acme)
    reorder = http.post("/api/v1/reorder", headers=key, json={"item_ids": ["A", "B"]})
    assert reorder.status_code == 422
    # a stored value beyond the import bound is refused by the same rule when the plan reads it back
    assert reorder.json()["detail"] == "inventory unit_cost beyond the limit of 1,000,000,000; bad for item(s) A"
    # the queue reads the same item parameters: refused by the same rule, clearly, without SQL
    queue = http.get("/api/v1/exceptions", headers=key)
    assert queue.status_code == 422
    assert queue.json()["detail"] == "inventory unit_cost beyond the limit of 1,000,000,000; bad for item(s) A"


def _sales_file(path, value: float) -> str:
    frame = sales_frame({"A": 5.0, "B": 3.0}, days=60)
    frame.loc[frame["item_id"] == "A", "quantity"] = value
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("model", ["ma7", "ses", "auto"])
def test_file_mode_forecasts_of_huge_values_are_finite_or_refused(tmp_path, capsys, model):
    out = tmp_path / "forecast.csv"
    largest = _sales_file(tmp_path / "largest.csv", 1e9)  # the largest quantity the import rules take
    assert main(["forecast", "--input", largest, "--model", model, "--horizon", "7", "--output", str(out)]) == 0
    values = pd.read_csv(out).drop(columns=["item_id", "date", "model"]).select_dtypes("number").to_numpy()
    assert values.size and (abs(values) < float("inf")).all()  # no inf, no empty cell

    for value in (1e300, HUGE):  # beyond the bound: refused with the rows named, nothing written
        out.unlink(missing_ok=True)
        capsys.readouterr()
        beyond = _sales_file(tmp_path / "beyond.csv", value)
        code = main(["forecast", "--input", beyond, "--model", model, "--horizon", "7", "--output", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and "quantity beyond the limit of 1,000,000,000" in err and not out.exists()


def _refuse_result_rows(database: Database) -> None:
    """A trigger that makes the database refuse every stored forecast value (a real database error)."""
    with database.write() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON forecast_results "
                              "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$"))
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON forecast_results "
                              "FOR EACH ROW EXECUTE FUNCTION refuse()"))


def test_database_errors_reach_callers_without_sql(database, db_url, acme, capsys):
    http, key = _http(database, acme)
    _refuse_result_rows(database)
    forecast = http.post("/api/v1/forecast", headers=key, json={"item_ids": ["A"], "model": "ma7",
                                                                "prediction_length": 7})
    assert forecast.status_code == 500
    assert forecast.json() == {"detail": "internal server error"}
    with database.read() as conn:
        status, error = conn.execute(text("SELECT status, error FROM forecast_runs")).one()
    assert status == "failed" and error.endswith("a database error (details in the log)")
    _no_sql(error)

    capsys.readouterr()
    assert main(["forecast", "--client", "Acme", "--items", "A", "--model", "ma7", "--horizon", "7",
                 "--database-url", db_url]) == 2  # a batch job's failed chunk
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    _no_sql(err)

    _set(database, "ALTER TABLE sales RENAME TO sales_gone")
    items = http.get("/api/v1/items", headers=key)
    assert items.status_code == 500 and items.json() == {"detail": "internal server error"}
    assert main(["exceptions", "--client", "Acme", "--database-url", db_url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    _no_sql(err)
