"""Reading Parquet tables (pyarrow) with the same rules and messages as the CSV reader.

Batch users keep big tables in Parquet. A Parquet file's columns are typed,
so there is no dialect to sniff, but everything else is as for a CSV file:
header names match ignoring case, spaces, dashes and underscores, every row
passes the format's checks, and a bad row rejects the whole file with the
rows named. Row numbers count as in the same table written as CSV: the first
row is row 2.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.core.cells import Problems, header_problem
from forecasting.core.errors import InvalidInputError, shortened
from forecasting.io.csv_reader import CHUNK_ROWS, ChunkCheck, rejected
from forecasting.io.dialect import canonical_header

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | Path | None) -> bool:
    """Whether a file name says Parquet (``.parquet`` or ``.pq``)."""
    return path is not None and Path(str(path)).suffix.lower() in PARQUET_SUFFIXES


def iter_parquet_validated(
    path: str | Path,
    kind: str,
    required: tuple[str, ...],
    check: ChunkCheck,
    known: tuple[str, ...] = (),
    problems: Problems | None = None,
) -> Iterator[pd.DataFrame]:
    """The parsed batches of a Parquet file, each checked by ``check`` (see :func:`iter_validated`).

    Raises InvalidInputError for a missing or unreadable file, a missing
    required column, a repeated column name or too many columns, no rows, or
    bad rows (every kind, see :func:`iter_validated`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InvalidInputError(f"{kind} file {name} does not exist") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{kind} file {name} is a folder, not a file") from None
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(f"{kind} file {name} is not a readable Parquet file ({exc})") from None
    columns = canonical_header(parquet.schema_arrow.names, (*required, *known))
    wrong = header_problem(columns)
    if wrong:
        raise InvalidInputError(f"{kind} file {name} {wrong}")
    missing = [c for c in required if c not in columns]
    if missing:
        found = ", ".join(repr(shortened(c)) for c in columns[:8])
        raise InvalidInputError(
            f"{kind} file {name} is missing required column(s) {', '.join(missing)} "
            f"(expected {','.join(required)}; found {found})"
        )
    collect = problems is not None
    problems = Problems() if problems is None else problems
    rows_read = 0
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
        if problems:  # as the CSV reader: not past the first batch with a problem
            problems.stopped_at = rows_read + 1
            break
        frame = batch.to_pandas()
        frame.columns = columns
        if "item_id" in frame.columns and frame["item_id"].dtype != object:
            frame["item_id"] = frame["item_id"].astype("string").fillna("").astype(object)
        rows = np.arange(rows_read, rows_read + len(frame)) + 2
        rows_read += len(frame)
        found, parsed = check(frame, rows)
        problems.add(found)
        if collect or not problems:
            yield parsed
    if problems and not collect:
        raise rejected(kind, name, problems)
    if rows_read == 0:
        raise InvalidInputError(f"{kind} file {name} has a header but no data rows")
