"""Hostile-load benchmark: worst-case requests against ``serve-api --workers 2`` on PostgreSQL, bounded.

For ``--seconds`` (default 60), ``--concurrency`` threads (default 12) of one
client ("Attacker", 200 items x 730 days) send the most expensive requests
the request limits allow (docs/security.md): forecasts of 200 items with 25
quantile levels, varied so that none is answered from the cache, and as many
days as the forecast budget allows; backtests of 200 items x 2 models with as
many 7-day windows as the backtest budget allows; and the over-budget
requests of the security review (99 levels x 365 days, 100 windows), which
must be refused at once. Meanwhile another client ("Planner") asks for
``/health`` and its own cached forecast every 100 ms.

Reported: each worker's peak RSS (VmHWM, from /proc), the growth of the
database schema (tables, indexes and TOAST), ``/health`` and the other
client's latency percentiles, and the status counts. Targets: RSS under
1.5 GB per worker, database growth under 50 MB, ``/health`` p95 under 200 ms.

Two more scenarios (issue 23), each on PostgreSQL and on a SQLite file:

- ``logins``: 80 failed logins (``POST /api/v1/auth/token``) from one address
  (``X-Forwarded-For``) sent by 2, 4 and 16 threads at once. Every answer
  "wrong username or password" is one bcrypt check; target: at most 20 before
  the address is blocked, and a right password from it refused afterwards.
- ``growth``: a client of 10,000 items with 200-character ids; one computed
  forecast of all of them, then the same request (answered from the cache)
  for ``--seconds`` by 2 threads. Target: database growth under 5 MB (SQLite:
  the file after a WAL checkpoint).

Results go to stdout and benchmarks/results/load.md (a section per scenario;
those not run this time are kept from the file).

    python benchmarks/bench_load.py [--scenarios hostile,logins,growth] [--seconds 60] [--concurrency 12]
                                    [--workers 2] [--pg-url URL]
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_api import LOCAL_PG, SECRET, free_port, pg_schema_url, wait_healthy  # noqa: E402
from benchmarks.report import RESULTS_DIR, publish  # noqa: E402
from forecasting.services.api_keys import ApiKeyService  # noqa: E402
from forecasting.services.data_access import DataAccess  # noqa: E402
from forecasting.services.limits import RequestLimits  # noqa: E402
from forecasting.services.users import LOGIN_FAILED, MAX_FAILED_LOGINS_PER_ADDRESS, UserService  # noqa: E402
from forecasting.storage import open_database  # noqa: E402

ATTACKER_ITEMS = [f"X{i:03d}" for i in range(200)]
PLANNER_ITEMS = [f"P{i:02d}" for i in range(10)]
DAYS = 730
LEVELS = 25
POLL_S = 0.1
TARGET_RSS_MB = 1536
TARGET_GROWTH_MB = 50
TARGET_HEALTH_P95_MS = 200
SCENARIOS = ("hostile", "logins", "growth")
#: section headings of load.md, one per scenario
HEADINGS = {
    "hostile": "## Hostile requests (PostgreSQL)",
    "logins": "## Concurrent failed logins from one address",
    "growth": "## Cached requests of a large catalogue",
}
LOGIN_ATTEMPTS = 80
LOGIN_CONCURRENCY = (2, 4, 16)
LOGIN_PASSWORD = "right-password-1"
CATALOGUE_ITEMS = [f"{i:05d}-" + "x" * 194 for i in range(10_000)]  # 200 characters each
CATALOGUE_DAYS = 28
CATALOGUE_THREADS = 2
TARGET_CATALOGUE_GROWTH_MB = 5


def sales(items: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 5.0, len(items))
    quantity = rng.poisson(level[:, None] * np.ones(DAYS)[None, :]).astype(np.float64)
    return pd.DataFrame({
        "item_id": np.repeat(np.array(items, dtype=object), DAYS),
        "date": np.tile(pd.date_range("2024-01-01", periods=DAYS).to_numpy(), len(items)),
        "quantity": quantity.ravel(),
    })


def prepare(url: str) -> tuple[str, str]:
    """Both clients' data; their API keys."""
    database = open_database(url)
    data, keys = DataAccess(database), ApiKeyService(database)
    attacker = data.create_client("Attacker").client_id
    data.import_sales(attacker, sales(ATTACKER_ITEMS, 1))
    planner = data.create_client("Planner").client_id
    data.import_sales(planner, sales(PLANNER_ITEMS, 2))
    out = keys.create(attacker, "bench").key, keys.create(planner, "bench").key
    database.dispose()
    return out


