"""The sales history file: ``item_id,date,quantity`` plus optional numeric covariates (docs/data-formats.md).

CSV, or Parquet for batch jobs (:func:`iter_sales_file`), with the same rules.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.cells import Problems
from forecasting.core.errors import RowProblem
from forecasting.core.sales import SALES_COLUMNS, parse_sales, repeated_pairs
from collections.abc import Iterator
from pathlib import Path

from forecasting.io.csv_reader import Source, iter_validated, read_validated
from forecasting.io.parquet_reader import is_parquet, iter_parquet_validated

#: the typed first read of clean files (pandas' C parser types the numbers)
_TYPED = {"item_id": "str", "date": "str", "quantity": "float64"}


def read_sales_csv(
    source: Source, max_bytes: int | None = None, max_rows: int | None = None, stop_early: bool = True
) -> pd.DataFrame:
    """Validated sales frame: item_id (str), date (datetime64[ns]), quantity (float), covariates (float).

    Any bad row rejects the whole file (InvalidInputError naming every kind of
    problem with its rows and values): an unparsable date, a negative,
    non-numeric, missing or too large quantity, an empty item_id or one with a
    control character, a non-numeric covariate, or a repeated (item_id, date)
    pair. ``stop_early=False`` reads the whole file however many problems it
    has, to count them all (uploads).
    """
    frame = read_validated(
        source, "sales", SALES_COLUMNS, _check_chunk, max_bytes, max_rows, _TYPED, stop_early=stop_early,
        whole=lambda frame: repeated_pairs(frame["item_id"], frame["date"], frame["_row"].to_numpy()),
    )
    return frame.drop(columns="_row")


def iter_sales_file(path: str | Path, problems: Problems | None = None) -> Iterator[pd.DataFrame | None]:
    """The validated chunks of a sales CSV or Parquet file, with the file row of each (``_row``).

    Every row is checked as by :func:`read_sales_csv`; repeated (item_id, date)
    pairs are left to the caller, who sees the whole file. May yield
    ``RESTART`` (None): forget the chunks so far (see :func:`iter_validated`).
    Given ``problems``, bad rows go there and their chunks are yielded too (the
    caller raises, with the pairs it found).
    """
    if is_parquet(path):
        return iter_parquet_validated(path, "sales", SALES_COLUMNS, _check_chunk, problems=problems)
    return iter_validated(path, "sales", SALES_COLUMNS, _check_chunk, None, None, _TYPED, problems=problems)


def _check_chunk(chunk: pd.DataFrame, rows: np.ndarray) -> tuple[list[RowProblem], pd.DataFrame]:
    problems, parsed = parse_sales(chunk, rows)
    parsed["_row"] = rows
    return problems, parsed
