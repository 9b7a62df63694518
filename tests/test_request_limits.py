"""Request limits (docs/security.md): cost budgets, computation slots, the stored-results quota, run pruning,
and SQLite's busy timeout, through the service and the REST API, on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasting.api.app import create_app
from forecasting.api.settings import ApiSettings
from forecasting.cli import main
from forecasting.core.errors import ResultsRemovedError
from forecasting.modes.factory import COST_WEIGHTS
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import BusyError, ComputationSlots, LimitExceededError, RequestLimits
from forecasting.storage import Database, DatabaseBusyError
from forecasting.storage.models import utcnow
from tests.support.db import inventory_frame, sales_frame

SECRET = "test-secret-" + "x" * 40
ITEMS = ["A", "B", "C"]
LEVELS = [0.1, 0.5, 0.9]


@pytest.fixture
def acme(data: DataAccess) -> int:
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({i: 5.0 for i in ITEMS}, days=60))
    data.import_inventory(client, inventory_frame(ITEMS))
    return client


def _service(data: DataAccess, **limits) -> ForecastService:
    return ForecastService(data, RequestLimits(**limits))


def _api(database: Database, **limits) -> TestClient:
    return TestClient(create_app(database, ApiSettings(SECRET), RequestLimits(**limits)))


def _key(database: Database, client_id: int) -> dict[str, str]:
    from forecasting.services.api_keys import ApiKeyService

    return {"X-API-Key": ApiKeyService(database).create(client_id, "erp").key}


# --- cost budgets ------------------------------------------------------------------------------


def test_the_attack_requests_of_the_review_are_refused_before_any_work(database, data, acme):
    """200 items x 365 days x 99 levels (118 MB of JSON), and 191 items x 52 windows x 7 days x 2 models."""
    http = _api(database)
    key = _key(database, acme)
    many = [f"X{i}" for i in range(200)]
    levels = [round(0.01 * i, 2) for i in range(1, 100)]
    forecast = http.post("/api/v1/forecast", headers=key,
                         json={"item_ids": many, "model": "ma7", "prediction_length": 365, "quantile_levels": levels})
    assert forecast.status_code == 422
    assert forecast.json() == {"detail": "99 quantile levels asked for; this server computes at most 25"}
    forecast = http.post("/api/v1/forecast", headers=key,
                         json={"item_ids": many, "model": "ma7", "prediction_length": 365, "quantile_levels": levels[:25]})
    assert forecast.status_code == 422
    assert forecast.json()["detail"].startswith(
        "this forecast is too big for one request: 200 items x 365 days x (25 quantile levels + the point "
        "forecast) = 1,898,000, over this server's limit of 500,000"
    )
    backtest = http.post("/api/v1/backtest", headers=key, json={
        "item_ids": many[:191], "models": ["ma7", "seasonal-naive"], "prediction_length": 7, "windows": 52,
        "quantile_levels": levels[:25]})
    assert backtest.status_code == 422
    assert backtest.json()["detail"].startswith(
        "this backtest is too big for one request: 191 items x 52 windows x 7 days x 2 models x "
        "(25 quantile levels + the point forecast) = 3,615,248, over this server's limit of 2,000,000"
    )
    with database.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM forecast_runs")).scalar_one() == 0  # nothing recorded


def test_the_expensive_backtests_of_issue_23_are_refused_by_the_window_cap_and_the_cost_budget(database, data, acme):
    """holt on 194 items x 100 windows x 1 day took 425 s, auto on 5 items x 100 windows 124 s."""
    http = _api(database)
    key = _key(database, acme)
    many = [f"X{i}" for i in range(194)]

    def backtest(model: str, items: int, windows: int):
        return http.post("/api/v1/backtest", headers=key, json={
            "item_ids": many[:items], "models": [model], "prediction_length": 1, "windows": windows,
            "quantile_levels": []})

    for model, items in (("holt", 194), ("auto", 5)):
        refused = backtest(model, items, 100)
        assert refused.status_code == 422
        assert refused.json() == {"detail": "100 backtest windows asked for; this server computes at most 52"}
    # within the window cap, the fits' cost (factory.COST_WEIGHTS: per item, per call) is over the budget
    holt = backtest("holt", 194, 52)
    assert holt.status_code == 422
    per_item, per_call = COST_WEIGHTS["holt"]
    cost = 52 * (194 * per_item + per_call)
    assert holt.json()["detail"].startswith(
        f"this backtest costs too much to compute for one request: 194 items x 52 windows of holt = {cost:,} cost "
        f"units, over this server's limit of 120,000 (max_cost_units)"
    )
    per_item, per_call = COST_WEIGHTS["auto"]
    auto = backtest("auto", 5, 52)
    assert auto.status_code == 422
    assert f"5 items x 52 windows of auto = {52 * (5 * per_item + per_call):,} cost units" in auto.json()["detail"]
    with database.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM forecast_runs")).scalar_one() == 0  # nothing recorded


def test_the_cost_budget_is_exact_at_its_limit_and_counts_forecasts_and_reorder_plans(data, acme):
    per_item, per_call = COST_WEIGHTS["ma7"]
    one_window = 3 * per_item + per_call
    at_limit = _service(data, max_cost_units=2 * one_window)
    assert len(at_limit.backtest(acme, ITEMS, "ma7", 7, 2).metrics) == 4  # 2 windows: allowed
    with pytest.raises(LimitExceededError, match=rf"3 items x 3 windows of ma7 = {3 * one_window} cost units"):
        at_limit.backtest(acme, ITEMS, "ma7", 7, 3)
    tight = _service(data, max_cost_units=one_window - 1)
    with pytest.raises(LimitExceededError, match=r"^this forecast costs too much .*: 3 items of ma7 = "):
        tight.forecast(acme, ITEMS, "ma7", 7)
    with pytest.raises(LimitExceededError, match=r"^this reorder plan costs too much .*: 3 items of ma7 = "):
        tight.reorder(acme, ITEMS)
    with pytest.raises(LimitExceededError, match=r"max_cost_units"):
        tight.exceptions(acme)


def test_the_items_of_one_request_are_capped_to_bound_its_memory(data, acme):
    """A 10,000-item forecast of 2 years' history adds about 0.8 GB (benchmarks/results/memory.md)."""
    at_limit = _service(data, max_items=3)
    assert len(at_limit.forecast(acme, ITEMS, "ma7", 7).item_ids) == 3
    over = _service(data, max_items=2)
    message = r"^3 items asked for; this server computes at most 2 in one request \(max_items\)"
    with pytest.raises(LimitExceededError, match=message):
        over.forecast(acme, ITEMS, "ma7", 7)
    with pytest.raises(LimitExceededError, match=message):
        over.backtest(acme, ITEMS, "ma7", 7)
    with pytest.raises(LimitExceededError, match=message):
        over.reorder(acme)
    with pytest.raises(LimitExceededError, match=message):
        over.exceptions(acme)


