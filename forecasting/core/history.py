"""Turning a long sales frame into the validated, gap-free shape every model takes.

Models receive a :class:`PreparedHistory`: rows sorted by item then date, one
row per bucket (day, week or month: :mod:`forecasting.core.calendar`) from each
item's first date to the data's "as of" date (the last sales date over all
items: missing buckets, also after an item's last sale, are zero sales,
covariates zero), plus per-item arrays. For daily data the bucket numbers are
day numbers; for weekly and monthly data they are week and month numbers, and
:attr:`PreparedHistory.freq` turns them back into dates. The checks are O(rows) and
vectorised: already-sorted input (the usual case) is never re-sorted, and the
data is kept as numpy arrays (a frame is built only when a model asks for one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, Frequency, detect_frequency
from forecasting.core.errors import InvalidInputError
from forecasting.core.sales import SALES_COLUMNS, missing_columns, quantity_problems

#: the shortest history a model takes, in buckets of the data: 7 days, 7 weeks or 7 months
MIN_HISTORY_DAYS = 7


def to_day_numbers(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as int64 days since 1970-01-01 (whatever the datetime resolution)."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


def day_numbers_to_dates(days: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_day_numbers`; returns datetime64[ns] for pandas."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


@dataclass
class PreparedHistory:
    """Sorted, gap-filled history as flat arrays plus per-item bookkeeping.

    Row arrays: ``ids``, ``days`` (bucket numbers of ``freq``: day numbers as
    :func:`to_day_numbers` for daily data), ``quantity`` and one array per
    covariate. Item arrays: ``item_ids``, ``starts`` and ``lengths`` (each
    item's block of rows), ``first_day``, ``last_day`` (bucket numbers).
    """

    ids: np.ndarray
    days: np.ndarray
    quantity: np.ndarray
    item_ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    #: the bucket of the rows: ``days`` counts these
    freq: Frequency = DAILY

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def first_day(self) -> np.ndarray:
        return self.days[self.starts]

    @property
    def last_day(self) -> np.ndarray:
        return self.days[self.starts + self.lengths - 1]

    @property
    def as_of(self) -> np.datetime64:
        """The data's last date (every item's history ends on it when prepared by :func:`prepare_history`)."""
        return np.datetime64(int(self.freq.days_of(self.last_day.max())), "D")

    def dates(self, periods: np.ndarray) -> np.ndarray:
        """Bucket numbers (of ``days``) as dates (datetime64[ns])."""
        return self.freq.dates(periods)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The long frame ``item_id, date, quantity, <covariates>`` (built on first use)."""
        data = {"item_id": self.ids, "date": self.dates(self.days), "quantity": self.quantity}
        data.update(self.covariates)
        return pd.DataFrame(data)

    def tail_matrix(self, width: int | None = None) -> np.ndarray:
        """The last ``width`` days as [items, width], right-aligned on each item's last day.

        Days before an item's first day are NaN; ``None`` means the longest history.
        """
        longest = int(self.lengths.max())
        width = longest if width is None else min(width, longest)
        ends = self.starts + self.lengths
        idx = ends[:, None] - width + np.arange(width)[None, :]
        out = self.quantity[np.maximum(idx, 0)]
        out[idx < self.starts[:, None]] = np.nan
        return out

    def subset(self, keep: np.ndarray) -> "PreparedHistory":
        """The items where ``keep`` (one flag per item) is true."""
        rows = np.repeat(keep, self.lengths)
        lengths = self.lengths[keep]
        return PreparedHistory(
            ids=self.ids[rows],
            days=self.days[rows],
            quantity=self.quantity[rows],
            item_ids=self.item_ids[keep],
            starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
            lengths=lengths,
            covariates={k: v[rows] for k, v in self.covariates.items()},
            freq=self.freq,
        )

    def truncate(self, cutoff_day: np.ndarray, min_days: int = MIN_HISTORY_DAYS) -> "PreparedHistory":
        """History up to and including each item's ``cutoff_day`` (one per item), for backtests."""
        keep = self.days <= np.repeat(np.asarray(cutoff_day, dtype=np.int64), self.lengths)
        lengths = np.add.reduceat(keep.astype(np.int64), self.starts) if len(keep) else self.lengths
        check_min_days(self.item_ids, lengths, min_days, self.freq)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return PreparedHistory(
            ids=self.ids[keep],
            days=self.days[keep],
            quantity=self.quantity[keep],
            item_ids=self.item_ids,
            starts=starts,
            lengths=lengths,
            covariates={k: v[keep] for k, v in self.covariates.items()},
            freq=self.freq,
        )


