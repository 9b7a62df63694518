"""The time bucket of sales data: daily, weekly or monthly, and everything that is counted in it.

A sales history is a series of buckets: days, weeks (dated on one weekday, e.g.
every Friday) or months (dated on the 1st, or on the last day of the month).
The bucket comes with the data (docs/data-formats.md): it is detected from the
dates (:class:`DateTally`) or declared, and every count that used to be "days"
is a count of buckets in it: horizons, minimum history, the season of the
seasonal models, the forecast origins of the empirical bands and of ``auto``'s
validation. Lead times and review periods stay in days and are converted once
(:meth:`Frequency.periods_covering`).

Periods are int64 numbers, one per bucket, consecutive: day numbers (days
since 1970-01-01) for daily data, so that a daily history is exactly what it
was before buckets existed; week numbers counted from the anchor weekday on or
before 1970-01-01; months since January 1970.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from forecasting.core.errors import InvalidInputError, RowProblem

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
#: 1970-01-01 (day number 0) was a Thursday
_EPOCH_WEEKDAY = 3
#: the mean month in days, for converting lead times (365.25 / 12)
DAYS_PER_MONTH = 365.25 / 12

#: per bucket code: (unit, season length, horizon bounds, forecast origins of the empirical bands,
#: auto's validation origins and their spacing), all counted in buckets
_RULES = {
    "D": ("day", 7, (1, 365), 364, 26, 14),
    "W": ("week", 52, (1, 104), 104, 26, 2),
    "M": ("month", 12, (1, 36), 36, 12, 1),
}
#: per bucket code, what the global model sees of the past (modes/ml/features.py): target lags, (lag, window)
#: rolling means, both in buckets (the recent buckets and one season back), and the date attributes that place
#: a bucket in its week or year (pandas ``DatetimeIndex`` attributes)
_FEATURES = {
    "D": ((1, 7, 14, 28), ((1, 7), (1, 28), (7, 7), (7, 28)), ("dayofweek", "month", "day")),
    "W": ((1, 2, 4, 52), ((1, 4), (1, 13)), ("month", "dayofyear")),
    "M": ((1, 2, 3, 12), ((1, 3), (1, 12)), ("month",)),
}
#: a weekly or monthly bucket is detected where at least this share of the rows fit it: then the rows that
#: do not are an error (a file mixing buckets); below it the data is daily
MAJORITY = 0.9
#: a file is taken to mix weekly and monthly items where each bucket alone has at least this many rows (a few
#: dates of a short daily file can all fall on one weekday or a 1st by chance)
MIXED_MIN_ROWS = 6


@dataclass(frozen=True)
class Frequency:
    """A bucket: ``code`` D, W or M; ``anchor`` the weekday (0 Monday) for W, 0 (1st) or -1 (month end) for M."""

    code: str = "D"
    anchor: int = 0

    def __post_init__(self) -> None:
        if self.code not in _RULES:
            raise ValueError(f"unknown bucket {self.code!r}; use D, W or M")
        valid = {"D": (0,), "W": tuple(range(7)), "M": (0, -1)}[self.code]
        if self.anchor not in valid:
            raise ValueError(f"bucket {self.code} has no anchor {self.anchor!r}")

    # --- what is counted in buckets -----------------------------------------------------------------

    @property
    def unit(self) -> str:
        """``day``, ``week`` or ``month``."""
        return _RULES[self.code][0]

    @property
    def units(self) -> str:
        return self.unit + "s"

    @property
    def season(self) -> int:
        """Buckets in a seasonal cycle: 7 days (the week), 52 weeks, 12 months (the year)."""
        return _RULES[self.code][1]

    @property
    def horizon_bounds(self) -> tuple[int, int]:
        """The shortest and longest horizon, in buckets (one place for the model, CLI, API and app)."""
        return _RULES[self.code][2]

    @property
    def max_horizon(self) -> int:
        return self.horizon_bounds[1]

    @property
    def error_origins(self) -> int:
        """How many recent origins give the empirical bands their errors (a year of days; 2 years of weeks; 3 of months)."""
        return _RULES[self.code][3]

    @property
    def validation_origins(self) -> tuple[int, int]:
        """``auto``'s validation: how many origins and how many buckets apart (about a year in every bucket)."""
        return _RULES[self.code][4], _RULES[self.code][5]

    @property
    def lags(self) -> tuple[int, ...]:
        """Target lags a global model sees, in buckets: the recent ones and one season back (28 days: 4 weeks)."""
        return _FEATURES[self.code][0]

    @property
    def rolling_means(self) -> tuple[tuple[int, int], ...]:
        """(lag, window) pairs: the mean of ``window`` buckets ending ``lag`` buckets back."""
        return _FEATURES[self.code][1]

    @property
    def date_features(self) -> tuple[str, ...]:
        """Date attributes that place a bucket in its week and year (a weekly or monthly date has no weekday)."""
        return _FEATURES[self.code][2]

    @property
    def days_per_period(self) -> float:
        """Days in one bucket: 1, 7, or the mean month (365.25 / 12)."""
        return {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}[self.code]

    def periods_covering(self, days: float | np.ndarray) -> float | np.ndarray:
        """How many buckets ``days`` days are (10 days on weekly data: 10/7 weeks); daily: the days themselves."""
        return days if self.code == "D" else np.asarray(days, dtype=np.float64) / self.days_per_period

    def whole_periods(self, days: int) -> int:
        """Whole buckets covering ``days`` days, rounded up (a business limit in days counted in buckets:
        56 days are 8 weeks or 2 months); daily: ``days``."""
        return int(days) if self.code == "D" else int(np.ceil(self.periods_covering(days)))

    # --- names ----------------------------------------------------------------------------------------

    @property
    def alias(self) -> str:
        """Stored and shown form, as pandas spells the bucket: ``D``, ``W-FRI``, ``MS`` or ``ME``."""
        if self.code == "W":
            return f"W-{_WEEKDAY_CODES[self.anchor]}"
        if self.code == "M":
            return "MS" if self.anchor == 0 else "ME"
        return "D"

    @property
    def label(self) -> str:
        """For people: ``daily``, ``weekly (Fridays)``, ``monthly (1st)``, ``monthly (month end)``."""
        if self.code == "W":
            return f"weekly ({WEEKDAYS[self.anchor]}s)"
        if self.code == "M":
            return "monthly (1st)" if self.anchor == 0 else "monthly (month end)"
        return "daily"

    @classmethod
    def parse(cls, text: str | Frequency | None) -> Frequency:
        """A stored alias (``W-FRI``, ``MS``...) or a bare code (``D``, ``W``: Monday, ``M``: the 1st)."""
        if isinstance(text, Frequency):
            return text
        key = str(text or "D").strip().upper()
        if key in ("D", "W", "M"):
            return cls(key)
        if key.startswith("W-") and key[2:] in _WEEKDAY_CODES:
            return cls("W", _WEEKDAY_CODES.index(key[2:]))
        if key in ("MS", "ME"):
            return cls("M", 0 if key == "MS" else -1)
        raise ValueError(f"unknown bucket {text!r}; use D, W or M")

    # --- periods and dates ----------------------------------------------------------------------------

    @property
    def _week_offset(self) -> int:
        """The day number (0..6) of the first anchor weekday on or after 1970-01-01."""
        return (self.anchor - _EPOCH_WEEKDAY) % 7

    def periods(self, days: np.ndarray) -> np.ndarray:
        """Period numbers of day numbers: each day's bucket (a week starting on its date, a calendar month)."""
        days = np.asarray(days, dtype=np.int64)
        if self.code == "D":
            return days
        if self.code == "W":
            return (days - self._week_offset) // 7
        return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)

    def days_of(self, periods: np.ndarray) -> np.ndarray:
        """Day numbers of period numbers: the date each bucket is labelled with (its anchor)."""
        periods = np.asarray(periods, dtype=np.int64)
        if self.code == "D":
            return periods
        if self.code == "W":
            return periods * 7 + self._week_offset
        first = periods.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        if self.anchor == 0:
            return first
        return (periods + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1

    def first_days(self, periods: np.ndarray) -> np.ndarray:
        """Day numbers of the first day each bucket covers: its date for days and weeks, the 1st for months."""
        periods = np.asarray(periods, dtype=np.int64)
        if self.code != "M":
            return self.days_of(periods)
        return periods.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)

    def last_days(self, periods: np.ndarray) -> np.ndarray:
        """Day numbers of the last day each bucket covers: its date for days, date + 6 for weeks, the month's end."""
        return self.first_days(np.asarray(periods, dtype=np.int64) + 1) - 1

    def dates(self, periods: np.ndarray) -> np.ndarray:
        """Period numbers as datetime64[ns] dates, for frames."""
        return self.days_of(periods).astype("datetime64[D]").astype("datetime64[ns]")

    def fits(self, days: np.ndarray) -> np.ndarray:
        """Whether each day number is a date of this bucket (on the weekday; on the 1st or month end)."""
        days = np.asarray(days, dtype=np.int64)
        if self.code == "D":
            return np.ones(days.shape, dtype=bool)
        return self.days_of(self.periods(days)) == days


