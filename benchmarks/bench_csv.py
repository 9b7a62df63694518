"""CSV benchmark: the sales reader's MB/s against pyarrow's CSV reader, and a batch forecast of a catalogue CSV.

A catalogue file (items x days, ``item_id,date,quantity`` sorted by item and
date, Poisson quantities, fixed seed; 100,000 x 365 is about 850 MB and 36.5
million rows, more than the 20,000,000-row limit of a file read whole) is
generated once. In one process, alternately: ``pyarrow.csv.read_csv`` of the
whole file (parsing only, all in memory), and the product's streamed read
(:func:`forecasting.io.sales_csv.iter_sales_file`: the blocks of the batch
jobs, every row validated, nothing kept); the best of the rounds of each, in
MB/s of the file, and their ratio. Then ``python -m forecasting forecast
--model ma7`` on the file in a fresh subprocess: wall time and the peak
resident memory of its process tree (sampled every 0.1 s, as bench_batch.py);
the same for ``import-sales`` of the file into a new SQLite database.

    python benchmarks/bench_csv.py [--items 100000] [--days 365] [--rounds 2] [--work /tmp/bench-csv]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import measure
from report import publish

#: items generated at a time
GEN_ITEMS = 5_000


def generate(path: Path, items: int, days: int, seed: int = 42) -> None:
    """The catalogue CSV, written by pyarrow a block of items at a time (unquoted, as spreadsheets write it)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if path.exists():
        return
    rng = np.random.default_rng(seed)
    dates = pa.array(pd.date_range("2024-01-01", periods=days).strftime("%Y-%m-%d").to_numpy(dtype=object))
    tmp = path.with_suffix(".tmp")
    options = pcsv.WriteOptions(quoting_style="none")
    schema = pa.schema([("item_id", pa.string()), ("date", pa.string()), ("quantity", pa.int64())])
    with pcsv.CSVWriter(tmp, schema, write_options=options) as writer:
        for start in range(0, items, GEN_ITEMS):
            n = min(GEN_ITEMS, items - start)
            level = rng.gamma(1.5, 4.0, n)
            ids = np.repeat(np.array([f"SKU{i:07d}" for i in range(start, start + n)], dtype=object), days)
            writer.write_table(pa.table({
                "item_id": pa.array(ids, pa.string()),
                "date": pa.concat_arrays([dates] * n),
                "quantity": rng.poisson(np.repeat(level, days)).astype(np.int64),
            }, schema=schema))
    tmp.rename(path)


def read_arrow(path: Path) -> int:
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path).num_rows


def read_ours(path: Path) -> int:
    from forecasting.io.sales_csv import iter_sales_file

    rows = 0
    for chunk in iter_sales_file(path):
        rows = 0 if chunk is None else rows + len(chunk)  # None: start again (never for a clean file)
    return rows


def timed(read, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    rows = read(path)
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-csv"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / f"sales-{args.items}x{args.days}.csv"
    started = time.perf_counter()
    generate(path, args.items, args.days)
    print(f"data ready in {time.perf_counter() - started:.0f} s", flush=True)
    mb = path.stat().st_size / 1e6

    best = {"pyarrow.csv.read_csv": float("inf"), "iter_sales_file (ours)": float("inf")}
    rows = {}
    for _ in range(args.rounds):
        for label, read in (("pyarrow.csv.read_csv", read_arrow), ("iter_sales_file (ours)", read_ours)):
            seconds, rows[label] = timed(read, path)
            best[label] = min(best[label], seconds)
            print(f"{label}: {seconds:.1f} s", flush=True)
    assert len(set(rows.values())) == 1, rows
    arrow_mbs = mb / best["pyarrow.csv.read_csv"]
    ours_mbs = mb / best["iter_sales_file (ours)"]

    output = args.work / "forecast.parquet"
    run = measure([sys.executable, "-m", "forecasting", "forecast", "--input", str(path), "--model", "ma7",
                   "--horizon", "28", "--output", str(output)])
    forecast_rows = len(pd.read_parquet(output, columns=["item_id"])) if run["rc"] == 0 else 0

    database = args.work / "import.db"
    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    cli = [sys.executable, "-m", "forecasting"]
    subprocess.run([*cli, "create-client", "bench", "--database-url", url], check=True, capture_output=True)
    imported = measure([*cli, "import-sales", "--client", "bench", str(path), "--database-url", url])

    publish([
        "# Reading catalogue-size CSV files",
        "",
        (f"`python benchmarks/bench_csv.py --items {args.items} --days {args.days}` on this machine (2 cores shared "
         "with other work, 24 GiB). The file: "
         f"{args.items:,} items x {args.days} days = {rows['pyarrow.csv.read_csv']:,} rows, {mb:,.0f} MB "
         "(`item_id,date,quantity`, sorted by item and date)."),
        "",
        "| reader | best of " + str(args.rounds) + " (s) | MB/s |",
        "|---|---:|---:|",
        (f"| `pyarrow.csv.read_csv` (parse only, whole table in memory) | {best['pyarrow.csv.read_csv']:.1f} | "
         f"{arrow_mbs:.0f} |"),
        (f"| `iter_sales_file` (streamed blocks, every row validated) | {best['iter_sales_file (ours)']:.1f} | "
         f"{ours_mbs:.0f} |"),
        "",
        f"Ratio ours / pyarrow: {ours_mbs / arrow_mbs:.2f} (same file, same process, alternating rounds).",
        "",
        ("Batch forecast of the file, `python -m forecasting forecast --input FILE --model ma7 --horizon 28 "
         "--output forecast.parquet` (default quantiles), in a fresh process:"),
        "",
        "| wall s | peak MB (process tree) | exit | forecast rows |",
        "|---:|---:|---:|---:|",
        f"| {run['seconds']:.1f} | {run['peak_mb']:.0f} | {run['rc']} | {forecast_rows:,} |",
        "",
        ("Import of the file into a new client of a SQLite database, `python -m forecasting import-sales --client "
         "bench FILE` (split by item, validated whole, written a part at a time in one transaction):"),
        "",
        "| wall s | peak MB (process tree) | exit |",
        "|---:|---:|---:|",
        f"| {imported['seconds']:.1f} | {imported['peak_mb']:.0f} | {imported['rc']} |",
        "",
        ("Before the streamed reader (issue 21) the same file read for 147 s and was then refused: "
         "\"more than 20,000,000 rows (the limit)\"."),
        *([f"forecast stderr: {run['stderr']}"] if run["rc"] else []),
        *([f"import stderr: {imported['stderr']}"] if imported["rc"] else []),
    ], "csv.md")


if __name__ == "__main__":
    main()
