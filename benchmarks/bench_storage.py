"""Storage benchmark: bulk import, history loading and the forecast cache, on PostgreSQL and SQLite.

    .venv/bin/python benchmarks/bench_storage.py [--items 1000] [--days 1000] [--postgres URL]

1. Import a sales CSV of items x days (default 1M rows) through DataAccess
   (reading and validating the file included) for new items (median of 3); on
   PostgreSQL against ``psql \\copy`` of the same CSV into a plain table,
   measured in the same run (target ratio <= 3); on SQLite target < 30 s.
   A re-import of the same file (the upsert path) is timed too.
2. Load the history of 1,000 items x 730 days (target < 1 s).
3. Forecast 100 items with MA7 computed fresh (cache miss) and from the
   cache (target: cached at least 20x faster).

PostgreSQL: ``--postgres``, else $BENCH_DATABASE_URL / $TEST_DATABASE_URL,
else the local server; a schema of its own is created and dropped. Results
are printed and written to benchmarks/results/storage.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.services.data_access import DataAccess  # noqa: E402
from forecasting.services.forecast_service import ForecastService  # noqa: E402
from forecasting.storage import open_database  # noqa: E402

LOCAL_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results" / "storage.json"
START = date(2022, 1, 1)


def write_sales_csv(path: Path, items: int, days: int) -> int:
    """items x days of Poisson sales with item ids like SKU-00042; returns the row count."""
    rng = np.random.default_rng(0)
    ids = np.repeat(np.array([f"SKU-{i:05d}" for i in range(items)]), days)
    dates = np.tile(pd.date_range(START, periods=days).strftime("%Y-%m-%d").to_numpy(), items)
    quantity = rng.poisson(np.repeat(rng.uniform(0.5, 40, items), days))
    pd.DataFrame({"item_id": ids, "date": dates, "quantity": quantity}).to_csv(path, index=False)
    return items * days


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def median_time(action, repeat: int) -> float:
    return statistics.median(timed(action)[0] for _ in range(repeat))


class PgSchema:
    """A throw-away schema on the server, and its URL for the application."""

    def __init__(self, base: str):
        self.base = base
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(base, poolclass=NullPool)
        with self.admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {self.name}"))
        separator = "&" if "?" in base else "?"
        self.url = f"{base}{separator}options={quote(f'-csearch_path={self.name}')}"

    def drop(self) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {self.name} CASCADE"))
        self.admin.dispose()


def psql_copy_seconds(base: str, schema: str, csv: Path, keyed: bool = False) -> float:
    """``psql \\copy`` of the CSV into a fresh plain table (no keys, no indexes): the baseline.

    ``keyed`` adds the primary key our sales table has, to show what the key alone costs.
    """
    url = make_url(base)
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", url.host or "127.0.0.1", "-p",
               str(url.port or 5432), "-U", url.username or "postgres", "-d", url.database or "postgres"]
    table = f"{schema}.plain_{uuid.uuid4().hex[:6]}"
    key = ", PRIMARY KEY (item_id, date)" if keyed else ""
    subprocess.run([*command, "-c", f"CREATE TABLE {table} (item_id text, date date, quantity float8{key})"],
                   check=True, env=env)
    seconds, _ = timed(lambda: subprocess.run(
        [*command, "-c", f"\\copy {table} FROM '{csv}' WITH (FORMAT csv, HEADER)"], check=True, env=env
    ))
    subprocess.run([*command, "-c", f"DROP TABLE {table}"], check=True, env=env)
    return seconds


def import_seconds(url: str, csv: Path, repeat: int = 3) -> tuple[float, float, DataAccess, int]:
    """(fresh import, re-import) seconds; each fresh import goes to a new client (new items).

    Returns the median fresh time, the re-import time of the same file (every row an update),
    and the data access and last client for the later steps.
    """
    database = open_database(url)
    data = DataAccess(database)
    fresh = []
    for _ in range(repeat):
        client = data.create_client(f"bench-{uuid.uuid4().hex[:6]}").client_id
        seconds, result = timed(lambda: data.import_sales(client, csv))
        assert result.inserted == result.rows
        fresh.append(seconds)
    again, second = timed(lambda: data.import_sales(client, csv))
    assert second.updated == second.rows
    return statistics.median(fresh), again, data, client


def history_seconds(data: DataAccess, client: int, items: int, days: int) -> float:
    ids = [f"SKU-{i:05d}" for i in range(items)]
    start = START + timedelta(days=days - 730)
    frame = data.history(client, ids, start=start)
    assert len(frame) == items * 730, len(frame)
    return median_time(lambda: data.history(client, ids, start=start), repeat=5)


def cache_seconds(data: DataAccess, client: int) -> tuple[float, float]:
    """(fresh MA7, cached) median seconds for a 100-item, 28-day forecast."""
    service = ForecastService(data)
    ids = [f"SKU-{i:05d}" for i in range(100)]
    counter = iter(range(1, 10_000))

    def fresh() -> None:  # a new quantile level each time: a cache miss, the same work
        response = service.forecast(client, ids, "ma7", 28, (0.1, 0.5, 0.9 - next(counter) * 1e-6))
        assert not response.cached

    def cached() -> None:
        assert service.forecast(client, ids, "ma7", 28).cached

    service.forecast(client, ids, "ma7", 28)
    fresh()  # warm-up
    return median_time(fresh, repeat=7), median_time(cached, repeat=15)


def run_backend(name: str, url: str, csv: Path, items: int, days: int, pg: PgSchema | None) -> dict:
    out: dict[str, float] = {}
    fresh, again, data, client = import_seconds(url, csv)
    out["import_s"], out["reimport_s"] = fresh, again
    if pg is not None:
        out["psql_copy_s"] = statistics.median(psql_copy_seconds(pg.base, pg.name, csv) for _ in range(3))
        out["import_vs_psql_copy"] = fresh / out["psql_copy_s"]
        out["psql_copy_keyed_s"] = statistics.median(psql_copy_seconds(pg.base, pg.name, csv, True) for _ in range(3))
    out["history_1000x730_s"] = history_seconds(data, client, min(items, 1000), days)
    out["forecast_fresh_s"], out["forecast_cached_s"] = cache_seconds(data, client)
    out["cache_speedup"] = out["forecast_fresh_s"] / out["forecast_cached_s"]
    data.database.dispose()
    print(f"\n{name}")
    for key, value in out.items():
        print(f"  {key:<22} {value:10.3f}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=1000)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL")
                        or os.environ.get("TEST_DATABASE_URL") or LOCAL_PG)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if args.days < 730 or args.items < 100:
        parser.error("need at least 100 items and 730 days")

    results: dict[str, object] = {"items": args.items, "days": args.days}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "sales.csv"
        rows = write_sales_csv(csv, args.items, args.days)
        results["rows"] = rows
        print(f"{rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB CSV")
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        results["sqlite"] = run_backend("SQLite", sqlite_url, csv, args.items, args.days, None)
        if not args.skip_postgres:
            pg = PgSchema(args.postgres)
            try:
                results["postgresql"] = run_backend("PostgreSQL", pg.url, csv, args.items, args.days, pg)
            finally:
                pg.drop()

    print("\ntargets")
    sqlite = results["sqlite"]
    print(f"  SQLite import {sqlite['import_s']:.1f} s (target < 30 s)")
    for name in ("sqlite", "postgresql"):
        if name in results:
            r = results[name]
            print(f"  {name}: history {r['history_1000x730_s']:.2f} s (target < 1 s), "
                  f"cache {r['cache_speedup']:.0f}x faster (target >= 20x)")
    if "postgresql" in results:
        print(f"  PostgreSQL import / psql \\copy = {results['postgresql']['import_vs_psql_copy']:.2f} (target <= 3)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
