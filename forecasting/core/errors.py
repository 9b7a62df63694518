"""Error types shared by every layer.

Each one carries a message meant for a planner or an operator: the CLI prints
it as ``error: ...`` and exits 2, the app shows it on the page, the API maps it
to a status code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass


class ForecastingError(ValueError):
    """Base class: a problem the caller can fix (bad input, unknown name...)."""


@dataclass(frozen=True)
class RowProblem:
    """One problem in an input file: its 1-based line number (header = 1), what is wrong, and the cell as written."""

    row: int
    problem: str
    #: the offending value as text (None where there is none to show: a missing cell)
    value: str | None = None


#: how many offending ids an error message lists
LISTED_IDS = 10
#: how many distinct offending values a message quotes per kind of problem, and at most how many characters of each
QUOTED_VALUES = 3
QUOTED_LENGTH = 40


def listed(ids) -> str:
    """'A, B, C (and 4 more)' for error messages (the first LISTED_IDS ids)."""
    ids = list(ids)
    shown = ", ".join(map(str, ids[:LISTED_IDS]))
    more = len(ids) - LISTED_IDS
    return shown + (f" (and {more} more)" if more > 0 else "")


def quoted(value: object) -> str:
    """A value in double quotes on one line: line breaks, NUL and other control characters escaped, long ones cut."""
    return json.dumps(shortened(value), ensure_ascii=False)


def shortened(value: object) -> str:
    """A value as text, cut to QUOTED_LENGTH characters (a message names a cell, it does not copy it)."""
    text = str(value)
    return text if len(text) <= QUOTED_LENGTH else text[: QUOTED_LENGTH - 3] + "..."


def one_line(text: str) -> str:
    """``text`` with line breaks written as ``\\n`` (an error message is one line on a terminal and in a log)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class InvalidInputError(ForecastingError):
    """A file or frame was rejected as a whole; ``problems`` names the rows, every kind of problem at once.

    ``problems`` holds the first MAX_LISTED rows of each kind (sorted by row),
    ``counts`` how many rows each kind had in all and ``total`` their sum. The
    message groups the rows by kind, quotes the offending values and says how
    many there were.
    """

    MAX_LISTED = 20

    def __init__(
        self,
        message: str,
        problems: list[RowProblem] | None = None,
        total: int | None = None,
        counts: dict[str, int] | None = None,
    ):
        problems = list(problems or [])
        kept: dict[str, int] = {}
        self.problems = []
        for p in sorted(problems, key=lambda p: p.row):
            if kept.get(p.problem, 0) < self.MAX_LISTED:
                kept[p.problem] = kept.get(p.problem, 0) + 1
                self.problems.append(p)
        #: rows per kind of problem, in all (at least those listed)
        self.counts = {k: max(n, (counts or {}).get(k, 0)) for k, n in kept.items()}
        #: how many problems there were in all
        self.total = max(total or 0, sum(self.counts.values()))
        if len(self.counts) == 1 and self.total > sum(self.counts.values()):
            self.counts = {k: self.total for k in self.counts}  # one kind: every uncounted row is of it
        more = self.total - sum(self.counts.values())
        text = message
        if self.problems:
            text += ": " + _group(self.problems, self.counts)
            if more > 0:
                text += f" (and {more:,} more problem{'s' if more > 1 else ''})"
            if len(self.counts) > 1 or self.total > len(self.problems):
                text += f" ({self.total:,} problems in all)"
        super().__init__(one_line(text))


def _group(problems: list[RowProblem], counts: dict[str, int]) -> str:
    """'negative quantity at rows 4, 9 ("-1", "-3"); unparsable date at row 7 ("2024-13-01")' (one line).

    A kind with more rows than listed says how many more.
    """
    by_problem: dict[str, list[RowProblem]] = {}
    for p in problems:
        by_problem.setdefault(p.problem, []).append(p)
    parts = []
    for problem, rows in by_problem.items():
        label = "row" if counts[problem] == 1 else "rows"
        text = f"{problem} at {label} {', '.join(str(p.row) for p in rows)}"
        more = counts[problem] - len(rows)
        if more > 0:
            text += f" and {more:,} more"
        values = list(dict.fromkeys(p.value for p in rows if p.value))
        if values:
            shown = ", ".join(quoted(v) for v in values[:QUOTED_VALUES])
            text += f" ({shown}{', ...' if len(values) > QUOTED_VALUES else ''})"
        parts.append(text)
    return "; ".join(parts)


class NonFiniteResultError(ForecastingError):
    """A computation whose numbers left the float range for some items (their sales or costs are too
    large to compute with); ``item_ids`` names them, so that callers can leave them out."""

    def __init__(self, message: str, item_ids=()):
        super().__init__(message)
        self.item_ids = [str(i) for i in item_ids]


#: the packages whose exceptions are database errors (their text may hold SQL and stored values)
DATABASE_PACKAGES = ("sqlalchemy", "sqlite3", "psycopg2", "psycopg")


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database layer: callers get a generic message, the log the details."""
    return type(exc).__module__.split(".")[0] in DATABASE_PACKAGES


def database_error_message(exc: BaseException) -> str:
    """What a caller is told of a database error (log ``exc`` itself where it is caught)."""
    return f"{type(exc).__name__}: a database error (details in the log)"


class UnknownModelError(ForecastingError):
    """A model name that the factory does not know."""


class ModelUnavailableError(ForecastingError):
    """A known model that cannot run on this machine (e.g. Chronos-2 weights missing)."""


class NotFoundError(ForecastingError):
    """A client, item or run that does not exist for the caller's client."""


class ResultsRemovedError(NotFoundError):
    """A run whose stored results were removed (the client's storage quota, or pruning): run it again."""
