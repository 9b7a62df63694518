"""Peak memory of one interactive request: a 10,000-item forecast, and the largest reorder plan the limits allow.

Each request runs in a fresh process (ForecastService with the app's and the
API's RequestLimits, SQLite file): after a warm-up request of 10 items the
process's peak resident memory is reset (Linux /proc/self/clear_refs), so the
peak during the request (VmHWM) minus the resident memory before it is what
the request added. Item 9 of
issue 23 measured 1.7 GB per worker for such requests; docs/security.md
("Request limits") cites these figures.

    python benchmarks/bench_memory.py [--items 10000] [--days 730]

Results go to stdout and benchmarks/results/memory.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import publish  # noqa: E402

SEED = r"""
import sys
import pandas as pd
from benchmarks.bench_core import synthetic_sales
from forecasting.services.data_access import DataAccess
from forecasting.storage import open_database
url, items, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = DataAccess(open_database(url))
client = data.create_client("Bench").client_id
sales = synthetic_sales(items, days)
data.import_sales(client, sales)
data.import_inventory(client, pd.DataFrame({
    "item_id": sales["item_id"].unique(), "on_hand": 20.0, "on_order": 0.0, "lead_time_days": 7,
    "review_period_days": 7, "service_level": 0.95, "moq": 0.0, "pack_size": 1.0, "unit_cost": 2.0}))
"""
CHILD = r"""
import json, sys, time
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import RequestLimits
from forecasting.storage import open_database
url, kind, model = sys.argv[1:4]
data = DataAccess(open_database(url))
client = data.client_by_name("Bench").client_id
service = ForecastService(data, RequestLimits())
ids = data.list_items(client)["item_id"].tolist()
service.forecast(client, ids[:10], model, 7)  # imports and first-call work outside the measure
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
open("/proc/self/clear_refs", "w").write("5")  # the peak starts again from here
before = status("VmRSS")
start = time.perf_counter()
if kind == "forecast":
    n = len(service.forecast(client, ids, model, 7).forecast["item_id"].unique())
else:
    limits = RequestLimits()
    n = len(service.reorder(client, ids[: limits.max_reorder_item_days // 28], model))
print(json.dumps({"items": n, "before_mb": before, "peak_mb": status("VmHWM"), "seconds": time.perf_counter() - start}))
"""


def measure(url: str, kind: str, model: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, kind, model], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        subprocess.run([sys.executable, "-c", SEED, url, str(args.items), str(args.days)], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        lines = [f"# Peak memory of one request ({args.items:,} items x {args.days} days, SQLite, "
                 f"RequestLimits defaults, fresh process each)", "",
                 "| request | items | RSS before (MB) | peak RSS (MB) | added (MB) | seconds |", "|---|---:|---:|---:|---:|---:|"]
        for kind, model in (("forecast", "ma7"), ("reorder", "ma7")):
            r = measure(url, kind, model)
            lines.append(f"| {kind} {model} | {r['items']:,} | {r['before_mb']:.0f} | {r['peak_mb']:.0f} | "
                         f"{r['peak_mb'] - r['before_mb']:.0f} | {r['seconds']:.1f} |")
            print(lines[-1], flush=True)
    publish(lines, "memory.md")


if __name__ == "__main__":
    main()
