"""A job killed outright (``kill -9``) is cleaned up by the next command: run failed, results and temp files gone.

The jobs are real processes killed with SIGKILL, on a SQLite file and on
PostgreSQL; a healthy job running beside them (a live process of this host)
keeps its run, its results and its files.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from forecasting.core.process import Owner, this_process
from forecasting.io import scratch
from forecasting.io.output_file import output_file
from forecasting.services.container import build_services
from forecasting.services.run_recovery import LEASE_S, recover
from forecasting.storage.models import utcnow
from tests.support.db import sales_frame

ROOT = Path(__file__).resolve().parents[1]
#: enough items (in chunks of 10) that the job is still storing or writing when it is killed
N_ITEMS = 2000


@pytest.fixture
def two_clients(db_url):
    services = build_services(db_url)
    ids = {}
    for name, n, seed in (("Killed Co", N_ITEMS, 1), ("Healthy Co", 40, 2)):
        ids[name] = services.data.create_client(name).client_id
        services.data.import_sales(ids[name], sales_frame({f"SKU-{i:05d}": 3.0 for i in range(n)}, 14, seed=seed))
    return services, ids


def env(scratch_dir: Path) -> dict[str, str]:
    return {**os.environ, "FORECASTING_BATCH_DIR": str(scratch_dir), "PYTHONPATH": str(ROOT)}


def wait_for(condition, process: subprocess.Popen, what: str, timeout_s: float = 300.0) -> None:
    """Poll ``condition`` until true; fail if the process ends first (the job was too quick to be caught)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the job ended (exit {process.returncode}) before {what}: {process.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


#: a real batch job of the healthy client that stops after its first chunks (outside any transaction) and waits
HEALTHY_JOB = """
import sys, time
from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job
from forecasting.services.container import build_services

def pause(done, total):
    if done >= 20:
        print("paused", flush=True)
        time.sleep(600)

services = build_services(sys.argv[1])
client = services.data.client_by_name("Healthy Co").client_id
run_database_job(services, client, BatchJob("forecast", ("ma7",), 30, (0.5,), chunk_items=10), output=sys.argv[2],
                 progress=pause)
"""


def runs_of(database, client_id: int) -> dict[int, tuple[str, str | None, int]]:
    """run id -> (status, error, stored result rows)."""
    with database.read() as conn:
        rows = conn.execute(text(
            "SELECT r.id, r.status, r.error, (SELECT COUNT(*) FROM forecast_results f WHERE f.run_id = r.id) "
            "FROM forecast_runs r WHERE r.client_id = :c"), {"c": client_id}).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def mine(folder: Path, pid: int) -> list[str]:
    """The scratch entries of process ``pid``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(("forecasting-batch-", "forecasting-out-"))
            and p.name.split("-")[2] == str(pid)]


def test_a_killed_batch_job_is_recovered_by_the_next_command_and_a_live_one_is_not(two_clients, db_url, tmp_path):
    services, ids = two_clients
    scratch_dir, outputs = tmp_path / "scratch", tmp_path / "out"
    outputs.mkdir()
    healthy = subprocess.Popen([sys.executable, "-c", HEALTHY_JOB, db_url, str(outputs / "healthy.csv")],
                               env=env(scratch_dir), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    killed = None
    try:
        assert healthy.stdout.readline() == "paused\n", healthy.stderr.read()
        killed = subprocess.Popen(
            [sys.executable, "-m", "forecasting", "forecast", "--client", "Killed Co", "--database-url", db_url,
             "--model", "ma7", "--horizon", "60", "--chunk-items", "10", "--output", str(outputs / "killed.csv")],
            env=env(scratch_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: any(p.suffix == ".tmp" for p in outputs.iterdir()), killed, "its output was being written")
        killed.send_signal(signal.SIGKILL)
        killed.wait()

        # what the kill left: a running run with every chunk's rows, its work folder, a partial output
        (killed_run, (status, _, rows)), = runs_of(services.database, ids["Killed Co"]).items()
        assert status == "running" and rows == N_ITEMS * 60
        assert [p.name for p in outputs.iterdir() if p.name.startswith(".killed.csv.")]
        assert len(mine(scratch_dir, killed.pid)) == 2  # the work folder and the output's marker
        (healthy_run, (_, _, healthy_rows)), = runs_of(services.database, ids["Healthy Co"]).items()
        assert healthy_rows == 20 * 30

        done = subprocess.run([sys.executable, "-m", "forecasting", "runs", "--client", "Killed Co",
                               "--database-url", db_url], env=env(scratch_dir), cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert f"run {killed_run} of client {ids['Killed Co']} was abandoned by its process" in done.stderr
        assert ",failed,abandoned: the process computing it" in done.stdout

        status, error, rows = runs_of(services.database, ids["Killed Co"])[killed_run]
        assert (status, rows) == ("failed", 0)
        assert error.startswith(f"abandoned: the process computing it ({this_process().host}:{killed.pid}:")
        assert sorted(p.name for p in outputs.iterdir()) == []  # no partial output, no output at all
        assert mine(scratch_dir, killed.pid) == []
        # the live job is untouched: still running, its chunks stored, its work folder there
        assert runs_of(services.database, ids["Healthy Co"])[healthy_run] == ("running", None, 20 * 30)
        assert len(mine(scratch_dir, healthy.pid)) == 1
    finally:
        for process in (healthy, killed):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


#: an interactive forecast (the service the app and the API use) that stops mid-computation, its run recorded
INTERACTIVE = """
import sys, time
from forecasting.services.container import build_services

def pause(done, total):
    print("computing", flush=True)
    time.sleep(600)

services = build_services(sys.argv[1])
client = services.data.client_by_name("Healthy Co").client_id
services.forecasts.forecast(client, ["SKU-00001", "SKU-00002"], "ma7", 7, progress=pause)
"""


def test_an_interactive_run_killed_mid_computation_is_failed_when_the_api_starts(two_clients, db_url, tmp_path):
    from forecasting.api.app import create_app

    services, ids = two_clients
    process = subprocess.Popen([sys.executable, "-c", INTERACTIVE, db_url], env=env(tmp_path), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "computing\n", process.stderr.read()
        (run_id, state), = runs_of(services.database, ids["Healthy Co"]).items()
        assert state == ("running", None, 0)
        create_app(services.database)  # a live owner: nothing to do
        assert runs_of(services.database, ids["Healthy Co"])[run_id][0] == "running"
    finally:
        process.kill()
        process.wait()
    create_app(services.database)
    status, error, _ = runs_of(services.database, ids["Healthy Co"])[run_id]
    assert status == "failed" and error.startswith("abandoned: ")
    again = services.forecasts.forecast(ids["Healthy Co"], ["SKU-00001", "SKU-00002"], "ma7", 7)
    assert not again.cached and again.run_id != run_id  # the failed run never answers from the cache


def set_lease(database, run_id: int, owner: str | None, heartbeat_ago_s: float | None) -> None:
    with database.write() as conn:
        conn.execute(text("UPDATE forecast_runs SET owner = :o, heartbeat_at = :h WHERE id = :r"),
                     {"o": owner, "r": run_id, "h": None if heartbeat_ago_s is None else
                      (utcnow() - timedelta(seconds=heartbeat_ago_s)).replace(tzinfo=None)})


def test_another_hosts_run_is_failed_only_when_its_lease_expired(data):
    from forecasting.services.forecast_service import run_request

    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({"A": 2.0, "B": 5.0}, 14))
    fresh, stale, legacy = (
        data.record_run(client, run_request("forecast", ("A", "B"), "ma7", "1", 7, (), {}, f"{i}" * 64, None))[0]
        for i in range(3)
    )
    for run_id in (fresh, stale, legacy):
        data.store_results(client, run_id, data.history(client, ["A"]).assign(forecast=1.0).head(7)
                           [["item_id", "date", "forecast"]], ())
        data.leases.release(run_id)
    set_lease(data.database, fresh, "elsewhere:123:456", LEASE_S - 60)  # renewed a minute before expiry
    set_lease(data.database, stale, "elsewhere:123:456", LEASE_S + 60)
    set_lease(data.database, legacy, None, None)  # recorded before runs had owners: its start counts
    with data.database.write() as conn:
        conn.execute(text("UPDATE forecast_runs SET created_at = :t WHERE id = :r"),
                     {"t": (utcnow() - timedelta(seconds=LEASE_S + 1)).replace(tzinfo=None), "r": legacy})
    assert recover(data.database) == (stale, legacy)
    states = runs_of(data.database, client)
    assert states[fresh] == ("running", None, 7)
    assert states[stale][0] == "failed" and states[stale][1].startswith("abandoned: the process computing it "
                                                                          "(elsewhere:123:456)")
    assert states[stale][2] == states[legacy][2] == 0
    assert recover(data.database) == ()


def test_the_lease_is_renewed_while_the_run_lasts_and_a_swept_run_cannot_complete(data, monkeypatch):
    from forecasting.services import run_recovery
    from forecasting.services.forecast_service import run_request

    monkeypatch.setattr(run_recovery, "HEARTBEAT_S", 0.05)
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({"A": 2.0}, 14))
    run_id, _ = data.record_run(client, run_request("forecast", ("A",), "ma7", "1", 7, (), {}, "f" * 64, None))
    set_lease(data.database, run_id, this_process().tag(), LEASE_S + 60)  # as if the last beat was long ago

    def heartbeat():
        with data.database.read() as conn:
            return conn.execute(text("SELECT heartbeat_at FROM forecast_runs WHERE id = :r"), {"r": run_id}).scalar()

    before = heartbeat()
    deadline = time.monotonic() + 60
    while heartbeat() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert heartbeat() != before  # renewed: another host would not take it for abandoned
    assert recover(data.database) == ()
    # a run marked failed meanwhile (its process taken for dead) stores nothing when it finishes
    set_lease(data.database, run_id, "elsewhere:1:1", LEASE_S + 60)
    assert recover(data.database) == (run_id,)
    frame = data.history(client, ["A"]).assign(forecast=1.0).head(7)[["item_id", "date", "forecast"]]
    with pytest.raises(ValueError, match="was marked failed while it ran"):
        data.complete_run(client, run_id, 1.0, frame, ())
    assert runs_of(data.database, client)[run_id][0::2] == ("failed", 0)


def test_a_killed_file_job_leaves_nothing_after_the_next_command(tmp_path):
    from tests.test_cli_file_mode import write_sales

    sales = write_sales(tmp_path / "sales.csv", {f"SKU-{i:05d}": [3] * 14 for i in range(N_ITEMS)})
    scratch_dir, outputs = tmp_path / "scratch", tmp_path / "out"
    outputs.mkdir()
    job = subprocess.Popen([sys.executable, "-m", "forecasting", "forecast", "--input", str(sales), "--model", "ma7",
                            "--horizon", "60", "--output", str(outputs / "f.csv")],
                           env=env(scratch_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(p.suffix == ".tmp" for p in outputs.iterdir()), job, "its output was being written")
    finally:
        job.kill()
        job.wait()
    assert len(mine(scratch_dir, job.pid)) == 2 and len(list(outputs.iterdir())) == 1
    done = subprocess.run([sys.executable, "-m", "forecasting", "models"], env=env(scratch_dir), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert mine(scratch_dir, job.pid) == [] and list(outputs.iterdir()) == []


def test_the_sweep_leaves_a_live_processs_files_and_other_hosts_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(scratch.WORK_DIR_ENV, str(tmp_path / "scratch"))
    other_host = tmp_path / "scratch" / f"forecasting-batch-{Owner('elsewhere', 1, 1).tag('-')}-abc123"
    with scratch.work_dir() as work, output_file(tmp_path / "o.csv") as temp:
        other_host.mkdir()
        assert scratch.sweep() == 0
        assert work.is_dir() and temp.is_file() and other_host.is_dir()
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == [other_host.name]
