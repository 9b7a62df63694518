"""What a worker does with one chunk: load its history, run the job's model on it, store and return the result.

The same function runs in the local engine and in Ray workers; everything it
needs travels in a :class:`ChunkContext` (plain, picklable values: the job,
the model objects, where the data is).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from forecasting.applications.inventory.calculator import InventoryCalculator, PathAdjustment
from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.applications.quality.calculator import QualityCalculator
from forecasting.batch.plan import BatchJob, Chunk
from forecasting.batch.staging import KEY
from forecasting.core.covariates import KnownFuture, add_category, used_covariates, with_covariates
from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import BaseForecastModel

#: a reorder table's sort key for items without a stockout within the horizon (after every day)
NO_STOCKOUT = 9999


class ChunkSource(Protocol):
    """Where a job's chunks come from and where their stored results go."""

    def load(self, chunk: Chunk, min_days: int) -> PreparedHistory:
        """The chunk's items' history up to the job's as-of date."""

    def save(self, chunk: Chunk, table: pd.DataFrame) -> None:
        """Keep a chunk's forecast where the job's run is recorded (nothing in file mode)."""


@dataclass(frozen=True)
class ChunkContext:
    """Everything a worker needs besides the chunk."""

    job: BatchJob
    models: tuple[BaseForecastModel, ...]
    source: ChunkSource
    #: the days forecast: the job's horizon, or for reorder the whole inventory's lead time + review period
    horizon: int
    #: known-future covariates (file mode's ``--calendar``): their past values join the history
    calendar: KnownFuture | None = None
    #: reorder over several chunks: every item's ABC / XYZ / lifecycle, ranked over all chunks together
    classes: pd.DataFrame | None = None
    #: reorder: the client's policy by class (None: the defaults)
    policy: ClassPolicy | None = None
    #: forecast: the covariates the model uses, named in the output (database mode: the client's); None: each
    #: chunk's own (file mode: the file's columns and the calendar's)
    covariates: tuple[str, ...] | None = None
    #: reorder: approved purchase-order lines still to arrive (:meth:`DataAccess.arrivals`)
    arrivals: pd.DataFrame | None = None
    #: reorder: the published plan's overrides that move the model's paths (None: the model's own demand)
    demand: PathAdjustment | None = None
    #: forecast and backtest of a model that uses item attributes (database mode): item id -> its category
    categories: dict[str, str] | None = None

    @property
    def min_days(self) -> int:
        return max(m.min_history_days for m in self.models)


@dataclass
class ChunkResult:
    """A chunk's output rows (sorted by :data:`KEY`) and, for a backtest, its metric sums."""

    index: int
    n_items: int
    table: pd.DataFrame
    sums: pd.DataFrame | None = None


def run_chunk(context: ChunkContext, chunk: Chunk) -> ChunkResult:
    """Load, compute, store: one chunk of the job."""
    history = add_category(context.source.load(chunk, context.min_days), context.categories)
    future = None
    if context.calendar is not None:
        history, future = context.calendar.add_past(history), context.calendar.frame
    job = context.job
    if job.kind == "forecast":
        model = context.models[0]
        table = model.forecast(history, context.horizon, job.quantiles, future)
        context.source.save(chunk, table)
        names = context.covariates
        if names is None:
            names = used_covariates(model, history.covariates, [] if context.calendar is None else context.calendar.names)
        table = with_covariates(table, model, names)
        table[KEY] = table["item_id"]
        return ChunkResult(chunk.index, history.n_items, table)
    if job.kind == "reorder":
        table = InventoryCalculator.plan(
            context.models[0], history, chunk.inventory, job.service_level, horizon=context.horizon,
            classes=context.classes, policy=context.policy, arrivals=context.arrivals, demand=context.demand,
        ).table
        return ChunkResult(chunk.index, history.n_items, _with_reorder_key(table))
    result = QualityCalculator.backtest(
        history, [m.name for m in context.models], context.horizon, job.windows, job.quantiles,
        future_covariates=future,
    )
    sums = result.sums.reset_index().astype({"model": object, "item_id": object})
    return ChunkResult(chunk.index, history.n_items, pd.DataFrame({KEY: []}), sums)


def _with_reorder_key(table: pd.DataFrame) -> pd.DataFrame:
    """The reorder table's order as one sortable text: items to reorder first, soonest stockout, item id."""
    ok = np.where(table["action"].to_numpy() == "reorder", "0", "1")
    cover = table["days_of_cover"].fillna(NO_STOCKOUT).astype(np.int64).map("{:04d}".format).to_numpy()
    out = table.copy()
    out[KEY] = pd.Series(ok, dtype=object) + cover + "|" + table["item_id"].astype(str).to_numpy()
    return out


def backtest_metrics(sums: list[pd.DataFrame], models: tuple[str, ...], levels: tuple[float, ...]) -> pd.DataFrame:
    """The backtest's metrics from every chunk's sums: what one backtest over all items gives."""
    frame = pd.concat(sums, ignore_index=True)
    rank = {name: i for i, name in enumerate(models)}
    frame = frame.assign(_m=frame["model"].map(rank)).sort_values(["_m", "item_id"], kind="stable")
    frame = frame.drop(columns="_m")
    frame["model"] = pd.Categorical(frame["model"], categories=[m for m in models if m in set(frame["model"])])
    frame["item_id"] = pd.Categorical(frame["item_id"], categories=pd.unique(frame["item_id"]))
    return QualityCalculator.metrics_from_sums(frame.set_index(["model", "item_id"]), levels)