DAILY = Frequency("D")


#: the bucket of the history a model is working on: set by :func:`in_bucket` around a model's work (the
#: base model does it), read by the statistical fits (season, error origins) and ``auto`` (validation
#: origins), so that their array functions keep one shape in every bucket
_BUCKET: ContextVar[Frequency] = ContextVar("bucket", default=DAILY)


@contextmanager
def in_bucket(freq: Frequency) -> Iterator[None]:
    """Models fit and predict in ``freq``'s buckets within the block (thread- and task-local)."""
    token = _BUCKET.set(freq)
    try:
        yield
    finally:
        _BUCKET.reset(token)


def bucket() -> Frequency:
    """The bucket of the history being worked on (daily outside :func:`in_bucket`)."""
    return _BUCKET.get()


def days_since_data(as_of: date, today: date, freq: Frequency = DAILY) -> int:
    """Days from the last day the as-of bucket covers to ``today``: a weekly as-of date covers its week, a
    monthly one its month (daily: today - as-of)."""
    as_of_day = np.array([np.datetime64(as_of, "D").astype(np.int64)])
    end = int(freq.last_days(freq.periods(as_of_day))[0])
    return int(np.datetime64(today, "D").astype(np.int64)) - end


def is_stale(as_of: date, today: date, freq: Frequency = DAILY, limit_days: int = 7) -> bool:
    """Whether the data is out of date: more than ``limit_days`` days, and more than a whole bucket, have passed
    since the as-of bucket ended (a month's sales can only come once the month is over: a monthly client's
    data is stale once the following month is over too, not a week after its as-of date)."""
    return days_since_data(as_of, today, freq) > max(limit_days, int(np.ceil(freq.days_per_period)))


