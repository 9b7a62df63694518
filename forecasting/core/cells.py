"""Turning the cells of an input table into ids, dates and numbers, with row-numbered problems.

The same parsing serves every entry point: the CSV readers (text cells, one
chunk at a time), frames given directly to the services, and the app's
uploads. A cell that cannot be read adds one :class:`RowProblem` (row =
file line number, the header being row 1) and becomes NaN / NaT / "" in the
parsed column; what a valid value must be (>= 0, a whole number...) is a rule
of the format, checked by the caller with :func:`flag`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError, RowProblem

#: longest item id, name, category or client name, and covariate column name (characters; the database's limits)
ID_LENGTH = 200
TEXT_LENGTH = 200
COVARIATE_NAME_LENGTH = 100
#: the one date format of the files (docs/data-formats.md)
ISO_DATE = "%Y-%m-%d"
#: what European spreadsheets write; read as day.month.year
DOTTED_DATE = "%d.%m.%Y"
UNPARSABLE_DATE = "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY)"
SLASHED_DATE = "ambiguous date with slashes (day/month or month/day?): write YYYY-MM-DD or DD.MM.YYYY"


class Problems(list):
    """Row problems as found (each rule keeps its first 20 rows) and ``total``: how many there were in all."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0


def flag(problems: list[RowProblem], rows: np.ndarray, mask: np.ndarray, problem: str) -> None:
    """Add ``problem`` for the rows where ``mask`` holds (at most the first 20 of them; all are counted)."""
    mask = np.asarray(mask, dtype=bool)
    problems.extend(RowProblem(int(r), problem) for r in rows[mask][: InvalidInputError.MAX_LISTED])
    if isinstance(problems, Problems):
        problems.total += int(mask.sum())


def _by_category(parse, values: pd.Series, rows: np.ndarray, problems: list[RowProblem]) -> np.ndarray | None:
    """``parse`` of a categorical column (the streaming CSV reader's), once per distinct cell; None for others.

    When a distinct cell has a problem every row is parsed instead, which names the rows.
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return None
    codes = values.cat.codes.to_numpy()
    categories = pd.Series(np.asarray(values.cat.categories, dtype=object))
    found = Problems()
    parsed = parse(categories, np.arange(len(categories)), found)
    if found or (codes < 0).any():
        return parse(values.astype(object), rows, problems)
    return parsed[codes]


def parse_item_ids(values: pd.Series, rows: np.ndarray, problems: list[RowProblem]) -> np.ndarray:
    """Ids as stripped text (object array); an empty or missing id is a problem."""
    if (ids := _by_category(parse_item_ids, values, rows, problems)) is not None:
        return ids
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        ids = values.str.strip()
    else:
        ids = values.astype("string").str.strip().fillna("")
    flag(problems, rows, (ids == "").to_numpy(dtype=bool), "empty item_id")
    return ids.to_numpy(dtype=object)


def parse_dates(values: pd.Series, rows: np.ndarray, problems: list[RowProblem]) -> np.ndarray:
    """Calendar days (datetime64[ns]); text must be YYYY-MM-DD or DD.MM.YYYY, a timestamp must have no time of day.

    Dates with slashes are refused with their own message: 03/04/2024 is the
    3rd of April in Europe and the 4th of March in the US, and a file does not say which.
    """
    if (days := _by_category(parse_dates, values, rows, problems)) is not None:
        return days
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = pd.to_datetime(values)
        slashed = np.zeros(len(values), dtype=bool)
    elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("date", "datetime"):
        dates = pd.to_datetime(values, errors="coerce")
        slashed = np.zeros(len(values), dtype=bool)
    else:
        # leading blanks are skipped by the CSV reader; a trailing blank makes the date unparsable
        text = values.astype("string")
        dates = pd.to_datetime(text, format=ISO_DATE, errors="coerce")
        if dates.isna().any():
            dotted = pd.to_datetime(text.where(dates.isna()), format=DOTTED_DATE, errors="coerce")
            dates = dates.fillna(dotted)
        slashed = (dates.isna() & text.str.contains("/", regex=False).fillna(False)).to_numpy(dtype=bool)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    bad = dates.isna().to_numpy() | (dates != dates.dt.normalize()).fillna(False).to_numpy(dtype=bool)
    flag(problems, rows, slashed, SLASHED_DATE)
    flag(problems, rows, bad & ~slashed, UNPARSABLE_DATE)
    return dates.to_numpy(dtype="datetime64[ns]")


def parse_number(
    values: pd.Series,
    rows: np.ndarray,
    label: str,
    problems: list[RowProblem],
    default: float | None = None,
) -> np.ndarray:
    """Numbers (float64) from text or numeric cells.

    An empty cell takes ``default`` when one is given, else it is a problem
    (``missing``); text that is not a number and an infinite value are problems too.
    """
    if pd.api.types.is_bool_dtype(values):
        parsed = np.full(len(values), np.nan)
        empty = np.zeros(len(values), dtype=bool)
    elif pd.api.types.is_numeric_dtype(values):
        parsed = values.to_numpy(dtype=np.float64, na_value=np.nan)
        empty = np.isnan(parsed)
    else:
        try:  # every cell a number: numpy parses like float(), ~7x faster than to_numeric
            parsed = values.to_numpy(dtype=object).astype(np.float64)
            empty = np.isnan(parsed) & values.isna().to_numpy()
        except (ValueError, TypeError):
            text = values.astype("string").str.strip()
            empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
            parsed = pd.to_numeric(text.where(~empty, None), errors="coerce").to_numpy(dtype=np.float64)
    if default is not None:
        parsed = np.where(empty, default, parsed)
    else:
        flag(problems, rows, empty, f"missing {label}")
    non_numeric = ~empty & np.isnan(parsed)
    if non_numeric.any() and not pd.api.types.is_numeric_dtype(values):
        text = values.astype("string").str.strip()
        two_marks = (text.str.contains(",", regex=False) & text.str.contains(".", regex=False)).fillna(False)
        mixed = non_numeric & two_marks.to_numpy(dtype=bool)
        flag(problems, rows, mixed, f"non-numeric {label} (a thousands separator? write 1234.5)")
        non_numeric &= ~mixed
    flag(problems, rows, non_numeric, f"non-numeric {label}")
    flag(problems, rows, np.isinf(parsed), f"{label} must be a finite number")
    return parsed


def too_long(values: np.ndarray | pd.Series, limit: int) -> np.ndarray:
    """Mask of the text values longer than ``limit`` characters."""
    return pd.Series(values, dtype=object).astype(str).str.len().to_numpy() > limit


def open_unit_interval(value: object, label: str) -> float:
    """A probability-like level strictly between 0 and 1 (a quantile level, a service level), as a float."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"{label} {value!r} is not a number") from None
    if isinstance(value, bool) or not 0.0 < number < 1.0:
        raise InvalidInputError(f"{label} {value!r} must lie strictly between 0 and 1")
    return number


def line_numbers(n: int, first: int = 2) -> np.ndarray:
    """File line numbers of ``n`` data rows that start at line ``first`` (the header is line 1)."""
    return np.arange(first, first + n)