def schema_bytes(url: str) -> int:
    """Tables with their indexes and TOAST in the benchmark's schema (the search_path of ``url``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )).scalar_one()
    engine.dispose()
    return int(size)


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "FORECASTING_JWT_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "forecasting", "serve-api", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return wait_healthy(process, port)


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        out += [int(c) for c in children]
        todo += [int(c) for c in children]
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(server: subprocess.Popen) -> list[int]:
    """uvicorn's worker processes: the server's descendants that run Python with the app (not its helpers)."""
    pids = []
    for pid in descendants(server.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            pids.append(pid)
    return pids


def requests_allowed(limits: RequestLimits) -> tuple[dict, dict, list[dict]]:
    """The worst forecast and backtest within the limits, and the over-limit requests of the review."""
    items = len(ATTACKER_ITEMS)
    horizon = min(365, limits.max_forecast_values // (items * (LEVELS + 1)))
    windows = min(limits.max_backtest_windows, limits.max_backtest_values // (items * 7 * 2 * (LEVELS + 1)))
    forecast = {"item_ids": ATTACKER_ITEMS, "model": "ma7", "prediction_length": horizon}
    backtest = {"item_ids": ATTACKER_ITEMS, "models": ["ma7", "seasonal-naive"], "prediction_length": 7,
                "windows": windows}
    all_levels = [round(0.01 * i, 2) for i in range(1, 100)]
    over = [
        {"path": "/api/v1/forecast", "json": {"item_ids": ATTACKER_ITEMS, "model": "ma7", "prediction_length": 365,
                                              "quantile_levels": all_levels}},
        {"path": "/api/v1/backtest", "json": {**backtest, "windows": 100, "quantile_levels": all_levels[:LEVELS]}},
    ]
    return forecast, backtest, over


def random_levels(rng: random.Random) -> list[float]:
    """25 distinct levels, new each time (a cache miss for every forecast)."""
    return sorted(rng.sample(range(1, 1000), LEVELS))


def attack(base: str, key: str, stop: float, seed: int, limits: RequestLimits, statuses: collections.Counter,
           lock: threading.Lock) -> None:
    forecast, backtest, over = requests_allowed(limits)
    rng = random.Random(seed)
    # a new connection per request, so that the kernel spreads them over every worker
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120, limits=fresh) as http:
        turn = seed
        while time.monotonic() < stop:
            kind = ("forecast", "forecast", "backtest", "over")[turn % 4]
            turn += 1
            if kind == "forecast":
                body = {**forecast, "quantile_levels": [v / 1000 for v in random_levels(rng)]}
                response = http.post("/api/v1/forecast", json=body)
            elif kind == "backtest":
                body = {**backtest, "quantile_levels": [v / 1000 for v in random_levels(rng)]}
                response = http.post("/api/v1/backtest", json=body)
            else:
                request = over[turn % len(over)]
                response = http.post(request["path"], json=request["json"])
            if response.status_code == 429:
                time.sleep(float(response.headers.get("retry-after", "1")) / 10)  # an impatient attacker
            with lock:
                statuses[f"{kind} {response.status_code}"] += 1


def observe(base: str, key: str, stop: float, health_ms: list[float], cached_ms: list[float],
            statuses: collections.Counter, lock: threading.Lock) -> None:
    body = {"item_ids": PLANNER_ITEMS, "model": "ma7", "prediction_length": 28, "quantile_levels": [0.1, 0.5, 0.9]}
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as http:
        assert http.post("/api/v1/forecast", json=body).status_code == 200  # computed once, cached from now on
        while time.monotonic() < stop:
            start = time.perf_counter()
            status = http.get("/health").status_code
            health_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            response = http.post("/api/v1/forecast", json=body)
            cached_ms.append((time.perf_counter() - start) * 1000)
            with lock:
                statuses[f"health {status}"] += 1
                statuses[f"other client's cached forecast {response.status_code}"] += 1
            time.sleep(POLL_S)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def backends(pg_url: str):
    """(name, URL, size of the database in bytes, drop) for PostgreSQL (a fresh schema) and a fresh SQLite file."""
    url, drop = pg_schema_url(pg_url)
    yield "PostgreSQL", url, lambda: schema_bytes(url), drop
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "bench.db"
    yield "SQLite", f"sqlite:///{path}", lambda: sqlite_bytes(path), folder.cleanup


def sqlite_bytes(path: Path) -> int:
    """The SQLite file's size once its write-ahead log is checkpointed into it (what the data takes)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.stat().st_size