def test_each_budget_is_exact_at_its_limit(data, acme):
    at_limit = _service(data, max_forecast_values=3 * 7 * 4, max_reorder_item_days=3 * 28)
    assert len(at_limit.forecast(acme, ITEMS, "ma7", 7, LEVELS).forecast) == 21  # 3 x 7 x (3 + 1): allowed
    with pytest.raises(LimitExceededError, match=r"= 96, over this server's limit of 84"):
        at_limit.forecast(acme, ITEMS, "ma7", 8, LEVELS)
    assert len(at_limit.reorder(acme, ITEMS)) == 3  # 3 items x 28 days (the shortest reorder horizon)
    over = _service(data, max_reorder_item_days=83)
    with pytest.raises(LimitExceededError, match=r"^this reorder plan is too big for one request: 3 items x 28 days"):
        over.reorder(acme, ITEMS)
    with pytest.raises(LimitExceededError, match="this reorder plan is too big"):
        over.exceptions(acme)
    with pytest.raises(LimitExceededError, match=r"3 items x 2 windows x 7 days x 1 models .* = 168, over .* 167"):
        _service(data, max_backtest_values=167).backtest(acme, ITEMS, "ma7", 7, 2, LEVELS)


def test_batch_jobs_run_without_the_limits(data, acme):
    assert len(ForecastService(data).forecast(acme, ITEMS, "ma7", 7, [i / 40 for i in range(1, 40)]).forecast) == 21