def horizon_bounds(freq: Frequency | str | None = None) -> tuple[int, int]:
    """Horizon bounds in buckets of ``freq`` (default daily): what argparse, pydantic and widgets check."""
    return Frequency.parse(freq).horizon_bounds


#: every bucket code's horizon bounds (help texts, the API schema)
HORIZON_BOUNDS = {code: Frequency(code).horizon_bounds for code in _RULES}


def horizon_help() -> str:
    """One phrase for help texts: ``1-365 days, 1-104 weeks or 1-36 months, in the data's bucket``."""
    parts = [f"{lo}-{hi} {Frequency(code).units}" for code, (lo, hi) in HORIZON_BOUNDS.items()]
    return f"{', '.join(parts[:-1])} or {parts[-1]}, in the data's bucket"


@dataclass
class DateTally:
    """Counts over a file's dates, chunk by chunk, that decide its bucket (:meth:`frequency`).

    The rule (docs/data-formats.md): every date on one weekday is weekly; every
    date on the 1st, or every date on a month's last day, is monthly; else
    daily. When most rows (:data:`MAJORITY`) fit a weekly or monthly
    bucket but some do not, or most rows fit one weekday or a month's 1st (its
    last day) without either alone making the majority (weekly items beside
    monthly ones), the file mixes buckets: the larger one is the bucket, and
    :func:`misfit_error` names the rows off it.
    """

    rows: int = 0
    weekday: np.ndarray = field(default_factory=lambda: np.zeros(7, dtype=np.int64))
    first_of_month: int = 0
    month_end: int = 0
    #: per weekday, the rows on the 1st (on a month's last day) that fall on it: how far the buckets overlap
    first_by_weekday: np.ndarray = field(default_factory=lambda: np.zeros(7, dtype=np.int64))
    end_by_weekday: np.ndarray = field(default_factory=lambda: np.zeros(7, dtype=np.int64))
    distinct: set = field(default_factory=set)

    def add(self, days: np.ndarray) -> None:
        days = np.asarray(days, dtype=np.int64)
        weekday = (days + _EPOCH_WEEKDAY) % 7
        first, end = Frequency("M", 0).fits(days), Frequency("M", -1).fits(days)
        self.rows += len(days)
        self.weekday += np.bincount(weekday, minlength=7)
        self.first_of_month += int(first.sum())
        self.month_end += int(end.sum())
        self.first_by_weekday += np.bincount(weekday[first], minlength=7)
        self.end_by_weekday += np.bincount(weekday[end], minlength=7)
        if len(self.distinct) < 2:
            self.distinct.update(np.unique(days)[:2].tolist())

    def frequency(self, declared: str | Frequency | None = None) -> Frequency:
        """The bucket: ``declared`` (its anchor from the dates where not given), else detected."""
        weekday = int(np.argmax(self.weekday))
        monthly = Frequency("M", 0 if self.first_of_month >= self.month_end else -1)
        if declared is not None:
            code = Frequency.parse(declared)
            if str(declared).strip().upper() == "W":
                return Frequency("W", weekday)
            if str(declared).strip().upper() == "M":
                return monthly
            return code
        if not self.rows or len(self.distinct) < 2:
            return DAILY  # one date fits every bucket: nothing to tell
        monthly_rows = max(self.first_of_month, self.month_end)
        if monthly_rows / self.rows >= MAJORITY:
            return monthly
        if self.weekday[weekday] / self.rows >= MAJORITY:
            return Frequency("W", weekday)
        # weekly rows and monthly rows that together make the majority: a file mixing the two buckets (e.g.
        # weekly items and monthly items); the larger one is its bucket, so that the other's rows are misfits
        on_month = self.first_by_weekday if monthly.anchor == 0 else self.end_by_weekday
        either = self.weekday + monthly_rows - on_month
        both = int(np.argmax(either))
        only_weekly, only_monthly = self.weekday[both] - on_month[both], monthly_rows - on_month[both]
        if either[both] / self.rows >= MAJORITY and min(only_weekly, only_monthly) >= MIXED_MIN_ROWS:
            return Frequency("W", both) if self.weekday[both] >= monthly_rows else monthly
        return DAILY


