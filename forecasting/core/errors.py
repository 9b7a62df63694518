"""Error types shared by every layer.

Each one carries a message meant for a planner or an operator: the CLI prints
it as ``error: ...`` and exits 2, the app shows it on the page, the API maps it
to a status code.
"""
from __future__ import annotations

from dataclasses import dataclass


class ForecastingError(ValueError):
    """Base class: a problem the caller can fix (bad input, unknown name...)."""


@dataclass(frozen=True)
class RowProblem:
    """One problem in an input file: its 1-based line number (header = 1) and what is wrong."""

    row: int
    problem: str


#: how many offending ids an error message lists
LISTED_IDS = 10


def listed(ids) -> str:
    """'A, B, C (and 4 more)' for error messages (the first LISTED_IDS ids)."""
    ids = list(ids)
    shown = ", ".join(map(str, ids[:LISTED_IDS]))
    more = len(ids) - LISTED_IDS
    return shown + (f" (and {more} more)" if more > 0 else "")


class InvalidInputError(ForecastingError):
    """A file or frame was rejected as a whole; ``problems`` names the rows."""

    MAX_LISTED = 20

    def __init__(self, message: str, problems: list[RowProblem] | None = None, total: int | None = None):
        self.problems = list(problems or [])[: self.MAX_LISTED]
        #: how many problems there were in all (the message lists the first MAX_LISTED)
        self.total = max(total or 0, len(self.problems))
        more = self.total - len(self.problems)
        text = message + (": " + _group(self.problems) if self.problems else "")
        super().__init__(text + (f" (and {more:,} more problem{'s' if more > 1 else ''})" if more > 0 else ""))


def _group(problems: list[RowProblem]) -> str:
    """'negative quantity at rows 4, 9; unparsable date at row 7' (one line)."""
    by_problem: dict[str, list[int]] = {}
    for p in problems:
        by_problem.setdefault(p.problem, []).append(p.row)
    parts = []
    for problem, rows in by_problem.items():
        label = "row" if len(rows) == 1 else "rows"
        parts.append(f"{problem} at {label} {', '.join(map(str, rows))}")
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
