"""REST API benchmark: sustained cached forecast requests over loopback, SQLite and PostgreSQL.

For each database: a client with 10 items x 730 days of sales and a service
key; the API runs as documented (uvicorn on 127.0.0.1, a free port, one
worker process per CPU by default); one request computes the MA7 forecast for
the 10 items (horizon 28, levels 0.1/0.5/0.9) and the next ones must come back
``cached``; then 8 concurrent keep-alive connections repeat it for a fixed
time, driven by wrk (a C load tool, so the CPUs go to the server) where it is
installed, else by Python threads with httpx. Reports requests/s and latency
percentiles (target: p95 under 100 ms). Results go to stdout and
benchmarks/results/api.txt.

    python benchmarks/bench_api.py [--seconds 20] [--concurrency 8] [--workers N] [--tool wrk|python]
                                   [--pg-url URL | --no-pg]

Several workers share FORECASTING_JWT_SECRET, which every multi-process
deployment must set. PostgreSQL: ``--pg-url`` (default ``$TEST_DATABASE_URL``,
else the local server) gets a schema of its own, dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecasting.services.data_access import DataAccess  # noqa: E402
from benchmarks.report import publish  # noqa: E402
from forecasting.storage import open_database  # noqa: E402
from forecasting.services.api_keys import ApiKeyService  # noqa: E402

ITEMS = [f"SKU{i:02d}" for i in range(10)]
DAYS = 730
REQUEST = {"item_ids": ITEMS, "prediction_length": 28, "model": "ma7", "quantile_levels": [0.1, 0.5, 0.9]}
SECRET = "benchmark-secret-" + "b" * 40
LOCAL_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
START_TIMEOUT_S = 60
TARGET_P95_MS = 100.0


def sales() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    level = rng.gamma(2.0, 5.0, len(ITEMS))
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(DAYS) / 7)
    quantity = rng.poisson(level[:, None] * weekly[None, :]).astype(np.float64)
    return pd.DataFrame({
        "item_id": np.repeat(np.array(ITEMS, dtype=object), DAYS),
        "date": np.tile(pd.date_range("2024-01-01", periods=DAYS).to_numpy(), len(ITEMS)),
        "quantity": quantity.ravel(),
    })


def prepare(url: str) -> str:
    """Load the data and return a new API key."""
    database = open_database(url)
    data = DataAccess(database)
    client = data.create_client("Bench").client_id
    data.import_sales(client, sales())
    key = ApiKeyService(database).create(client, "bench").key
    database.dispose()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "FORECASTING_JWT_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "forecasting.api.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env=env,
    )
    return wait_healthy(process, port)


def wait_healthy(process: subprocess.Popen, port: int) -> subprocess.Popen:
    """``process`` once the API on ``port`` answers /health (exits if it dies or stays silent)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the API server did not answer within {START_TIMEOUT_S} s")


def load_python(base: str, key: str, seconds: float, concurrency: int) -> dict:
    """``concurrency`` httpx threads for ``seconds``; every response must say ``cached``."""
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency

    def worker(i: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
            while time.monotonic() < stop:
                start = time.perf_counter()
                response = http.post("/api/v1/forecast", json=REQUEST)
                latencies[i].append(time.perf_counter() - start)
                if response.status_code != 200 or not response.json()["cached"]:
                    failures[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    ms = np.concatenate([np.asarray(x) for x in latencies]) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"count": len(ms), "failures": sum(failures), "p50": p50, "p95": p95, "p99": p99, "max": ms.max()}


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{key}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %f %f %f %f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def load_wrk(base: str, key: str, seconds: float, concurrency: int) -> dict:
    """The same load from wrk (a C load tool: it leaves the CPUs to the server); non-2xx counts as a failure."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(json.dumps(REQUEST)), key=key))
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds:.0f}s", "-s", script.name, f"{base}/api/v1/forecast"],
            capture_output=True, text=True, timeout=seconds + 120, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    count, failures = int(fields[0]), int(fields[1])
    p50, p95, p99, worst = map(float, fields[2:])
    return {"count": count, "failures": failures, "p50": p50, "p95": p95, "p99": p99, "max": worst}


def run(label: str, url: str, seconds: float, concurrency: int, workers: int, tool: str) -> str:
    key = prepare(url)
    port = free_port()
    server = start_server(url, port, workers)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as http:
            first = http.post("/api/v1/forecast", json=REQUEST).json()
            assert first["cached"] is False, first
            for _ in range(20):  # warm the connection pools; from now on every answer is cached
                assert http.post("/api/v1/forecast", json=REQUEST).json()["cached"] is True
        stats = (load_wrk if tool == "wrk" else load_python)(base, key, seconds, concurrency)
    finally:
        server.terminate()
        server.wait(timeout=30)
    verdict = "ok" if stats["p95"] < TARGET_P95_MS and not stats["failures"] else "MISSED"
    return (
        f"{label:<10} {stats['count']:6d} req in {seconds:.0f} s = {stats['count'] / seconds:7.1f} req/s   "
        f"p50 {stats['p50']:6.1f} ms  p95 {stats['p95']:6.1f} ms  p99 {stats['p99']:6.1f} ms  "
        f"max {stats['max']:6.1f} ms  failures {stats['failures']}   (target p95 < {TARGET_P95_MS:.0f} ms: {verdict})"
    )


def pg_schema_url(base: str):
    """A URL for a fresh schema on ``base``, and a function that drops it."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load per database")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn worker processes (default: CPUs)")
    parser.add_argument(
        "--tool", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (Debian package; default when installed) or Python threads with httpx",
    )
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_PG)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()

    lines = [
        f"cached POST /api/v1/forecast: {len(ITEMS)} items x horizon {REQUEST['prediction_length']}, "
        f"3 quantile levels; concurrency {args.concurrency} ({args.tool}); uvicorn, {args.workers} process(es), loopback; "
        f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}",
    ]
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        lines.append(run("sqlite", sqlite_url, args.seconds, args.concurrency, args.workers, args.tool))
        print(lines[-1], flush=True)
    if not args.no_pg:
        url, drop = pg_schema_url(args.pg_url)
        try:
            lines.append(run("postgresql", url, args.seconds, args.concurrency, args.workers, args.tool))
            print(lines[-1], flush=True)
        finally:
            drop()
    publish(lines, "api.txt")


if __name__ == "__main__":
    main()
