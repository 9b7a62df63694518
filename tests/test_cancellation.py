"""Work whose caller is gone stops (issue 23): a cancel token set from another thread stops a service
computation at its next check, and a client that disconnects from a real uvicorn server stops its
request's computation; either way the run is recorded as failed, never succeeded, without results."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy import text

from forecasting.api.app import create_app
from forecasting.api.settings import ApiSettings
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.baselines import MovingAverage7
from forecasting.services.api_keys import ApiKeyService
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import CancelledError, CancelToken, RequestLimits
from forecasting.storage import Database
from tests.support.db import inventory_frame, sales_frame

SECRET = "test-secret-" + "x" * 40
ITEMS = ["A", "B", "C"]
#: how long a test waits for a server to start, or for a run to end (never reached when all is well)
WAIT_S = 60


@pytest.fixture
def acme(data: DataAccess) -> int:
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({i: 5.0 for i in ITEMS}, days=90))
    data.import_inventory(client, inventory_frame(ITEMS))
    return client


def _runs(database: Database) -> list[tuple[str, str | None]]:
    with database.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT status, error FROM forecast_runs ORDER BY id"))]


def _results(database: Database) -> int:
    with database.read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM forecast_results")).scalar_one()


def _cancel_from_another_thread(token: CancelToken, calls: list[int]):
    """A progress callback that, on its first call, has another thread cancel ``token``."""

    def progress(done: int, total: int) -> None:
        calls.append(done)
        setter = threading.Thread(target=token.cancel, args=("the planner left",))
        setter.start()
        setter.join()

    return progress


@pytest.mark.parametrize("limited", [False, True], ids=["batch", "limited"])
def test_a_cancelled_backtest_stops_at_the_next_window_and_its_run_fails(database, data, acme, limited):
    service = ForecastService(data, RequestLimits() if limited else None)
    token, calls = CancelToken(), []
    with pytest.raises(CancelledError, match="^cancelled: the planner left$"):
        service.backtest(acme, ITEMS, "ma7", 7, 5, progress=_cancel_from_another_thread(token, calls), cancel=token)
    assert calls == [1]  # window 1 of 5 was scored; the check before window 2's report stopped it
    assert _runs(database) == [("failed", "cancelled: the planner left")]
    if limited:  # the slot was given back: the next request computes
        assert service.backtest(acme, ITEMS, "ma7", 7, 1).windows == 1


def test_a_forecast_cancelled_before_its_results_are_saved_stores_nothing(database, data, acme):
    service = ForecastService(data, RequestLimits())
    token, calls = CancelToken(), []
    with pytest.raises(CancelledError):
        service.forecast(acme, ITEMS, "ma7", 7, progress=_cancel_from_another_thread(token, calls), cancel=token)
    assert calls == [3]  # ma7 reports once, when done; the check after the work stopped it
    assert _runs(database) == [("failed", "cancelled: the planner left")]
    assert _results(database) == 0
    # a cancelled run is never a cache source: the same request computes again
    assert service.forecast(acme, ITEMS, "ma7", 7).cached is False


class _Stalling(MovingAverage7):
    """ma7 after 600 progress reports 50 ms apart (30 s): a long computation that checks for cancellation."""

    STEPS = 600

    def forecast(self, history, horizon, quantiles=(), future_covariates=None, progress=None):
        for step in range(self.STEPS):
            if progress:
                progress(step, self.STEPS)
            time.sleep(0.05)
        return super().forecast(history, horizon, quantiles, future_covariates, progress)


@pytest.fixture
def stalling_ma7() -> Iterator[None]:
    ModelFactory.register(_Stalling, name="ma7", label=MovingAverage7.label)
    try:
        yield
    finally:
        ModelFactory.register(MovingAverage7)


@pytest.fixture
def live_server(database) -> Iterator[int]:
    """The port of a real uvicorn server (in a thread of this process) serving the API over ``database``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(database, ApiSettings(SECRET), RequestLimits())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(WAIT_S)


def _wait_for(database: Database, condition) -> list[tuple[str, str | None]]:
    deadline = time.monotonic() + WAIT_S
    while not condition(runs := _runs(database)):
        assert time.monotonic() < deadline, f"runs stayed {runs}"
        time.sleep(0.05)
    return runs


def test_a_client_that_disconnects_stops_its_forecast_and_the_run_fails(database, acme, stalling_ma7, live_server):
    key = ApiKeyService(database).create(acme, "erp").key
    body = json.dumps({"item_ids": ITEMS, "model": "ma7", "prediction_length": 7}).encode()
    request = (f"POST /api/v1/forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"X-API-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", live_server)) as client:
        client.sendall(request)
        _wait_for(database, lambda runs: runs == [("running", None)])  # computing
    # the client is gone; the computation stops at its next check instead of running on for 30 s
    runs = _wait_for(database, lambda runs: runs[0][0] != "running")
    assert runs == [("failed", "cancelled: the client disconnected")]
    assert _results(database) == 0


def test_a_run_the_app_abandons_by_a_rerun_stops_and_fails_as_cancelled(database, data, acme):
    """Streamlit stops an abandoned script by raising RerunException (a BaseException) from its next
    element update: here the progress bar's, between two backtest windows."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        raise RerunException(RerunData())

    with pytest.raises(RerunException):
        ForecastService(data, RequestLimits()).backtest(acme, ITEMS, "ma7", 7, 5, progress=progress)
    assert calls == [1]
    assert _runs(database) == [("failed", "cancelled: the run was abandoned (RerunException)")]