def prepare_history(
    history: pd.DataFrame, min_days: int = MIN_HISTORY_DAYS, as_of: object | None = None,
    freq: Frequency | str | None = None,
) -> PreparedHistory:
    """Validate a long sales frame and fill missing buckets with zero, every item up to the data's "as of" date.

    ``freq``: the data's bucket (None: the frame's ``attrs["freq"]`` where a
    store put it, else detected from the dates, see
    :class:`forecasting.core.calendar.DateTally`); dates off the bucket are an
    error naming their rows. ``min_days`` counts buckets.

    ``as_of`` (a date) is the last day of the data; by default the last sales
    date over all items. Every item's history runs from its first row to that
    day: days without a row, also those after an item's last sale, are zero
    sales (docs/data-formats.md). Raises :class:`InvalidInputError` for missing
    columns, bad values, duplicate (item, date) pairs, rows after ``as_of`` or
    items with fewer than ``min_days`` days.
    """
    missing = missing_columns(history.columns)
    if missing:
        raise InvalidInputError(f"history is missing column(s) {', '.join(missing)}")
    if history.empty:
        raise InvalidInputError("history has no rows")
    ids = history["item_id"].to_numpy()
    if ids.dtype != object:
        ids = ids.astype(str).astype(object)
    days = to_day_numbers(history["date"])
    freq = history.attrs.get("freq") if freq is None else freq
    as_of = history.attrs.get("as_of") if as_of is None else as_of
    if not isinstance(freq, Frequency):  # detected, or declared without its anchor
        freq = detect_frequency(days, np.arange(1, len(days) + 1), freq, source="history")
    else:
        bad = ~freq.fits(days)
        if bad.any():
            rows = (np.flatnonzero(bad)[: InvalidInputError.MAX_LISTED] + 1).tolist()
            raise InvalidInputError(f"history dates are not {freq.label} dates (history rows {rows})")
    days = freq.periods(days)
    qty = pd.to_numeric(history["quantity"], errors="coerce").to_numpy(dtype=np.float64)
    bad = quantity_problems(qty)
    if bad.any():
        rows = (np.flatnonzero(bad)[: InvalidInputError.MAX_LISTED] + 1).tolist()
        raise InvalidInputError(f"quantity must be a finite number >= 0 (history rows {rows})")
    covariates = {
        c: pd.to_numeric(history[c], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        for c in history.columns
        if c not in SALES_COLUMNS
    }

    new_item = _item_changes(ids)
    if not _is_grouped_and_sorted(ids, days, new_item):
        order = np.lexsort((days, ids))
        ids, days, qty = ids[order], days[order], qty[order]
        covariates = {k: v[order] for k, v in covariates.items()}
        new_item = _item_changes(ids)
    dup = ~new_item
    dup[1:] &= days[1:] == days[:-1]
    if dup.any():
        first = np.flatnonzero(dup)[:5]
        pairs = ", ".join(f"{ids[i]} {np.datetime64(int(freq.days_of(days[i])), 'D')}" for i in first)
        raise InvalidInputError(f"history has repeated (item_id, date) pairs: {pairs}")

    starts = np.flatnonzero(new_item)
    lengths = np.diff(np.append(starts, len(ids)))
    item_ids = ids[starts]
    last = days[starts + lengths - 1]
    end = int(last.max()) if as_of is None else int(freq.periods(to_day_numbers(np.array([as_of])))[0])
    if as_of is not None and (last > end).any():
        late = item_ids[last > end]
        raise InvalidInputError(
            f"history has sales after its as-of date {np.datetime64(int(freq.days_of(end)), 'D')} for item(s) "
            + ", ".join(map(str, late[:10]))
        )
    span = end - days[starts] + 1
    if (span != lengths).any():
        ids, days, qty, covariates = _fill_gaps(item_ids, starts, lengths, days, span, qty, covariates)
        starts = np.concatenate([[0], np.cumsum(span)[:-1]])
        lengths = span
    check_min_days(item_ids, lengths, min_days, freq)
    return PreparedHistory(ids, days, qty, item_ids, starts, lengths, covariates, freq)


def history_lengths(first_dates: pd.Series, as_of: object | None, freq: Frequency = DAILY) -> pd.Series:
    """Buckets of ``freq`` from each first date (NaT: no sales, 0) to the as-of date's bucket, both counted.

    What a forecast's minimum history counts (every history runs to the as-of
    date, :func:`prepare_history`): days for daily data, weeks or months else.
    """
    first = pd.to_datetime(pd.Series(first_dates))
    if as_of is None:
        return pd.Series(0, index=first.index, dtype=np.int64)
    known = first.notna().to_numpy()
    end = freq.periods(to_day_numbers(np.array([pd.Timestamp(as_of)])))[0]
    start = freq.periods(to_day_numbers(first.fillna(pd.Timestamp(as_of))))
    span = np.where(known, np.maximum(end - start + 1, 0), 0)
    return pd.Series(span.astype(np.int64), index=first.index)


def short_histories(
    first_dates: pd.Series, as_of: object | None, min_days: int = MIN_HISTORY_DAYS, freq: Frequency = DAILY
) -> pd.DataFrame:
    """Items (``first_dates`` indexed by item id; NaT: no sales) with fewer than ``min_days`` buckets up to ``as_of``.

    Columns item_id, first_date, days (the buckets of ``freq``: days for daily
    data; 0 for items without sales), shortest first: what a forecast would
    refuse, known before a file is imported.
    """
    first = pd.to_datetime(first_dates)
    days = history_lengths(first, as_of, freq).to_numpy(dtype=np.int64)
    out = pd.DataFrame({"item_id": first.index.astype(str), "first_date": first.to_numpy(), "days": days})
    return out.loc[out["days"] < min_days].sort_values(["days", "item_id"], kind="stable").reset_index(drop=True)


def check_min_days(item_ids: np.ndarray, lengths: np.ndarray, min_days: int, freq: Frequency = DAILY) -> None:
    """InvalidInputError naming the items (first 20, in the given order) with fewer than ``min_days`` buckets."""
    short = lengths < min_days
    if short.any():
        unit = freq.units
        listed = ", ".join(f"{i} ({n} {unit})" for i, n in zip(item_ids[short][:20], lengths[short][:20]))
        raise InvalidInputError(
            f"{int(short.sum())} item(s) have fewer than {min_days} {unit} of history: {listed}"
        )


def _item_changes(ids: np.ndarray) -> np.ndarray:
    """True on each row whose item differs from the previous row's (and on row 0)."""
    out = np.empty(len(ids), dtype=bool)
    out[0] = True
    out[1:] = ids[1:] != ids[:-1]
    return out


def _is_grouped_and_sorted(ids: np.ndarray, days: np.ndarray, new_item: np.ndarray) -> bool:
    """True when each item is one contiguous block with non-decreasing dates.

    Equal consecutive dates are let through so that the duplicate check can name them.
    """
    block_ids = ids[new_item]
    if len(pd.unique(block_ids)) != len(block_ids):
        return False
    return bool(np.all((np.diff(days) >= 0) | new_item[1:]))


def _fill_gaps(
    item_ids: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    days: np.ndarray,
    span: np.ndarray,
    qty: np.ndarray,
    covariates: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Every item on its full range of buckets; new buckets get quantity 0 and covariates 0."""
    grid_start = np.concatenate([[0], np.cumsum(span)[:-1]])
    n = int(span.sum())
    first_day = days[starts]
    full_days = np.repeat(first_day - grid_start, span) + np.arange(n)
    row_item = np.repeat(np.arange(len(item_ids)), lengths)
    pos = grid_start[row_item] + (days - first_day[row_item])

    def spread(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n)
        out[pos] = values
        return out

    return (
        np.repeat(item_ids, span),
        full_days,
        spread(qty),
        {k: spread(v) for k, v in covariates.items()},
    )


def daily_in_buckets(code: str, as_of_day: int) -> tuple[Frequency, int]:
    """The bucket (W or M) daily data ending on ``as_of_day`` (a day number) is summed to, and its last whole period.

    Weeks start the day after the as-of weekday (so the last week ends on the
    as-of date); months are calendar months, the last one whole.
    """
    if code == "W":
        freq = Frequency("W", (as_of_day + 1 + 3) % 7)  # 1970-01-01 (day 0) was a Thursday (weekday 3)
        return freq, int(freq.periods(np.array([as_of_day]))[0])
    if code == "M":
        freq = Frequency("M", 0)
        last = int(freq.periods(np.array([as_of_day]))[0])
        if int(freq.days_of(np.array([last + 1]))[0]) != as_of_day + 1:  # the as-of month is not over
            last -= 1
        return freq, last
    raise InvalidInputError(f"daily data is planned in weeks (W) or months (M), not {code!r}")


def aggregate_history(history: pd.DataFrame, code: str, as_of: object | None = None) -> pd.DataFrame:
    """Daily sales summed to weekly or monthly buckets (``code`` W or M), for daily data planned in weeks or months.

    Weeks end on the data's as-of date (the last sales date, or ``as_of``):
    each is dated on its first day, so every week is whole. Months are
    calendar months dated on the 1st, up to the last whole one (the days of
    an unfinished last month are left out). Quantities are summed; covariates
    averaged over the bucket's rows. Missing days were zero sales, so a sum
    over the rows is the bucket's total. Models fitted on the result forecast
    bucket totals (``attrs["freq"]`` names the bucket; docs/cli.md ``--bucket``).
    An item's first bucket may hold fewer days than the others (it started mid-bucket).
    """
    missing = missing_columns(history.columns)
    if missing:
        raise InvalidInputError(f"history is missing column(s) {', '.join(missing)}")
    days = to_day_numbers(history["date"])
    end = int(days.max()) if as_of is None else int(to_day_numbers(np.array([as_of]))[0])
    freq, last = daily_in_buckets(code, end)
    periods = freq.periods(days)
    keep = periods <= last
    frame = history.loc[keep, list(history.columns)].copy()
    frame["date"] = freq.dates(periods[keep])
    covariates = [c for c in frame.columns if c not in SALES_COLUMNS]
    agg = {"quantity": "sum", **{c: "mean" for c in covariates}}
    out = frame.groupby(["item_id", "date"], as_index=False, sort=True).agg(agg)
    out.attrs["freq"] = freq.alias
    out.attrs["as_of"] = np.datetime64(int(freq.days_of(np.array([last]))[0]), "D")
    return out
