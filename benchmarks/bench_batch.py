"""Batch benchmark: whole-catalogue MA7 forecasts in chunks, file mode, PostgreSQL and Ray, time and peak memory.

For each size (items x 730 days, synthetic, fixed seed) the sales are written
as a Parquet file (and, for PostgreSQL, imported into a client of their own
through the product's import, a chunk of items per transaction), then
``python -m forecasting forecast`` runs in a fresh subprocess: MA7, horizon 28,
9 quantile levels, ``--chunk-items`` 5,000, output Parquet. Wall time is
the subprocess's; peak memory is the largest sum of the resident memory of
the whole process tree (the command and every child: Ray's raylet, GCS and
workers included), sampled every 0.1 s with psutil. The PostgreSQL server's own
memory is not part of it. Results go to benchmarks/results/batch.md (rewritten
after every measurement, so a run cut short keeps what it measured).

    python benchmarks/bench_batch.py [--sizes 10000,50000,200000] [--modes file,postgres,ray]
        [--database-url postgresql+psycopg2://postgres@127.0.0.1:5432/test] [--work /tmp/bench-batch]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAYS = 730
HORIZON = 28
LEVELS = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9"
CHUNK_ITEMS = 5_000
#: items generated (and imported) at a time
GEN_ITEMS = 2_000
RESULTS = ROOT / "benchmarks" / "results" / "batch.md"
RAW = ROOT / "benchmarks" / "results" / "batch.json"


def generate(path: Path, items: int, seed: int = 42) -> None:
    """Weekly-seasonal Poisson demand with item-specific levels (as bench_core), sorted by item and date."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=DAYS).to_numpy()
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(DAYS) / 7)[None, :]
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, items, GEN_ITEMS):
        n = min(GEN_ITEMS, items - start)
        level = rng.gamma(1.5, 6.0, n)
        qty = rng.poisson(level[:, None] * weekly).astype(np.float64)
        ids = np.repeat(np.array([f"SKU{i:07d}" for i in range(start, start + n)], dtype=object), DAYS)
        table = pa.table({"item_id": ids, "date": np.tile(dates, n), "quantity": qty.ravel()})
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    writer.close()
    tmp.rename(path)


def load_postgres(url: str, client: str, sales: Path) -> float:
    """Import the file into its own client (once), a block of items per import; returns the seconds (0 if loaded)."""
    import pyarrow.parquet as pq

    from forecasting.services.container import build_services

    services = build_services(url)
    data = services.data
    try:
        client_id = data.client_by_name(client).client_id
        if data.get_client(client_id).as_of is not None:
            return 0.0
    except Exception:
        client_id = data.create_client(client).client_id
    started = time.perf_counter()
    for batch in pq.ParquetFile(sales).iter_batches(batch_size=GEN_ITEMS * DAYS):
        data.import_sales(client_id, batch.to_pandas())
    return time.perf_counter() - started


def forget_runs(url: str, client: str) -> None:
    """Remove the client's earlier runs, so that the measured job computes instead of reading the cache."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:  # benchmark set-up only: the product never deletes runs this way
        conn.execute(text("DELETE FROM forecast_runs WHERE client_id = (SELECT id FROM clients WHERE name = :n)"),
                     {"n": client})
    engine.dispose()


def measure(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Wall time, exit code and peak RSS of the whole process tree of ``command``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    stderr = proc.stderr.read() if proc.stderr else ""
    return {"seconds": time.perf_counter() - started, "peak_mb": peak / 2**20, "rc": proc.returncode,
            "stderr": stderr.strip().splitlines()[-1:] if stderr.strip() else []}


def forecast_command(extra: list[str], output: Path) -> list[str]:
    return [sys.executable, "-m", "forecasting", "forecast", "--model", "ma7", "--horizon", str(HORIZON),
            "--quantiles", LEVELS, "--chunk-items", str(CHUNK_ITEMS), "--output", str(output), *extra]


def write_report(results: list[dict], notes: list[str]) -> None:
    RAW.write_text(json.dumps({"results": results, "notes": notes}, indent=2))
    lines = [
        "# Batch forecasting: time and peak memory",
        "",
        f"`python benchmarks/bench_batch.py` on this machine (2 cores, 24 GiB): MA7, horizon {HORIZON}, 9 quantile "
        f"levels, {DAYS} days per item, `--chunk-items {CHUNK_ITEMS}`, Parquet in and out. Peak memory is the "
        "whole process tree's resident memory (Ray's processes included; the PostgreSQL server not).",
        "",
        "| mode | items | rows | wall s | s per 10k items | peak MB | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['mode']} | {r['items']:,} | {r['items'] * DAYS:,} | {r['seconds']:.1f} | "
                     f"{r['seconds'] / r['items'] * 1e4:.2f} | {r['peak_mb']:.0f} | {r['rc']} |")
    by = {(r["mode"], r["items"]): r for r in results}
    lines += ["", "Ratios at each size (time; peak memory):", ""]
    for items in sorted({r["items"] for r in results}):
        file = by.get(("file", items))
        for mode in ("postgres", "ray"):
            other = by.get((mode, items))
            if file and other:
                lines.append(f"- {items:,} items, {mode} / file: {other['seconds'] / file['seconds']:.2f}x time, "
                             f"{other['peak_mb'] / file['peak_mb']:.2f}x peak memory")
    lines += ["", *notes, ""]
    RESULTS.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--modes", default="file,postgres,ray")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                  "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-batch"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    results: list[dict] = raw.get("results", [])
    notes: list[str] = raw.get("notes", [])
    done = {(r["mode"], r["items"]) for r in results}
    for items in sizes:
        sales = args.work / f"sales-{items}.parquet"
        started = time.perf_counter()
        generate(sales, items)
        print(f"{items} items: data ready in {time.perf_counter() - started:.0f} s", flush=True)
        for mode in modes:
            if (mode, items) in done:
                continue
            output = args.work / f"forecast-{mode}-{items}.parquet"
            if mode == "file":
                result = measure(forecast_command(["--input", str(sales)], output))
            elif mode == "ray":
                result = measure(forecast_command(["--input", str(sales), "--engine", "ray"], output),
                                 {"FORECASTING_BATCH_DIR": str(args.work)})
            else:
                client = f"bench-batch-{items}"
                seconds = load_postgres(args.database_url, client, sales)
                if seconds:
                    notes.append(f"- PostgreSQL: {items:,} items imported in {seconds:.0f} s (not in the table).")
                forget_runs(args.database_url, client)
                command = forecast_command(["--client", client, "--database-url", args.database_url], output)
                result = measure(command)
                cached = measure(command)  # the same request again: answered from the stored run
                cached.update(mode="postgres, cached", items=items)
                results.append(cached)
            result.update(mode=mode, items=items)
            print(json.dumps(result), flush=True)
            results.append(result)
            results.sort(key=lambda r: (r["items"], r["mode"]))
            write_report(results, notes)


if __name__ == "__main__":
    main()