def misfit_error(freq: Frequency, rows: Sequence[int], total: int, declared: bool,
                 source: str = "sales data") -> InvalidInputError:
    """The one message for dates off the bucket: what was expected and the first offending rows."""
    problem = {
        "W": f"date not on a {WEEKDAYS[freq.anchor]}",
        "M": "date not on the 1st of a month" if freq.anchor == 0 else "date not on the last day of a month",
    }.get(freq.code, "date off the bucket")
    if declared:
        how = f"{source} declared {freq.label} (--freq {freq.code}) has dates off that bucket"
    else:
        how = f"{source} mixes buckets: most dates are {freq.label}, some are not (pass --freq D for daily data)"
    problems = [RowProblem(int(r), problem) for r in list(rows)[: InvalidInputError.MAX_LISTED]]
    return InvalidInputError(f"{how}; nothing imported", problems, total)


def detect_frequency(days: np.ndarray, rows: np.ndarray | None = None, declared: str | Frequency | None = None,
                     source: str = "sales data") -> Frequency:
    """The bucket of some dates (day numbers), all at once; raises on misfits (rows: their line numbers)."""
    tally = DateTally()
    tally.add(days)
    freq = tally.frequency(declared)
    bad = ~freq.fits(days)
    if bad.any():
        where = np.flatnonzero(bad)
        numbers = (where + 2) if rows is None else np.asarray(rows)[where]
        raise misfit_error(freq, np.sort(numbers).tolist(), int(bad.sum()), declared is not None, source)
    return freq


#: the buckets data of each bucket can be viewed and planned in: daily data in days, weeks or months (summed);
#: weekly and monthly data in their own bucket only (a finer one would invent how a bucket's sales split, and
#: weeks do not sum into months)
VIEW_CODES = {"D": ("D", "W", "M"), "W": ("W",), "M": ("M",)}


def view_code(freq: Frequency, bucket: str | None) -> str | None:
    """The bucket daily data is summed to for a view (``W`` or ``M``); None: the data's own bucket.

    ``bucket`` None or the data's own code is the data itself; a finer bucket
    than the data's, or an unknown code, is an :class:`InvalidInputError`.
    """
    if bucket is None:
        return None
    code = str(bucket).strip().upper()
    if code == freq.code:
        return None
    if code not in _RULES:
        raise InvalidInputError(f"unknown bucket {bucket!r}; use D, W or M")
    if code not in VIEW_CODES[freq.code]:
        raise InvalidInputError(f"the data is {freq.label}: it is planned in {freq.units} only, not in "
                                f"{Frequency(code).units}")
    return code


def bucket_text(freq: Frequency, view: Frequency | None = None) -> str:
    """The one wording of the bucket beside the data's as-of date (sidebar, downloads, CLI).

    ``daily``, ``weekly (Fridays)``, ``monthly (1st)``; daily data viewed in a
    coarser bucket says both: ``daily, in weeks Thursday to Wednesday`` or
    ``daily, in calendar months``.
    """
    if view is None or view == freq:
        return freq.label
    if view.code == "W":
        return f"{freq.label}, in weeks {WEEKDAYS[view.anchor]} to {WEEKDAYS[(view.anchor - 1) % 7]}"
    return f"{freq.label}, in calendar months"


def as_of_text(as_of: object, freq: Frequency, view: Frequency | None = None) -> str:
    """``2025-12-31, weekly (Fridays)``: the data's as-of date and its bucket (:func:`bucket_text`)."""
    if as_of is None:
        return f"no sales yet, {bucket_text(freq, view)}"
    return f"{str(as_of)[:10]}, {bucket_text(freq, view)}"
