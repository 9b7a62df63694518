"""What a batch job is: the request, and the chunks of items it is cut into.

Every chunk holds whole items, sorted by id, and knows the job's global
facts (the data's as-of date, the horizon of the whole inventory), so that an
item's result never depends on which other items share its chunk: chunked
results equal those of one run over all items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: items per chunk by default: about 200 MB of work for a statistical model on 2 years of days
DEFAULT_CHUNK_ITEMS = 5_000
#: a chunk whose worker fails unexpectedly is tried this many times in all
MAX_ATTEMPTS = 3
KINDS = ("forecast", "reorder", "backtest")
#: where chunks run: this process, or a Ray cluster (:mod:`forecasting.batch.engines`)
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchJob:
    """A forecast, reorder or backtest over a whole file or client."""

    kind: str
    #: one model (forecast, reorder) or several (backtest)
    models: tuple[str, ...]
    horizon: int = 28
    quantiles: tuple[float, ...] = ()
    windows: int = 1
    #: reorder: overrides every item's service level
    service_level: float | None = None
    #: reorder: overrides every item's service type (cycle or fill)
    service_type: str | None = None
    chunk_items: int = DEFAULT_CHUNK_ITEMS
    max_attempts: int = MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown batch kind {self.kind!r}")
        if self.chunk_items < 1 or self.max_attempts < 1:
            raise ValueError("chunk_items and max_attempts must be at least 1")


@dataclass(frozen=True)
class Chunk:
    """Some items of the job: their ids (sorted) and where their rows are."""

    index: int
    item_ids: np.ndarray
    #: file mode: the staged part holding the items' sales
    part: str | None = None
    #: database mode: the items' keys (``external_id, pk, sales_version``)
    keys: pd.DataFrame | None = None
    #: reorder: the items' inventory rows
    inventory: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How errors and the run record name the chunk."""
        return f"chunk {self.index + 1} (items {self.item_ids[0]} to {self.item_ids[-1]}, {len(self.item_ids)} items)"


def slices(n: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]