def test_limits_come_from_the_environment_and_bad_values_are_errors():
    limits = RequestLimits.from_env({"FORECAST_LIMIT_MAX_QUANTILE_LEVELS": "49", "FORECAST_LIMIT_SLOT_WAIT_S": "2.5"},
                                    computations_per_client=2)
    assert (limits.max_quantile_levels, limits.slot_wait_s, limits.computations_per_client) == (49, 2.5, 2)
    with pytest.raises(ValueError, match="FORECAST_LIMIT_MAX_FORECAST_VALUES must be a number, got 'lots'"):
        RequestLimits.from_env({"FORECAST_LIMIT_MAX_FORECAST_VALUES": "lots"})
    with pytest.raises(ValueError, match="FORECAST_LIMIT_COMPUTATIONS_PER_PROCESS must be positive"):
        RequestLimits.from_env({"FORECAST_LIMIT_COMPUTATIONS_PER_PROCESS": "0"})


# --- computation slots -------------------------------------------------------------------------


def test_a_busy_client_gets_429_with_retry_after_while_others_are_served(database, data, acme):
    other = data.create_client("Bolt").client_id
    data.import_sales(other, sales_frame({"B1": 3.0}, days=60))
    app = create_app(database, ApiSettings(SECRET), RequestLimits())
    http = TestClient(app)
    key, other_key = _key(database, acme), _key(database, other)
    body = {"item_ids": ITEMS, "model": "ma7", "prediction_length": 7}
    with app.state.api.services.forecasts.slots.hold(acme):  # a computation of Acme is running
        busy = http.post("/api/v1/forecast", headers=key, json=body)
        assert busy.status_code == 429 and busy.headers["retry-after"] == "5"
        assert busy.json() == {"detail": "your organisation already has 1 computation(s) running on this server: "
                                         "try again in 5 seconds"}
        served = http.post("/api/v1/forecast", headers=other_key, json={"item_ids": ["B1"], "model": "ma7", "prediction_length": 7})
        assert served.status_code == 200
    assert http.post("/api/v1/forecast", headers=key, json=body).status_code == 200


def test_a_full_process_refuses_after_waiting_and_serves_once_a_slot_frees():
    slots = ComputationSlots(per_process=2, per_client=1, wait_s=0.05)
    with slots.hold(1), slots.hold(2):
        with pytest.raises(BusyError, match="^the server is busy with other computations") as refused:
            with slots.hold(3):
                pass
        assert refused.value.retry_after_s == 5
    waiting = ComputationSlots(per_process=1, per_client=1, wait_s=60)
    entered, release = threading.Event(), threading.Event()

    def hold_then_release():
        with waiting.hold(1):
            entered.set()
            release.wait(60)

    holder = threading.Thread(target=hold_then_release)
    holder.start()
    assert entered.wait(60)
    threading.Timer(0.1, release.set).start()
    with waiting.hold(2):  # waits for the first one instead of refusing
        pass
    holder.join(60)


def test_cached_answers_need_no_slot(data, acme):
    service = _service(data)
    first = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    with service.slots.hold(acme):
        again = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
        with pytest.raises(BusyError):
            service.forecast(acme, ITEMS, "ma7", 8, LEVELS)
    assert again.cached and again.source_run_id == first.run_id


# --- stored results ----------------------------------------------------------------------------


def _stored_rows(database: Database) -> int:
    with database.read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM forecast_results")).scalar_one()


def test_older_runs_lose_their_results_beyond_the_quota_and_answer_410(database, data, acme):
    per_run = 3 * 7 * 4  # items x days x (levels + 1)
    service = _service(data, stored_values_per_client=2 * per_run)
    runs = [service.forecast(acme, ITEMS, "ma7", 7, [0.1, 0.5, level]) for level in (0.6, 0.7, 0.8)]
    assert _stored_rows(database) == 2 * 21
    with pytest.raises(ResultsRemovedError, match=f"the results of run {runs[0].run_id} are no longer stored"):
        service.get_forecast(acme, runs[0].run_id)
    assert len(service.get_forecast(acme, runs[1].run_id).forecast) == 21
    again = service.forecast(acme, ITEMS, "ma7", 7, [0.1, 0.5, 0.6])  # computed again, not from removed results
    assert not again.cached and _stored_rows(database) == 2 * 21

    http = _api(database, stored_values_per_client=2 * per_run)
    gone = http.get(f"/api/v1/forecast/{runs[0].run_id}", headers=_key(database, acme))
    assert gone.status_code == 410 and "no longer stored" in gone.json()["detail"]