def logins(url: str, workers: int) -> list[tuple[int, int, int, bool]]:
    """Per concurrency: (threads, password checks, refusals as blocked, right password refused afterwards)."""
    database = open_database(url)
    client = DataAccess(database).create_client("Logins").client_id
    UserService(database).create_user(client, "planner-1", LOGIN_PASSWORD)
    database.dispose()
    port = free_port()
    server = start_server(url, port, workers)
    rows = []
    try:
        for threads in LOGIN_CONCURRENCY:
            address = {"X-Forwarded-For": f"203.0.113.{threads}"}  # uvicorn trusts it from 127.0.0.1
            attempts = iter(range(LOGIN_ATTEMPTS))
            answers: collections.Counter = collections.Counter()
            lock = threading.Lock()

            def attack() -> None:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=address, timeout=120) as http:
                    while True:
                        with lock:
                            n = next(attempts, None)
                        if n is None:
                            return
                        detail = http.post("/api/v1/auth/token",
                                           json={"username": f"guess-{n}", "password": "wrong-password"}).json()
                        with lock:
                            answers[detail["detail"]] += 1

            pool = [threading.Thread(target=attack) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            right = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", headers=address, timeout=120,
                               json={"username": "planner-1", "password": LOGIN_PASSWORD})
            still_blocked = right.status_code == 401 and right.json()["detail"].startswith("too many failed logins")
            blocked = sum(n for text, n in answers.items() if text.startswith("too many failed logins"))
            rows.append((threads, answers[LOGIN_FAILED], blocked, still_blocked))
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


