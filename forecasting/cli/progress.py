"""Progress bars on stderr for long runs, silent when stderr is not a terminal."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from forecasting.core.models.base import ProgressCallback


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """Yields a ``progress(done, total)`` callback drawing a tqdm bar on a terminal."""
    bar = tqdm(desc=description, total=None, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
