"""Engines run chunks: in this process (``local``), or sharded over a Ray cluster (``ray``, :mod:`.ray_engine`).

An engine takes chunks with :meth:`submit` and hands back each finished one
with its result or the exception its worker raised (:meth:`next_done`); the
runner decides what to retry. Ray is imported only when its engine is used.
"""
from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Protocol

from forecasting.batch.plan import ENGINES, Chunk
from forecasting.batch.work import ChunkContext, ChunkResult, run_chunk


class Engine(Protocol):
    """A running engine (a context manager: started on enter, stopped on exit)."""

    def __enter__(self) -> Engine: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...

    def has_capacity(self) -> bool:
        """Whether another chunk can be submitted now."""

    def submit(self, chunk: Chunk) -> None: ...

    def next_done(self) -> tuple[Chunk, ChunkResult | BaseException]:
        """Wait for a submitted chunk to finish."""


class LocalEngine:
    """One chunk at a time, in this process."""

    def __init__(self, context: ChunkContext):
        self.context = context
        self._queue: deque[Chunk] = deque()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, kind, error, trace) -> None:
        self._queue.clear()

    def has_capacity(self) -> bool:
        return not self._queue

    def submit(self, chunk: Chunk) -> None:
        self._queue.append(chunk)

    def next_done(self) -> tuple[Chunk, ChunkResult | BaseException]:
        chunk = self._queue.popleft()
        try:
            return chunk, run_chunk(self.context, chunk)
        except Exception as exc:  # the runner retries or fails the job
            return chunk, exc


def create_engine(name: str, context: ChunkContext) -> Engine:
    """The engine called ``name`` (one of :data:`ENGINES`) for a job."""
    if name == "local":
        return LocalEngine(context)
    if name == "ray":
        from forecasting.batch.ray_engine import RayEngine

        return RayEngine(context)
    raise ValueError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
