"""Runs whose process died: found by their owner or their lease, marked failed, their results removed.

A computation records its run as ``running`` with its owner (host, pid and
start time of the process, :mod:`forecasting.core.process`) and a heartbeat
that :class:`LeaseKeeper` renews every :data:`HEARTBEAT_S` seconds while the
run lasts. A process killed outright (``kill -9``, a lost machine) leaves the
run ``running`` with whatever chunks a batch job had stored; :func:`recover`,
called whenever the services are built (any database command, the app, the
API start), marks such runs failed and removes their results:

* a run owned by a process of this host that has ended, at once;
* a run of another host (or recorded before owners were) whose heartbeat is
  older than :data:`LEASE_S` seconds: its process cannot be checked from here.

It also removes the temporary files of this host's ended processes
(:func:`forecasting.io.scratch.sweep`). A live job, here or elsewhere, is never touched.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import inspect

from forecasting.core.process import Owner, is_gone, this_host, this_process
from forecasting.io import scratch
from forecasting.storage import runs
from forecasting.storage.database import Database
from forecasting.storage.models import utcnow

#: seconds between two heartbeats of a process's running runs
HEARTBEAT_S = 30.0
#: seconds without a heartbeat after which another host's run is taken for abandoned
LEASE_S = 600.0
ABANDONED = "abandoned: the process computing it ({owner}) ended before it finished; its partial results were removed"

log = logging.getLogger(__name__)


def recover(database: Database) -> tuple[int, ...]:
    """Mark the abandoned runs of ``database`` failed (results removed), sweep this host's stale temp files;
    the ids of the runs failed."""
    scratch.sweep()
    with database.read() as conn:
        if not inspect(conn).has_table("forecast_runs"):  # a database not migrated yet has no runs
            return ()
        rows = runs.running_runs(conn)
    cutoff = utcnow() - timedelta(seconds=LEASE_S)
    failed = []
    for row in rows:
        owner = Owner.parse(row.owner)
        if owner is not None and owner.host == this_host():
            if not is_gone(owner):
                continue
            lease_before = None
        elif (row.heartbeat_at or row.created_at) >= cutoff:
            continue
        else:
            lease_before = cutoff
        with database.write() as conn:
            if runs.fail_abandoned(conn, row.client_id, row.id, ABANDONED.format(owner=row.owner or "unknown"),
                                   lease_before):
                failed.append(row.id)
                log.warning("run %s of client %s was abandoned by its process (%s): marked failed, results removed",
                            row.id, row.client_id, row.owner or "unknown")
    if failed:
        database.reclaim(*runs.RESULT_TABLES)
    return tuple(failed)


class LeaseKeeper:
    """Renews the heartbeat of this process's running runs on one database (a daemon thread while any run)."""

    def __init__(self, database: Database):
        self.database = database
        self._runs: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: int) -> None:
        """Keep ``run_id``'s lease until :meth:`release`."""
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)
                self._thread.start()

    def release(self, run_id: int) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                held = sorted(self._runs)
                if not held:
                    self._thread = None
                    return
            try:
                with self.database.write() as conn:
                    runs.refresh_leases(conn, held, this_process().tag(), utcnow())
            except Exception as exc:  # a busy or unreachable database: the next beat tries again
                log.warning("could not renew the lease of runs %s: %s", held, exc)