def test_the_newest_run_is_kept_even_when_it_alone_is_over_the_quota(database, data, acme):
    service = _service(data, stored_values_per_client=10)
    first = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    second = service.forecast(acme, ITEMS, "ma7", 8, LEVELS)
    assert len(service.get_forecast(acme, second.run_id).forecast) == 24
    with pytest.raises(ResultsRemovedError):
        service.get_forecast(acme, first.run_id)
    assert _stored_rows(database) == 24


def test_quotas_are_per_client(database, data, acme):
    other = data.create_client("Bolt").client_id
    data.import_sales(other, sales_frame({"B1": 3.0}, days=60))
    service = _service(data, stored_values_per_client=3 * 7 * 4)
    mine = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    service.forecast(other, ["B1"], "ma7", 7, LEVELS)
    service.forecast(other, ["B1"], "ma7", 8, LEVELS)
    assert len(service.get_forecast(acme, mine.run_id).forecast) == 21  # Bolt's runs never remove Acme's


def test_prune_runs_deletes_a_clients_old_runs_and_their_results(database, data, acme, db_url, capsys):
    service = ForecastService(data)
    old = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    cached = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    with database.write() as conn:
        conn.execute(text("UPDATE forecast_runs SET created_at = :t WHERE id = :id"),
                     {"t": utcnow() - timedelta(days=100), "id": old.run_id})
    assert main(["prune-runs", "--client", "Acme", "--older-than-days", "90", "--database-url", db_url]) == 0
    assert "deleted 1 run(s) of client 'Acme' older than 90 days" in capsys.readouterr().err
    assert _stored_rows(database) == 0
    with pytest.raises(ResultsRemovedError):  # the newer cached run pointed at the pruned one
        service.get_forecast(acme, cached.run_id)
    assert list(data.list_runs(acme)["run_id"]) == [cached.run_id]


# --- SQLite busy timeout -----------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_write_behind_an_import_longer_than_the_busy_timeout_is_refused_cleanly(db_url, acme):
    """An import holds SQLite's write lock longer than the timeout: the forecast is refused with a clear
    message (API: 503 with Retry-After), nothing of it is recorded, and it works once the import ends."""
    impatient = Database(db_url, busy_timeout_s=0.2)
    data = DataAccess(impatient)
    key = _key(impatient, acme)
    importer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # what a long import holds until it commits
    try:
        with pytest.raises(DatabaseBusyError, match="the database is busy with another write .* over 0.2 seconds; "
                                                    "nothing was changed: try again in a minute"):
            ForecastService(data).forecast(acme, ITEMS, "ma7", 7, LEVELS)
        busy = _api(impatient).post("/api/v1/forecast", headers=key, json={"item_ids": ITEMS, "model": "ma7", "prediction_length": 7})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
        assert busy.json()["detail"].startswith("the database is busy with another write")
        assert data.list_items(acme)["item_id"].tolist() == ITEMS  # reads go on during the import (WAL)
    finally:
        importer.execute("COMMIT")
        importer.close()
    assert data.list_runs(acme).empty
    assert len(ForecastService(data).forecast(acme, ITEMS, "ma7", 7, LEVELS).forecast) == 21
    impatient.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cached_answer_does_not_wait_for_an_import_holding_the_write_lock(db_url, acme):
    """While an import holds SQLite's write lock, a cached forecast and a cached exception queue are answered
    (unrecorded, with the computed run's id) instead of waiting for the busy timeout or being refused."""
    patient = Database(db_url, busy_timeout_s=10)
    service = ForecastService(DataAccess(patient))
    computed = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    queue = service.exceptions(acme)
    importer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # what a long import holds until it commits
    try:
        during = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
        queue_during = service.exceptions(acme)
    finally:
        importer.execute("COMMIT")
        importer.close()
    assert during.cached and during.run_id == during.source_run_id == computed.run_id
    assert (during.created_at, during.item_ids) == (computed.created_at, computed.item_ids)
    assert queue_during.cached and queue_during.run_id == queue.run_id
    pd.testing.assert_frame_equal(during.forecast, computed.forecast)
    pd.testing.assert_frame_equal(queue_during.queue, queue.queue)
    assert service.data.list_runs(acme)["cached"].tolist() == [False, False]  # answered, not recorded
    after = service.forecast(acme, ITEMS, "ma7", 7, LEVELS)
    assert after.cached and after.run_id != computed.run_id  # recorded again once the import is over
    patient.dispose()
