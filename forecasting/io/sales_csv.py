"""The sales history CSV: ``item_id,date,quantity`` plus optional numeric covariates."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError, RowProblem
from forecasting.io.csv_reader import (
    FastParse,
    Source,
    parse_item_ids,
    parse_number,
    read_validated,
    source_name,
)

SALES_COLUMNS = ("item_id", "date", "quantity")


def read_sales_csv(source: Source, max_bytes: int | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """Validated sales frame: item_id (str), date (datetime64[ns]), quantity (float), covariates (float).

    Any bad row rejects the whole file (InvalidInputError naming rows): an
    unparsable date, a negative, non-numeric or missing quantity, an empty
    item_id, a non-numeric covariate, or a repeated (item_id, date) pair.
    """
    frame = read_validated(source, "sales", SALES_COLUMNS, _check_chunk, max_bytes, max_rows, _FAST)
    dup = frame.duplicated(["item_id", "date"], keep=False).to_numpy()
    if dup.any():
        rows = frame["_row"].to_numpy()[dup]
        problems = [RowProblem(int(r), "repeated (item_id, date) pair") for r in rows[: InvalidInputError.MAX_LISTED]]
        raise InvalidInputError(f"sales file {source_name(source)} rejected, nothing imported", problems)
    return frame.drop(columns="_row")


def _check_chunk(chunk: pd.DataFrame, rows: np.ndarray) -> tuple[list[RowProblem], pd.DataFrame]:
    problems: list[RowProblem] = []
    ids = parse_item_ids(chunk["item_id"], rows, problems)
    # leading blanks are skipped by the reader; a trailing blank makes the date unparsable
    dates = pd.to_datetime(chunk["date"], format="%Y-%m-%d", errors="coerce")
    bad_date = dates.isna().to_numpy()
    problems.extend(
        RowProblem(int(r), "unparsable date (expected YYYY-MM-DD)")
        for r in rows[bad_date][: InvalidInputError.MAX_LISTED]
    )
    quantity = parse_number(chunk["quantity"], rows, "quantity", problems)
    parsed = pd.DataFrame(
        {"item_id": ids.to_numpy(dtype=object), "date": dates.to_numpy(dtype="datetime64[ns]"), "quantity": quantity}
    )
    for column in chunk.columns:
        if column not in SALES_COLUMNS:
            parsed[column] = parse_number(chunk[column], rows, column, problems, minimum=None)
    parsed["_row"] = rows
    return problems, parsed


def _fast_chunk(chunk: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame | None:
    """A clean chunk parsed without per-cell text checks; None as soon as anything needs them."""
    if any(c not in chunk.columns for c in SALES_COLUMNS):
        return None
    ids = chunk["item_id"]
    distinct = pd.unique(ids.to_numpy(dtype=object))  # few items, many days: check each id once
    if any(not i or i[-1].isspace() for i in distinct):
        return None
    dates = pd.to_datetime(chunk["date"], format="%Y-%m-%d", errors="coerce")
    quantity = chunk["quantity"].to_numpy(dtype=np.float64)
    if dates.isna().any() or not (np.isfinite(quantity).all() and (quantity >= 0).all()):
        return None
    parsed = pd.DataFrame(
        {"item_id": ids.to_numpy(dtype=object), "date": dates.to_numpy(dtype="datetime64[ns]"), "quantity": quantity}
    )
    for column in chunk.columns:
        if column not in SALES_COLUMNS:
            if not pd.api.types.is_numeric_dtype(chunk[column]) or pd.api.types.is_bool_dtype(chunk[column]):
                return None
            values = chunk[column].to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                return None
            parsed[column] = values
    parsed["_row"] = rows
    return parsed


_FAST = FastParse({"item_id": "str", "date": "str", "quantity": "float64"}, _fast_chunk)
