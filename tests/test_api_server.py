"""The documented command: a real uvicorn process on 127.0.0.1 (free port, bounded waits), in
production mode, answering both ways to authenticate; and refusing to start without a JWT secret."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from forecasting.services.data_access import DataAccess
from forecasting.services.users import UserService
from forecasting.storage import open_database
from forecasting.services.api_keys import ApiKeyService
from tests.support.db import sales_frame
from tests.support.api import PASSWORD, SECRET

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(port: int) -> list[str]:
    """The README's command: uvicorn with the app factory, on the loopback interface."""
    return [sys.executable, "-m", "uvicorn", "--factory", "forecasting.api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port)]


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORECASTING_")}
    return {**env, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "FORECASTING_ENV": "production", **extra}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def server(db_url, tmp_path) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a uvicorn process serving a client "Acme" with sales and user "erin"."""
    database = open_database(db_url)
    data = DataAccess(database)
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({"A1": 5.0, "A2": 3.0}, days=60))
    UserService(database, bcrypt_rounds=4).create_user(client, "erin", PASSWORD)
    key = ApiKeyService(database).create(client, "server test").key
    database.dispose()

    port = _free_port()
    log = (tmp_path / "uvicorn.log").open("w")
    process = subprocess.Popen(_command(port), cwd=tmp_path, env=_env(db_url, FORECASTING_JWT_SECRET=SECRET),
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode}: {(tmp_path / 'uvicorn.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield base, key
    finally:
        _stop(process)
        log.close()


def test_uvicorn_serves_forecasts_to_tokens_and_keys(server):
    base, key = server
    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post("/api/v1/auth/token", json={"username": "erin", "password": PASSWORD})
        assert login.status_code == 200
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        request = {"item_ids": ["A1", "A2"], "prediction_length": 7, "model": "ma7"}

        first = http.post("/api/v1/forecast", json=request, headers=bearer)
        assert first.status_code == 200 and first.json()["cached"] is False
        second = http.post("/api/v1/forecast", json=request, headers={"X-API-Key": key})
        assert second.status_code == 200 and second.json()["cached"] is True
        assert second.json()["items"] == first.json()["items"]

        anonymous = http.post("/api/v1/forecast", json=request)
        assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/json"
        assert http.get("/docs").status_code == 200
        assert http.get("/openapi.json").json()["info"]["title"] == "Forecasting API"


def test_production_mode_without_a_secret_does_not_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    done = subprocess.run(_command(_free_port()), cwd=tmp_path, env=_env(url), capture_output=True, text=True,
                          timeout=START_TIMEOUT_S)
    assert done.returncode != 0
    assert "FORECASTING_JWT_SECRET is not set: refusing to start" in done.stderr
    assert not (tmp_path / "app.db").exists()


def test_serve_api_with_several_workers_needs_a_shared_secret_and_then_serves(tmp_path, capsys, monkeypatch):
    from forecasting.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.delenv("FORECASTING_JWT_SECRET", raising=False)
    assert main(["serve-api", "--workers", "2", "--database-url", url]) == 2
    assert "--workers > 1 needs FORECASTING_JWT_SECRET" in capsys.readouterr().err

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "forecasting", "serve-api", "--workers", "2", "--port", str(port),
         "--database-url", url],
        cwd=ROOT, env=_env("sqlite:///unused.db", FORECASTING_JWT_SECRET=SECRET),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200
    finally:
        _stop(process)
