"""Turning the cells of an input table into ids, dates and numbers, with row-numbered problems.

The same parsing serves every entry point: the CSV readers (text cells, one
chunk at a time), frames given directly to the services, and the app's
uploads. A cell that cannot be read adds one :class:`RowProblem` (row =
file line number, the header being row 1) and becomes NaN / NaT / "" in the
parsed column; what a valid value must be (>= 0, a whole number...) is a rule
of the format, checked by the caller with :func:`flag`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError, RowProblem, quoted

#: longest item id, name, category or client name, and covariate column name (characters; the database's limits)
ID_LENGTH = 200
#: most columns a table may have (sales: item_id, date, quantity and covariates; inventory: its 13)
MAX_COLUMNS = 100
TEXT_LENGTH = 200
COVARIATE_NAME_LENGTH = 100
#: the one date format of the files (docs/data-formats.md)
ISO_DATE = "%Y-%m-%d"
#: what European spreadsheets write; read as day.month.year
DOTTED_DATE = "%d.%m.%Y"
UNPARSABLE_DATE = "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY)"
SLASHED_DATE = "ambiguous date with slashes (day/month or month/day?): write YYYY-MM-DD or DD.MM.YYYY"
#: the largest quantity, stock, cost or covariate value (in absolute value) a file may hold: far above any real
#: one, and small enough that sums, squares and products of them stay finite (docs/data-formats.md)
MAX_QUANTITY = 1e9
#: C0 control characters (NUL, tab, line breaks...) and DEL: never part of an item id
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_CHARACTERS)
CONTROL_IN_ID = "item_id contains a control character (line break, tab, NUL...)"


class Problems(list):
    """Row problems as found (each kind keeps its first 20 rows), ``counts`` per kind and ``total`` in all."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.counts: dict[str, int] = {}
        #: the row where reading stopped (a reader that gave up on a hopeless file), else None
        self.stopped_at: int | None = None

    def count(self, problem: str, n: int) -> None:
        self.counts[problem] = self.counts.get(problem, 0) + n
        self.total += n

    def add(self, found: list[RowProblem]) -> None:
        """Merge the problems of another block (its own ``counts`` when it has them), keeping 20 rows per kind."""
        listed: dict[str, int] = {}
        for p in self:
            listed[p.problem] = listed.get(p.problem, 0) + 1
        for p in found:
            if listed.get(p.problem, 0) < InvalidInputError.MAX_LISTED:
                listed[p.problem] = listed.get(p.problem, 0) + 1
                self.append(p)
        counts = getattr(found, "counts", None)
        if counts is None:
            counts = {}
            for p in found:
                counts[p.problem] = counts.get(p.problem, 0) + 1
        for problem, n in counts.items():
            self.count(problem, n)

    def error(self, message: str) -> InvalidInputError:
        """The error of a table with these problems: every kind, its rows and values, the counts."""
        return InvalidInputError(message, list(self), self.total, self.counts)


def flag(
    problems: list[RowProblem], rows: np.ndarray, mask: np.ndarray, problem: str, values: object = None
) -> None:
    """Add ``problem`` for the rows where ``mask`` holds (at most the first 20 of them; all are counted).

    ``values`` (the cells as given, aligned with ``rows``: a Series or an
    array) quotes each offending value in the message; only those are converted.
    """
    mask = np.asarray(mask, dtype=bool)
    where = np.flatnonzero(mask)[: InvalidInputError.MAX_LISTED]
    if values is None:
        cells = [None] * len(where)
    elif isinstance(values, pd.Series):
        cells = values.iloc[where].to_numpy(dtype=object)
    else:
        cells = np.asarray(values, dtype=object)[where]
    problems.extend(RowProblem(int(rows[i]), problem, _shown(v)) for i, v in zip(where, cells))
    if isinstance(problems, Problems):
        problems.count(problem, int(mask.sum()))


def _shown(value: object) -> str | None:
    """A cell as text for a message; None for a missing one."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date()) if pd.Timestamp(value) == pd.Timestamp(value).normalize() \
            else str(pd.Timestamp(value))
    return str(value)


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
    """Ids as stripped text (object array); an empty or missing id, or one with a control character, is a problem.

    Line breaks, tabs and NUL in an id would break the one-line messages and
    CSV outputs, and the databases refuse NUL: refused everywhere, row named.
    """
    if (ids := _by_category(parse_item_ids, values, rows, problems)) is not None:
        return ids
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        ids = values.str.strip()
    else:
        ids = values.astype("string").str.strip().fillna("")
    flag(problems, rows, (ids == "").to_numpy(dtype=bool), "empty item_id")
    out = ids.to_numpy(dtype=object)
    if _CONTROL.search("".join(out)):  # one scan of the block; row by row only when there is one
        control = ids.str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(dtype=bool)
        flag(problems, rows, control, CONTROL_IN_ID, values)
    return out


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
    flag(problems, rows, slashed, SLASHED_DATE, values)
    flag(problems, rows, bad & ~slashed, UNPARSABLE_DATE, values)
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
    (``missing``); text that is not a number, an infinite value and one beyond
    :data:`MAX_QUANTITY` (either sign) are problems too.
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
        flag(problems, rows, mixed, f"non-numeric {label} (a thousands separator? write 1234.5)", values)
        non_numeric &= ~mixed
    flag(problems, rows, non_numeric, f"non-numeric {label}", values)
    flag(problems, rows, np.isinf(parsed), f"{label} must be a finite number", values)
    flag(problems, rows, too_large(parsed), too_large_problem(label), values)
    return parsed


def too_large(values: np.ndarray) -> np.ndarray:
    """Mask of the finite values beyond :data:`MAX_QUANTITY` in absolute value."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) > MAX_QUANTITY)


def too_large_problem(label: str) -> str:
    """The one wording of the bound, for every entry point."""
    return f"{label} beyond the limit of {MAX_QUANTITY:,.0f}"


def header_problem(columns: Sequence[str]) -> str | None:
    """What is wrong with a table's column names (too many, or one name twice), as the end of a sentence; else None."""
    if len(columns) > MAX_COLUMNS:
        return f"has {len(columns):,} columns; the limit is {MAX_COLUMNS} (the format's columns and covariates)"
    seen: dict[str, int] = {}
    for c in columns:
        seen[str(c)] = seen.get(str(c), 0) + 1
    repeated = [c for c, n in seen.items() if n > 1]
    if repeated:
        names = ", ".join(quoted(c) for c in repeated[:5])
        return (f"repeats the column name(s) {names} in its header (names match ignoring case, spaces, dashes "
                "and underscores)")
    return None


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
