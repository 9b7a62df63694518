"""The sales history format (docs/data-formats.md): its columns and the rules every row must pass.

One set of rules for every way sales come in: the CSV reader applies
:func:`parse_sales` to each chunk of text, the services to frames given
directly (:func:`validate_sales_frame`), and :func:`quantity_problems` guards
what the models are handed. A rejected table names its rows (file line numbers,
header = 1) and nothing of it is used.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.cells import (
    Problems,
    flag,
    header_problem,
    line_numbers,
    parse_dates,
    parse_item_ids,
    parse_number,
)
from forecasting.core.errors import InvalidInputError, RowProblem

SALES_COLUMNS = ("item_id", "date", "quantity")
REPEATED_PAIR = "repeated (item_id, date) pair"


def missing_columns(columns: list[str] | pd.Index) -> list[str]:
    """The required sales columns that ``columns`` lacks."""
    return [c for c in SALES_COLUMNS if c not in columns]


def covariate_columns(columns: list[str] | pd.Index) -> list[str]:
    """Extra columns (``promo``, ``price``...): numeric covariates of the history."""
    return [str(c) for c in columns if c not in SALES_COLUMNS]


def parse_sales(chunk: pd.DataFrame, rows: np.ndarray) -> tuple[list[RowProblem], pd.DataFrame]:
    """Check and type one block of sales rows: ``item_id`` (text), ``date`` (day), ``quantity`` and covariates (float).

    A quantity must be a finite number >= 0 and present; a covariate a number
    (empty cells are 0). Repeated pairs are checked over the whole table by
    :func:`repeated_pairs`.
    """
    problems = Problems()
    columns = {
        "item_id": parse_item_ids(chunk["item_id"], rows, problems),
        "date": parse_dates(chunk["date"], rows, problems),
        "quantity": quantity_values(chunk["quantity"], rows, problems),
    }
    for column in covariate_columns(chunk.columns):
        columns[column] = parse_number(chunk[column], rows, column, problems, default=0.0)
    return problems, pd.DataFrame(columns)  # built at once: column by column fragments a wide frame


def quantity_values(values: pd.Series, rows: np.ndarray, problems: list[RowProblem]) -> np.ndarray:
    """Quantities as numbers; missing, non-numeric, infinite and negative ones are problems."""
    quantity = parse_number(values, rows, "quantity", problems)
    flag(problems, rows, quantity < 0, "negative quantity", values)
    return quantity


def quantity_problems(quantity: np.ndarray) -> np.ndarray:
    """Mask of quantities that break the rule (NaN, infinite or negative): for typed arrays."""
    return ~np.isfinite(quantity) | (quantity < 0)


def repeated_pairs(item_ids: pd.Series, dates: pd.Series, rows: np.ndarray) -> Problems:
    """Every row of an (item_id, date) pair that occurs more than once (first 20), the pair quoted.

    Rows without a readable date or id are left out: they are problems of their own.
    """
    pairs = pd.DataFrame({"i": np.asarray(item_ids, dtype=object), "d": np.asarray(dates, dtype="datetime64[ns]")})
    dup = pairs.duplicated(keep=False).to_numpy() & pairs["d"].notna().to_numpy() & (pairs["i"] != "").to_numpy()
    problems = Problems()
    if dup.any():
        where = np.flatnonzero(dup)[: InvalidInputError.MAX_LISTED]
        shown = np.full(len(pairs), None, dtype=object)
        shown[where] = [f"{i}, {d:%Y-%m-%d}" for i, d in zip(pairs["i"].to_numpy()[where], pairs["d"].iloc[where])]
        flag(problems, rows, dup, REPEATED_PAIR, shown)
    return problems


def validate_sales_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A sales frame given directly (not read from a file), checked exactly like a file.

    Row numbers in errors count like file lines (the first data row is 2).
    """
    wrong = header_problem([str(c) for c in frame.columns])
    if wrong:
        raise InvalidInputError(f"sales data {wrong}")
    missing = missing_columns(frame.columns)
    if missing:
        raise InvalidInputError(f"sales data is missing required column(s) {', '.join(missing)}")
    if frame.empty:
        raise InvalidInputError("sales data has no rows")
    rows = line_numbers(len(frame))
    problems, parsed = parse_sales(frame.reset_index(drop=True), rows)
    problems.add(repeated_pairs(parsed["item_id"], parsed["date"], rows))
    if problems:
        raise problems.error("sales data rejected, nothing imported")
    return parsed
