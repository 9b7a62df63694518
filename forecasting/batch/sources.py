"""Where chunks come from: a staged sales file, or a client's items in the database.

Both sources are small picklable values (paths, a database URL, ids), so a
Ray worker on another machine can load its chunk itself: from the shared
file system, or from the shared database (each process opens its own
connection pool once).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from forecasting.batch.plan import Chunk
from forecasting.batch.staging import sales_frame
from forecasting.core.calendar import DAILY, Frequency
from forecasting.core.history import PreparedHistory, aggregate_history, prepare_history


@dataclass(frozen=True)
class FileSource:
    """Chunks read from the parts of a staged sales file (:func:`stage_sales`)."""

    #: the file's as-of date (a day number): every item's history runs to it
    as_of: int
    #: the bucket the models work in (the file's, detected once for the whole file, never per chunk)
    freq: Frequency = DAILY
    #: daily data summed to W or M first (``--bucket``); ``as_of`` and ``freq`` are then the summed data's
    aggregate: str | None = None

    def load(self, chunk: Chunk, min_days: int) -> PreparedHistory:
        frame = sales_frame(str(chunk.part), chunk.item_ids)
        if self.aggregate is not None:  # buckets are global (anchor, last whole bucket): chunks sum alike
            frame = aggregate_history(frame, self.aggregate, as_of=self.daily_as_of)
        return prepare_history(frame, min_days, as_of=np.datetime64(self.as_of, "D"), freq=self.freq)

    @property
    def daily_as_of(self) -> np.datetime64:
        """The daily data's last day: the end of the last summed bucket."""
        return np.datetime64(int(self.freq.days_of(self.freq.periods(np.array([self.as_of])) + 1)[0]) - 1, "D")

    def save(self, chunk: Chunk, table: pd.DataFrame) -> None:
        """File mode stores nothing besides the output file."""


@dataclass(frozen=True)
class DatabaseSource:
    """Chunks read from a client's stored sales; forecasts written under the job's run."""

    url: str
    client_id: int
    as_of: date
    #: the run the results are stored under (None: nothing stored, e.g. reorder)
    run_id: int | None = None
    levels: tuple[float, ...] = ()
    #: the bucket the models work in: the client's, or (``aggregate``) the one its daily sales are summed to
    freq: Frequency = DAILY
    #: daily sales summed to W or M first (``--bucket``); ``as_of`` stays the client's (the daily data's)
    aggregate: str | None = None

    def load(self, chunk: Chunk, min_days: int) -> PreparedHistory:
        frame = _data(self.url).history_of_keys(self.client_id, chunk.keys, self.as_of)
        if self.aggregate is not None:  # buckets are global (anchor, last whole bucket): chunks sum alike
            frame = aggregate_history(frame, self.aggregate, as_of=self.as_of)
            return prepare_history(frame, min_days, freq=self.freq)
        return prepare_history(frame, min_days, as_of=self.as_of, freq=self.freq)

    def save(self, chunk: Chunk, table: pd.DataFrame) -> None:
        if self.run_id is not None:
            _data(self.url).store_results(self.client_id, self.run_id, table, self.levels)


@cache
def _data(url: str):
    """One DataAccess (engine and pool) per worker process and database; the schema is the driver's concern."""
    from forecasting.services.data_access import DataAccess
    from forecasting.storage import open_database

    return DataAccess(open_database(url, migrate=False))
