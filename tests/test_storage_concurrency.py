"""Two processes importing or forecasting at the same moment lose nothing and duplicate nothing."""
from __future__ import annotations

import multiprocessing

import numpy as np
import pandas as pd
from sqlalchemy import text

from tests.support.db import child_forecast, child_import, run_child, sales_frame

TIMEOUT_S = 120


def _in_two_processes(target, args_a: tuple, args_b: tuple) -> list:
    """Run ``target`` in two fresh processes released together by a barrier; their results."""
    ctx = multiprocessing.get_context("fork")  # children build their own engines; fork spares re-imports
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=run_child, args=(target, queue, *args, barrier)) for args in (args_a, args_b)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=TIMEOUT_S) for _ in workers]
    for worker in workers:
        worker.join(timeout=TIMEOUT_S)
    errors = [value for status, value in results if status != "ok"]
    assert not errors, errors
    return [value for _, value in results]


def test_two_processes_importing_overlapping_files_lose_nothing(db_url, data, database):
    client = data.create_client("Acme").client_id
    first = sales_frame({"A": 5, "B": 5}, days=1000, start="2020-01-01", seed=1)
    second = sales_frame({"B": 50, "C": 5}, days=1000, start="2021-05-15", seed=2)  # B overlaps on 500 days
    version = data.data_version(client)

    counts = _in_two_processes(child_import, (db_url, client, first), (db_url, client, second))

    assert sum(inserted for inserted, _ in counts) == 3500
    assert sorted(updated for _, updated in counts) == [0, 500]
    assert data.data_version(client) == version + 2
    with database.read() as conn:
        rows = conn.execute(text("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM sales")).one()
        items = conn.execute(text("SELECT external_id FROM items ORDER BY external_id")).scalars().all()
    assert tuple(rows) == (3500, 3) and items == ["A", "B", "C"]

    # whichever import ran last, the as-of date is the later file's last day, and A runs on to it with zeros
    assert data.get_client(client).as_of == pd.Timestamp("2024-02-08").date()
    history = data.history(client, ["A", "B", "C"])
    assert len(history) == 3500 + 500
    b = history[history.item_id == "B"].set_index("date")["quantity"]
    overlap = pd.date_range("2021-05-15", periods=500)
    from_first = first[first.item_id == "B"].set_index("date")["quantity"].reindex(overlap)
    from_second = second[second.item_id == "B"].set_index("date")["quantity"].reindex(overlap)
    # the imports ran one after the other: the overlap holds one file's values, never a mix
    assert np.array_equal(b[overlap], from_first) or np.array_equal(b[overlap], from_second)


def test_two_processes_forecasting_at_once_both_succeed_without_duplicates(db_url, data, database):
    client = data.create_client("Acme").client_id
    items = [f"I{i:02d}" for i in range(40)]
    data.import_sales(client, sales_frame(dict.fromkeys(items, 5.0), days=400))

    results = _in_two_processes(child_forecast, (db_url, client, items), (db_url, client, items))

    run_ids = sorted(run_id for run_id, _ in results)
    with database.read() as conn:
        runs = conn.execute(text("SELECT id, status, cached, source_run_id FROM forecast_runs ORDER BY id")).all()
        per_run = dict(conn.execute(text("SELECT run_id, COUNT(*) FROM forecast_results GROUP BY run_id")).all())
        duplicates = conn.execute(
            text("SELECT COUNT(*) FROM (SELECT run_id, item_id, date FROM forecast_results "
                 "GROUP BY run_id, item_id, date HAVING COUNT(*) > 1) d")
        ).scalar_one()
    assert [r.id for r in runs] == run_ids and all(r.status == "succeeded" for r in runs)
    computed = [r.id for r in runs if not r.cached]
    assert computed and all(per_run[run_id] == 40 * 14 for run_id in computed)
    assert sum(per_run.values()) == 40 * 14 * len(computed) and duplicates == 0
    frames = [data.run_forecast(client, run_id)[1] for run_id in run_ids]
    pd.testing.assert_frame_equal(frames[0], frames[1])