def catalogue_growth(url: str, size, seconds: float, workers: int) -> tuple[int, float, float]:
    """Cached requests of the whole catalogue for ``seconds``: (answers, database growth in MB, p50 in s)."""
    database = open_database(url)
    data = DataAccess(database)
    client = data.create_client("Catalogue").client_id
    rng = np.random.default_rng(3)
    data.import_sales(client, pd.DataFrame({
        "item_id": np.repeat(np.array(CATALOGUE_ITEMS, dtype=object), CATALOGUE_DAYS),
        "date": np.tile(pd.date_range("2024-01-01", periods=CATALOGUE_DAYS).to_numpy(), len(CATALOGUE_ITEMS)),
        "quantity": rng.poisson(4.0, len(CATALOGUE_ITEMS) * CATALOGUE_DAYS).astype(np.float64),
    }))
    key = {"X-API-Key": ApiKeyService(database).create(client, "bench").key}
    database.dispose()
    body = {"item_ids": CATALOGUE_ITEMS, "model": "ma7", "prediction_length": 7, "quantile_levels": [0.1, 0.5, 0.9]}
    port = free_port()
    server = start_server(url, port, workers)
    seconds_each: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=key, timeout=300) as http:
            first = http.post("/api/v1/forecast", json=body)
            assert first.status_code == 200 and not first.json()["cached"], first.text[:200]
        before = size()
        stop = time.monotonic() + seconds

        def repeat() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=key, timeout=300) as http:
                while time.monotonic() < stop:
                    start = time.perf_counter()
                    response = http.post("/api/v1/forecast", json=body)
                    assert response.status_code == 200 and response.json()["cached"], response.text[:200]
                    seconds_each.append(time.perf_counter() - start)

        pool = [threading.Thread(target=repeat) for _ in range(CATALOGUE_THREADS)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
    return len(seconds_each), (size() - before) / 1024**2, float(np.median(seconds_each))


def logins_section(args: argparse.Namespace) -> list[str]:
    lines = [
        HEADINGS["logins"], "",
        f"`--scenarios logins --workers {args.workers}`: {LOGIN_ATTEMPTS} failed logins "
        f"(`POST /api/v1/auth/token`, unknown usernames) from one address, sent by 2, 4 and 16 threads at once "
        f"(a new address each time); then the right password of a user from that address. Each answer \"wrong "
        f"username or password\" is one bcrypt check (docs/security.md).", "",
        "| database | threads | password checks | refused as blocked | right password refused afterwards | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, url, _, drop in backends(args.pg_url):
        try:
            for threads, checks, blocked, still in logins(url, args.workers):
                ok = checks <= MAX_FAILED_LOGINS_PER_ADDRESS and still
                lines.append(f"| {name} | {threads} | {checks} of {LOGIN_ATTEMPTS} | {blocked} | "
                             f"{'yes' if still else 'no'} | at most {MAX_FAILED_LOGINS_PER_ADDRESS} checks, then "
                             f"blocked: {verdict(ok)} |")
        finally:
            drop()
    return lines


def growth_section(args: argparse.Namespace) -> list[str]:
    lines = [
        HEADINGS["growth"], "",
        f"`--scenarios growth --seconds {args.seconds:.0f} --workers {args.workers}`: a client of "
        f"{len(CATALOGUE_ITEMS):,} items with 200-character ids x {CATALOGUE_DAYS} days; one computed forecast of "
        f"all of them (7 days, 3 levels), then the same request from {CATALOGUE_THREADS} threads for "
        f"{args.seconds:.0f} s, every answer from the cache.", "",
        "| database | cached answers | median answer | database growth | target |",
        "|---|---|---|---|---|",
    ]
    for name, url, size, drop in backends(args.pg_url):
        try:
            answers, growth_mb, median_s = catalogue_growth(url, size, args.seconds, args.workers)
        finally:
            drop()
        lines.append(f"| {name} | {answers} | {median_s:.2f} s | {growth_mb:.2f} MB | under "
                     f"{TARGET_CATALOGUE_GROWTH_MB} MB: {verdict(growth_mb < TARGET_CATALOGUE_GROWTH_MB)} |")
    return lines


def kept_sections(path: Path) -> dict[str, list[str]]:
    """The sections of the existing report, by heading (to keep those not run this time)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("## "):
            current = line
            sections[current] = []
        if current is not None:
            sections[current].append(line)
    for lines in sections.values():
        while lines and not lines[-1]:
            lines.pop()
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=12, help="attacking threads (8 to 16)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL") or LOCAL_PG)
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    sections = kept_sections(RESULTS_DIR / "load.md")
    run = {"hostile": hostile_section, "logins": logins_section, "growth": growth_section}
    for scenario in chosen:
        sections[HEADINGS[scenario]] = run[scenario](args)
    lines = [f"# Load against `serve-api` (`python benchmarks/bench_load.py`), {os.cpu_count()} CPUs, PostgreSQL "
             f"on 127.0.0.1"]
    for scenario in SCENARIOS:
        if HEADINGS[scenario] in sections:
            lines += ["", *sections[HEADINGS[scenario]]]
    publish(lines, "load.md")


def hostile_section(args: argparse.Namespace) -> list[str]:
    limits = RequestLimits.from_env()
    forecast, backtest, _ = requests_allowed(limits)
    url, drop = pg_schema_url(args.pg_url)
    try:
        attacker_key, planner_key = prepare(url)
        before = schema_bytes(url)
        port = free_port()
        server = start_server(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        statuses: collections.Counter = collections.Counter()
        lock = threading.Lock()
        health_ms: list[float] = []
        cached_ms: list[float] = []
        try:
            stop = time.monotonic() + args.seconds
            threads = [threading.Thread(target=attack, args=(base, attacker_key, stop, i, limits, statuses, lock))
                       for i in range(args.concurrency)]
            threads.append(threading.Thread(target=observe,
                                            args=(base, planner_key, stop, health_ms, cached_ms, statuses, lock)))
            for t in threads:
                t.start()
            for t in threads:
                t.join(args.seconds + 300)
            rss = {pid: peak_rss_mb(pid) for pid in worker_pids(server)}
        finally:
            server.terminate()
            server.wait(timeout=60)
        after = schema_bytes(url)
    finally:
        drop()

    growth_mb = (after - before) / 1024**2
    health = np.percentile(health_ms, [50, 95, 99])
    cached = np.percentile(cached_ms, [50, 95, 99])
    worst_rss = max(rss.values())

    lines = [
        HEADINGS["hostile"],
        "",
        f"`--scenarios hostile --seconds {args.seconds:.0f} --concurrency {args.concurrency} "
        f"--workers {args.workers}`.",
        "",
        f"- {args.concurrency} threads of one client send, in turn: forecasts of {len(ATTACKER_ITEMS)} items x "
        f"{forecast['prediction_length']} days x {LEVELS} new quantile levels each time (never cached; the most the "
        f"forecast budget of {limits.max_forecast_values:,} values allows), backtests of {len(ATTACKER_ITEMS)} items "
        f"x 2 models x {backtest['windows']} windows x 7 days x {LEVELS} levels (the backtest budget of "
        f"{limits.max_backtest_values:,}), and the review's over-budget requests (99 levels x 365 days; 100 windows).",
        f"- Another client asks for `/health` and its own cached forecast every {POLL_S * 1000:.0f} ms.",
        f"- Limits: {limits.computations_per_process} computations per worker, {limits.computations_per_client} per "
        f"client; stored results kept per client: {limits.stored_values_per_client:,} values.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| worker peak RSS (each) | {', '.join(f'{v:.0f} MB' for v in rss.values())} | under {TARGET_RSS_MB} MB: "
        f"{verdict(worst_rss < TARGET_RSS_MB)} |",
        f"| database growth (tables, indexes, TOAST) | {growth_mb:.1f} MB | under {TARGET_GROWTH_MB} MB: "
        f"{verdict(growth_mb < TARGET_GROWTH_MB)} |",
        f"| `/health` p50 / p95 / p99 | {health[0]:.1f} / {health[1]:.1f} / {health[2]:.1f} ms | p95 under "
        f"{TARGET_HEALTH_P95_MS} ms: {verdict(health[1] < TARGET_HEALTH_P95_MS)} |",
        f"| other client's cached forecast p50 / p95 / p99 | {cached[0]:.1f} / {cached[1]:.1f} / {cached[2]:.1f} ms | "
        f"(for information) |",
        "",
        "Answers (request kind, HTTP status: count):",
        "",
        *[f"- {name}: {count}" for name, count in sorted(statuses.items())],
    ]
    return lines


if __name__ == "__main__":
    main()
