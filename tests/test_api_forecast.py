"""REST API over ForecastService: the same numbers as the service and the CLI, caching, every error
status, tenant isolation and the reorder CSV (FastAPI's TestClient; SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from forecasting.api.app import MAX_BODY_BYTES, create_app
from forecasting.api.routes import prefers_csv
from forecasting.api.settings import ApiSettings
from forecasting.applications.inventory.calculator import REORDER_COLUMNS
from forecasting.cli import main
from forecasting.io.csv_export import to_csv_bytes
from forecasting.modes.factory import ModelFactory
from forecasting.applications.quality.calculator import QualityCalculator
from forecasting.storage import Database
from tests.support.api import FORMULA_NAME, SECRET, SHORT_ITEM

FORECAST = "/api/v1/forecast"


def _frame(items: list[dict], levels: list[str]) -> pd.DataFrame:
    """An API forecast's items as a forecast frame (for comparing with the service and the CLI)."""
    rows = []
    for item in items:
        for i, day in enumerate(item["dates"]):
            row = {"item_id": item["item_id"], "date": pd.Timestamp(day), "forecast": item["forecast"][i]}
            row.update({f"q{k}": item["quantiles"][k][i] for k in levels})
            rows.append(row)
    return pd.DataFrame(rows)


def test_forecast_has_the_numbers_of_the_service_the_cli_and_a_hand_computed_ma7(api, tmp_path):
    items, horizon = ["A3", "A1"], 11
    response = api.http.post(
        FORECAST,
        json={"item_ids": items, "prediction_length": horizon, "model": "ma7", "quantile_levels": [0.9, 0.1, 0.5]},
        headers={"X-API-Key": api.key_a},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["client_id"] == api.a and body["model"] == "ma7" and body["prediction_length"] == horizon
    assert body["quantile_levels"] == [0.1, 0.5, 0.9]
    assert [i["item_id"] for i in body["items"]] == ["A1", "A3"]
    got = _frame(body["items"], ["0.1", "0.5", "0.9"])

    # by hand: MA7 is the mean of the last 7 days, flat, from the day after the last sale
    history = api.data.history(api.a, items)
    for item in items:
        sales = history[history.item_id == item].sort_values("date")
        mine = got[got.item_id == item]
        np.testing.assert_allclose(mine["forecast"], sales["quantity"].tail(7).mean(), rtol=1e-12)
        first = sales["date"].iloc[-1] + pd.Timedelta(days=1)
        assert list(mine["date"]) == list(pd.date_range(first, periods=horizon))

    # the service, directly: the very numbers of the stored run
    stored = api.service.get_forecast(api.a, body["forecast_id"]).forecast
    pd.testing.assert_frame_equal(got, stored.drop(columns="model"), check_dtype=False)

    # the CLI in file mode, on the same history exported as a sales CSV (computed from scratch)
    sales_csv, out = tmp_path / "sales.csv", tmp_path / "forecast.csv"
    history[["item_id", "date", "quantity"]].to_csv(sales_csv, index=False)
    assert main(["forecast", "--input", str(sales_csv), "--model", "ma7", "--horizon", str(horizon),
                 "--quantiles", "0.1,0.5,0.9", "--output", str(out)]) == 0
    cli = pd.read_csv(out, parse_dates=["date"])
    assert list(cli.item_id) == list(got.item_id) and list(cli.date) == list(got.date)
    for column in ["forecast", "q0.1", "q0.5", "q0.9"]:
        np.testing.assert_allclose(cli[column], got[column], atol=1e-6)  # the CSV keeps 6 decimals

    # the CLI in database mode answers the same request from the API's run
    db_out = tmp_path / "db.csv"
    assert main(["forecast", "--client", "Acme", "--items", "A1,A3", "--model", "ma7", "--horizon", str(horizon),
                 "--database-url", api.url, "--output", str(db_out)]) == 0
    np.testing.assert_allclose(pd.read_csv(db_out)["forecast"], got["forecast"], atol=1e-6)


def test_an_empty_quantile_list_gives_point_forecasts_that_are_stored_and_read_back(api):
    body = {"item_ids": ["A2"], "prediction_length": 5, "model": "seasonal-naive", "quantile_levels": []}
    first = api.http.post(FORECAST, json=body, headers={"X-API-Key": api.key_a})
    assert first.status_code == 200, first.text
    again = api.http.post(FORECAST, json=body, headers={"X-API-Key": api.key_a})
    stored = api.http.get(f"{FORECAST}/{first.json()['forecast_id']}", headers={"X-API-Key": api.key_a})
    for response in (first, again, stored):
        payload = response.json()
        assert payload["quantile_levels"] == [] and payload["items"][0]["quantiles"] == {}
        assert payload["items"][0]["forecast"] == first.json()["items"][0]["forecast"]
    assert again.json()["cached"] and again.json()["source_forecast_id"] == first.json()["forecast_id"]
    history = api.data.history(api.a, ["A2"])["quantity"].to_numpy()
    np.testing.assert_allclose(first.json()["items"][0]["forecast"], history[-7:][:5])  # last week repeated

    default = api.http.post(FORECAST, json={k: v for k, v in body.items() if k != "quantile_levels"},
                            headers={"X-API-Key": api.key_a})
    assert default.json()["quantile_levels"] == [0.1, 0.5, 0.9]


def test_a_repeated_request_is_cached_and_new_sales_compute_again(api):
    request = {"item_ids": ["A2"], "prediction_length": 9, "model": "seasonal-naive"}
    headers = {"X-API-Key": api.key_a}
    first = api.http.post(FORECAST, json=request, headers=headers).json()
    second = api.http.post(FORECAST, json=request, headers=api.bearer("alice")).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["forecast_id"] != first["forecast_id"]
    assert second["source_forecast_id"] == first["forecast_id"]
    assert second["items"] == first["items"]
    stored = api.http.get(f"{FORECAST}/{second['forecast_id']}", headers=headers).json()
    assert stored["cached"] is True and stored["items"] == first["items"]
    runs = api.data.list_runs(api.a, limit=5).set_index("run_id")
    assert runs.loc[second["forecast_id"], "user"] == "alice"  # a token's runs record the user
    assert runs.loc[first["forecast_id"], "user"] == ""  # a key acts for the client, not a user

    last = date.fromisoformat(first["items"][0]["dates"][0]) - timedelta(days=1)
    api.data.import_sales(api.a, pd.DataFrame({"item_id": ["A2"], "date": [pd.Timestamp(last)], "quantity": [99.0]}))
    third = api.http.post(FORECAST, json=request, headers=headers).json()
    assert third["cached"] is False
    assert third["items"][0]["forecast"] != first["items"][0]["forecast"]


def test_get_forecast_returns_the_stored_run_and_404_for_unknown_or_other_kinds_of_runs(api):
    headers = {"X-API-Key": api.key_a}
    made = api.http.post(FORECAST, json={"item_ids": ["A1"], "prediction_length": 5, "model": "ma7"},
                         headers=headers).json()
    got = api.http.get(f"{FORECAST}/{made['forecast_id']}", headers=headers)
    assert got.status_code == 200 and got.json()["items"] == made["items"]

    missing = api.http.get(f"{FORECAST}/999999", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "run 999999 not found for this client"}
    backtest = api.http.post("/api/v1/backtest", json={"item_ids": ["A1"], "prediction_length": 7, "models": ["ma7"]},
                             headers=headers).json()
    not_forecast = api.http.get(f"{FORECAST}/{backtest['backtest_id']}", headers=headers)
    assert not_forecast.status_code == 404 and "backtest run" in not_forecast.json()["detail"]
    assert api.http.get(f"{FORECAST}/0", headers=headers).status_code == 422
    assert api.http.get(f"{FORECAST}/{2**31}", headers=headers).status_code == 422  # beyond 32-bit ids


def test_backtest_metrics_are_those_of_the_quality_calculator_and_the_cli(api, tmp_path):
    items = ["A1", "A2", "A3"]
    response = api.http.post(
        "/api/v1/backtest",
        json={"item_ids": items, "prediction_length": 7, "models": ["ma7", "seasonal-naive"], "windows": 3,
              "quantile_levels": [0.1, 0.9]},
        headers=api.bearer("alice"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["models"] == ["ma7", "seasonal-naive"] and body["windows"] == 3
    got = pd.DataFrame(body["metrics"])

    history = api.data.history(api.a, items)
    expected = QualityCalculator.backtest(history, ["ma7", "seasonal-naive"], 7, 3, [0.1, 0.9]).metrics
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)
    overall = expected[expected.item_id == "__overall__"].set_index("model")
    best_wape = overall["wape"].idxmin()
    assert body["best"]["wape"] == [best_wape] and body["best"]["mae"] == [overall["mae"].idxmin()]
    # over whole weeks MA7 and the last week repeated forecast the same total: their bias ties
    assert np.isclose(overall.loc["ma7", "bias"], overall.loc["seasonal-naive", "bias"])
    assert body["best"]["bias"] == ["ma7", "seasonal-naive"]
    assert body["best"]["coverage"] == [(overall["coverage"] - 0.8).abs().idxmin()]

    sales_csv, out = tmp_path / "sales.csv", tmp_path / "metrics.csv"
    history[["item_id", "date", "quantity"]].to_csv(sales_csv, index=False)
    assert main(["backtest", "--input", str(sales_csv), "--model", "ma7,seasonal-naive", "--horizon", "7",
                 "--windows", "3", "--quantiles", "0.1,0.9", "--output", str(out)]) == 0
    cli = pd.read_csv(out)
    np.testing.assert_allclose(cli["wql"], got["wql"], atol=1e-6)
    np.testing.assert_allclose(cli["mae"], got["mae"], atol=1e-6)


def test_reorder_json_and_csv_are_the_service_table_with_formulas_neutralised(api):
    headers = {"X-API-Key": api.key_a}
    request = {"item_ids": ["A1", "A2"], "service_level": 0.9}
    as_json = api.http.post("/api/v1/reorder", json=request, headers=headers)
    assert as_json.status_code == 200, as_json.text
    body = as_json.json()
    expected = api.service.reorder(api.a, ["A1", "A2"], "ma7", service_level=0.9)
    rows = pd.DataFrame(body["items"])
    assert list(rows.columns) == REORDER_COLUMNS
    assert list(rows.item_id) == list(expected.item_id)
    np.testing.assert_allclose(rows["reorder_point"], expected["reorder_point"], rtol=1e-12)
    np.testing.assert_allclose(rows["order_qty"], expected["order_qty"], rtol=1e-12)
    assert rows.loc[rows.item_id == "A1", "name"].item() == FORMULA_NAME  # JSON carries the text as it is

    as_csv = api.http.post("/api/v1/reorder", json=request, headers={**headers, "Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content == to_csv_bytes(expected)
    table = pd.read_csv(io.BytesIO(as_csv.content))
    assert table.loc[table.item_id == "A1", "name"].item() == "'" + FORMULA_NAME
    assert int(as_csv.headers["x-run-id"]) > body["reorder_id"]


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/csv", True),
        ("text/csv, application/json", True),
        ("application/json, text/csv", False),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0, application/json", False),
        ("text/html", False),
    ],
)
def test_accept_header_negotiation(accept, csv):
    assert prefers_csv(accept) is csv


def test_models_and_items_and_health(api, monkeypatch, tmp_path):
    monkeypatch.setenv("CHRONOS_MODEL", str(tmp_path / "no-weights"))
    headers = {"X-API-Key": api.key_b}
    models = api.http.get("/api/v1/models", headers=headers).json()["models"]
    assert [m["name"] for m in models] == ModelFactory.names()
    chronos = next(m for m in models if m["name"] == "chronos-2")
    assert chronos["available"] is False and "no Chronos-2 weights" in chronos["reason"]
    assert all(m["available"] for m in models if m["name"] != "chronos-2")

    items = api.http.get("/api/v1/items", headers=headers).json()
    expected = api.data.list_items(api.b)
    assert items["client_id"] == api.b
    assert [i["item_id"] for i in items["items"]] == list(expected.item_id) == ["B1", "SHARED"]
    assert [i["total_quantity"] for i in items["items"]] == list(expected.total_quantity)
    assert api.http.get("/api/v1/items", params={"category": "nothing"}, headers=headers).json()["items"] == []

    assert api.http.get("/health").json() == {"status": "ok", "database": "ok"}
    assert api.http.get("/docs").status_code == 200
    assert set(api.http.get("/openapi.json").json()["paths"]) >= {FORECAST, "/api/v1/reorder", "/health"}


def test_tenant_isolation_a_key_or_token_of_b_never_reaches_a(api):
    a_run = api.http.post(FORECAST, json={"item_ids": ["A1"], "prediction_length": 4, "model": "ma7"},
                          headers={"X-API-Key": api.key_a}).json()["forecast_id"]
    for headers in ({"X-API-Key": api.key_b}, api.bearer("bob")):
        items = api.http.get("/api/v1/items", headers=headers).json()
        assert {i["item_id"] for i in items["items"]} == {"B1", "SHARED"}

        # A's item ids and run ids look exactly like missing ones
        forecast = api.http.post(FORECAST, json={"item_ids": ["A1"], "prediction_length": 4, "model": "ma7"},
                                 headers=headers)
        assert forecast.status_code == 404 and forecast.json() == {"detail": "unknown item(s) for this client: A1"}
        run = api.http.get(f"{FORECAST}/{a_run}", headers=headers)
        assert run.status_code == 404 and run.json() == {"detail": f"run {a_run} not found for this client"}
        reorder = api.http.post("/api/v1/reorder", json={"item_ids": ["A1"]}, headers=headers)
        assert reorder.status_code == 404
        whole = api.http.post("/api/v1/reorder", json={}, headers=headers).json()
        assert {r["item_id"] for r in whole["items"]} == {"B1", "SHARED"}

        # naming client A is refused outright
        for method, path, body in [
            ("post", FORECAST, {"item_ids": ["A1"], "prediction_length": 4, "model": "ma7", "client_id": api.a}),
            ("post", "/api/v1/backtest", {"item_ids": ["A1"], "prediction_length": 4, "models": ["ma7"],
                                          "client_id": api.a}),
            ("post", "/api/v1/reorder", {"client_id": api.a}),
        ]:
            refused = api.http.request(method, path, json=body, headers=headers)
            assert refused.status_code == 403
            assert refused.json() == {"detail": f"client {api.a} is not the client of these credentials"}
        listed = api.http.get("/api/v1/items", params={"client_id": api.a}, headers=headers)
        assert listed.status_code == 403

    # SHARED exists for both: each client gets the forecast of its own sales
    def shared(headers: dict) -> float:
        body = api.http.post(FORECAST, json={"item_ids": ["SHARED"], "prediction_length": 1, "model": "ma7"},
                             headers=headers).json()
        return body["items"][0]["forecast"][0]

    for client, key in ((api.a, api.key_a), (api.b, api.key_b)):
        history = api.data.history(client, ["SHARED"])
        assert shared({"X-API-Key": key}) == pytest.approx(history["quantity"].tail(7).mean(), rel=1e-12)
    assert shared({"X-API-Key": api.key_a}) != shared({"X-API-Key": api.key_b})


def test_oversized_bodies_are_refused_with_a_json_413(api):
    body = json.dumps({"item_ids": ["x" * 150] * 30_000, "prediction_length": 7, "model": "ma7"}).encode()
    assert len(body) > MAX_BODY_BYTES
    headers = {"X-API-Key": api.key_a, "Content-Type": "application/json"}
    announced = api.http.post(FORECAST, content=body, headers=headers)
    chunked = api.http.post(FORECAST, content=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                            headers=headers)
    for response in (announced, chunked):
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body too large: at most {MAX_BODY_BYTES} bytes"}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"prediction_length": 0}, "prediction_length"),
        ({"prediction_length": 366}, "prediction_length"),
        ({"prediction_length": "7"}, "prediction_length"),
        ({"prediction_length": True}, "prediction_length"),
        ({"item_ids": []}, "item_ids"),
        ({"item_ids": ["A\x00"]}, "item_ids"),
        ({"item_ids": ["A\nB"]}, "item_ids"),  # the import rule: no control characters in an item id
        ({"item_ids": ["x" * 201]}, "item_ids"),
        ({"model": "arima"}, "model"),
        ({"quantile_levels": [1.5]}, "quantile_levels"),
        ({"quantile_levels": [0.5, 0.5]}, "quantile_levels"),
        ({"quantile_levels": [0.1, 0.1000000001]}, "quantile_levels"),
        ({"horizon": 7}, "horizon"),
        ({"client_id": "1"}, "client_id"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field_without_echoing_input(api, change, where):
    body = {"item_ids": ["A1"], "prediction_length": 7, "model": "ma7", **change}
    response = api.http.post(FORECAST, json=body, headers={"X-API-Key": api.key_a})
    assert response.status_code == 422
    payload = response.json()
    assert payload["detail"].startswith("invalid request: ") and where in payload["detail"]
    assert any(where in e["loc"] for e in payload["errors"])
    assert "input" not in payload["errors"][0]


def test_requests_the_service_rejects_are_422_and_unavailable_models_503(api, monkeypatch, tmp_path):
    headers = {"X-API-Key": api.key_a}
    short = api.http.post(FORECAST, json={"item_ids": [SHORT_ITEM], "prediction_length": 7, "model": "ma7"},
                          headers=headers)
    assert short.status_code == 422 and SHORT_ITEM in short.json()["detail"]
    too_long = api.http.post("/api/v1/backtest", json={"item_ids": ["A1"], "prediction_length": 100,
                                                       "models": ["ma7"], "windows": 3}, headers=headers)
    assert too_long.status_code == 422 and "needs at least" in too_long.json()["detail"]
    no_stock = api.http.post("/api/v1/reorder", json={"item_ids": ["SHARED"]}, headers=headers)
    assert no_stock.status_code == 422 and "no inventory position" in no_stock.json()["detail"]

    monkeypatch.setenv("CHRONOS_MODEL", str(tmp_path / "no-weights"))
    unavailable = api.http.post(FORECAST, json={"item_ids": ["A1"], "prediction_length": 7, "model": "chronos-2"},
                                headers=headers)
    assert unavailable.status_code == 503
    detail = unavailable.json()["detail"]
    assert detail.startswith("model chronos-2 cannot run here: no Chronos-2 weights at ")
    assert "Traceback" not in unavailable.text


def test_unreachable_database_is_503_and_unexpected_errors_are_500_without_a_trace(api):
    down = Database("postgresql+psycopg2://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    with TestClient(create_app(down, ApiSettings(SECRET))) as http:
        response = http.get("/health")
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is not available; try again later"}
    down.dispose()

    app = create_app(api.database, ApiSettings(SECRET))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}


def test_auto_forecasts_say_which_model_each_item_got(api):
    body = {"item_ids": ["A1", "A3"], "prediction_length": 7, "model": "auto"}
    response = api.http.post(FORECAST, json=body, headers={"X-API-Key": api.key_a})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    stored = api.service.get_forecast(api.a, response.json()["forecast_id"]).forecast
    for item in items:
        mine = stored[stored.item_id == item["item_id"]]
        assert item["chosen_model"] == mine["chosen_model"].iloc[0] and item["choice"].startswith("validated")
    plain = api.http.post(FORECAST, json={**body, "model": "ma7"}, headers={"X-API-Key": api.key_a}).json()
    assert all(i["chosen_model"] is None and i["choice"] is None for i in plain["items"])


def test_exceptions_are_the_services_queue_for_the_callers_client_only(api):
    a = api.http.get("/api/v1/exceptions", headers={"X-API-Key": api.key_a})
    assert a.status_code == 200, a.text
    body = a.json()
    expected = api.service.exceptions(api.a).queue
    assert body["client_id"] == api.a and body["model"] == "ma7"
    assert [i["item_id"] for i in body["items"]] == expected["item_id"].tolist()
    assert [i["reason"] for i in body["items"]] == expected["reason"].tolist()
    assert api.http.get("/api/v1/exceptions", headers={"X-API-Key": api.key_a}).json()["cached"] is True
    b = api.http.get("/api/v1/exceptions", headers={"X-API-Key": api.key_b}).json()
    assert {i["item_id"] for i in b["items"]} <= {"B1", "SHARED"}  # only client B's items
    forbidden = api.http.get(f"/api/v1/exceptions?client_id={api.b}", headers={"X-API-Key": api.key_a})
    assert forbidden.status_code == 403
