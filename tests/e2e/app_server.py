"""A running `streamlit run app/main.py` on 127.0.0.1 and Chromium's settings (docs/platform-notes.md).

Used by the e2e fixtures and by benchmarks/bench_app.py: a private copy of
the demo database, a random cookie key, a free port, and the health endpoint
polled until the server answers.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.demo_database import fresh_copy

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = ROOT / "tests" / "artifacts"
STARTUP_TIMEOUT_S = 90
#: generous per-step timeout: a cold first forecast on 2 busy cores can take a few seconds
STEP_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout_s} s")


class AppServer:
    """A running `streamlit run app/main.py` and the database it serves."""

    def __init__(self, folder: Path):
        self.database_url = fresh_copy(folder)
        self.cookie_key = secrets.token_hex(32)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "FORECASTING_COOKIE_KEY": self.cookie_key,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("FORECASTING_ENV", None)
        self.log = open(folder / "streamlit.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(self.url, self.process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@contextmanager
def running_server(prefix: str) -> Iterator[AppServer]:
    """An :class:`AppServer` in a temporary folder of its own, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = AppServer(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
