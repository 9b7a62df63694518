"""The sales history CSV: ``item_id,date,quantity`` plus optional numeric covariates (docs/data-formats.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError, RowProblem
from forecasting.core.sales import SALES_COLUMNS, parse_sales, repeated_pairs
from forecasting.io.csv_reader import Source, read_validated, source_name

#: the typed first read of clean files (pandas' C parser types the numbers)
_TYPED = {"item_id": "str", "date": "str", "quantity": "float64"}


def read_sales_csv(
    source: Source, max_bytes: int | None = None, max_rows: int | None = None, stop_early: bool = True
) -> pd.DataFrame:
    """Validated sales frame: item_id (str), date (datetime64[ns]), quantity (float), covariates (float).

    Any bad row rejects the whole file (InvalidInputError naming rows): an
    unparsable date, a negative, non-numeric or missing quantity, an empty
    item_id, a non-numeric covariate, or a repeated (item_id, date) pair.
    ``stop_early=False`` reads the whole file to count every problem (uploads).
    """
    frame = read_validated(
        source, "sales", SALES_COLUMNS, _check_chunk, max_bytes, max_rows, _TYPED, stop_early=stop_early
    )
    problems = repeated_pairs(frame["item_id"], frame["date"], frame["_row"].to_numpy())
    if problems:
        raise InvalidInputError(
            f"sales file {source_name(source)} rejected, nothing imported", problems, problems.total
        )
    return frame.drop(columns="_row")


def _check_chunk(chunk: pd.DataFrame, rows: np.ndarray) -> tuple[list[RowProblem], pd.DataFrame]:
    problems, parsed = parse_sales(chunk, rows)
    parsed["_row"] = rows
    return problems, parsed
