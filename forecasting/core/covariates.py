"""Known-future covariates: values per item and date that are known before the day (promotions, prices, events).

A :class:`KnownFuture` is a long frame ``item_id, date, <covariates>`` (numeric).
Its columns are known-future: a model may use their values on forecast days.
The same column's past values are what a model learns from, so
:meth:`KnownFuture.join_history` adds them to a sales frame (history days the
frame does not cover are 0, as every covariate on a day without a sales row).
A sales file's other numeric columns stay past-only covariates; one that the
known-future frame also has is known-future.

:func:`future_values` aligns the frame with each item's forecast days (the days
after the history's last day), and :meth:`KnownFuture.missing` lists the (item,
date) pairs of a horizon the frame lacks, as mlforecast's ``get_missing_future``
does for its ``X_df``: a model gets NaN (unknown) there.

An item's category (``items.category``) reaches the models as :data:`CATEGORY`,
a numeric column constant within each item (:func:`with_category`): lgbm
learns from it as a static feature (a column that never changes within an
item), Chronos-2 leaves it out (a covariate constant over a series tells a
per-series model nothing: ``forecasting.modes.ml.inputs``), the statistical
models ignore covariates.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError, RowProblem
from forecasting.core.calendar import Frequency
from forecasting.core.history import PreparedHistory, to_day_numbers

KEYS = ("item_id", "date")
#: the output column (forecast CSV / xlsx, CLI) naming the covariates a forecast used
COVARIATES_COLUMN = "covariates"
#: the item attribute column: each item's category as :func:`category_code`, the same on all its rows
CATEGORY = "category"


@dataclass(frozen=True)
class KnownFuture:
    """Validated known-future covariates: ``item_id`` (str), ``date`` (datetime64), numeric columns."""

    frame: pd.DataFrame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> KnownFuture:
        """Check and normalise a raw frame; InvalidInputError lists every bad row (first ones)."""
        missing = [c for c in KEYS if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"known-future covariates are missing column(s) {', '.join(missing)}")
        names = [c for c in frame.columns if c not in KEYS]
        if not names:
            raise InvalidInputError("known-future covariates have no covariate column besides item_id and date")
        dates = pd.to_datetime(frame["date"], errors="coerce", format="ISO8601")
        problems = _problems(dates.isna().to_numpy(), "unparsable date")
        out = {"item_id": frame["item_id"].astype(str).to_numpy(dtype=object), "date": dates.to_numpy()}
        for name in names:
            numbers = pd.to_numeric(frame[name], errors="coerce")
            problems += _problems((numbers.isna() & frame[name].notna()).to_numpy(), f"non-numeric {name}")
            out[str(name)] = numbers.to_numpy(dtype=np.float64)
        normal = pd.DataFrame(out)
        problems += _problems(normal.duplicated(list(KEYS)).to_numpy() & normal["date"].notna().to_numpy(),
                              "repeated (item_id, date) pair")
        if problems:
            problems.sort(key=lambda p: p.row)
            raise InvalidInputError("known-future covariates rejected", problems[: InvalidInputError.MAX_LISTED])
        return cls(normal)

    @property
    def names(self) -> list[str]:
        return [c for c in self.frame.columns if c not in KEYS]

    def fingerprint(self) -> str:
        """Changes with any value (part of a cache key)."""
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return hashlib.sha256(hashed.tobytes() + ",".join(self.names).encode()).hexdigest()[:16]

    def join_history(self, sales: pd.DataFrame) -> pd.DataFrame:
        """The sales frame with the covariates' past values as columns (0 where the frame has none).

        A column the sales frame already has keeps the sales frame's values.
        """
        names = [n for n in self.names if n not in sales.columns]
        if not names:
            return sales
        keys = pd.DataFrame({"item_id": sales["item_id"].astype(str).to_numpy(dtype=object),
                             "date": pd.to_datetime(sales["date"]).to_numpy()})
        joined = keys.merge(self.frame[[*KEYS, *names]], on=list(KEYS), how="left")
        out = sales.copy()
        for name in names:
            out[name] = joined[name].fillna(0.0).to_numpy()
        return out

    def add_past(self, history: PreparedHistory) -> PreparedHistory:
        """The prepared history with the covariates' past values (0 where the frame has none), as :meth:`join_history`."""
        names = [n for n in self.names if n not in history.covariates]
        if not names:
            return history
        lookup = self.frame.set_index(list(KEYS))
        index = pd.MultiIndex.from_arrays([history.ids, history.freq.dates(history.days)])
        covariates = dict(history.covariates)
        for name in names:
            covariates[name] = lookup[name].reindex(index).fillna(0.0).to_numpy(dtype=np.float64)
        return replace(history, covariates=covariates)

    def in_buckets(self, freq: Frequency) -> KnownFuture:
        """The covariates of daily data viewed in ``freq``'s weeks or months: each bucket's mean over the rows of
        its days (a flag given on every day: the share of the days with it), dated as the bucket; a bucket
        without rows has none. The rule :func:`~forecasting.core.history.aggregate_history` averages a sales
        file's covariates by, so that past and future values of a column mean the same."""
        day = to_day_numbers(self.frame["date"])
        frame = self.frame.assign(date=freq.dates(freq.periods(day)))
        return KnownFuture(frame.groupby(list(KEYS), as_index=False, sort=True)[self.names].mean())

    def missing(self, history: PreparedHistory, horizon: int) -> pd.DataFrame:
        """``item_id, date`` of the forecast days with no row in the frame (a model sees NaN there)."""
        aligned = future_values(self.frame, history, horizon)
        covered = np.zeros((history.n_items, horizon), dtype=bool)
        for values in aligned.values():
            covered |= ~np.isnan(values)
        item, step = np.nonzero(~covered)
        return pd.DataFrame({"item_id": history.item_ids[item],
                             "date": history.freq.dates(history.last_day[item] + step + 1)})


def category_code(category: str | None) -> int:
    """A category's integer code: the same for one text in every request, chunk and client (a hash, so a new
    category never renumbers the others); 0 for an item without a category. Codes of different categories
    are different (2^31 values: two of a thousand categories share one with odds of 1 in 4,000)."""
    text = "" if category is None else str(category).strip()
    if not text:
        return 0
    return 1 + int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % (2**31 - 1)


def with_category(sales: pd.DataFrame, categories: Mapping[str, str] | None) -> pd.DataFrame:
    """The sales frame with the :data:`CATEGORY` column: each row's item's :func:`category_code` (0 for an item
    ``categories`` lacks). A frame that has the column keeps its own values; None adds nothing."""
    if categories is None or CATEGORY in sales.columns:
        return sales
    codes = {str(item): float(category_code(text)) for item, text in categories.items()}
    column = sales["item_id"].astype(str).map(codes).fillna(0.0).to_numpy(dtype=np.float64)
    return sales.assign(**{CATEGORY: column})


def add_category(history: PreparedHistory, categories: Mapping[str, str] | None) -> PreparedHistory:
    """The prepared history with the :data:`CATEGORY` column, as :func:`with_category` (a batch chunk's)."""
    if categories is None or CATEGORY in history.covariates:
        return history
    codes = np.array([category_code(categories.get(str(item))) for item in history.item_ids], dtype=np.float64)
    return replace(history, covariates={**history.covariates, CATEGORY: np.repeat(codes, history.lengths)})


def used_covariates(model: object, past: Iterable[str], known: Iterable[str],
                    attributes: Iterable[str] = ()) -> tuple[str, ...]:
    """The covariates a model's forecast used, sorted: the one rule behind every output that names them.

    A model that ignores covariates (the statistical ones) used none; lgbm the
    known-future ones (a past-only column has no value on forecast days) and the
    item ``attributes`` (:data:`CATEGORY`); Chronos-2 the known-future and
    past-only ones. ``model`` is a forecasting model (its ``uses_known_future``,
    ``uses_past_covariates`` and ``uses_item_attributes`` flags).
    """
    if not getattr(model, "uses_known_future", False):
        return ()
    names = set(known) | (set(past) if getattr(model, "uses_past_covariates", False) else set())
    if getattr(model, "uses_item_attributes", False):
        names |= set(attributes)
    return tuple(sorted(names))


def covariate_use(model: object) -> str:
    """What ``models`` (CLI, docs) says of a model's covariates, by the same flags as :func:`used_covariates`."""
    if not getattr(model, "uses_known_future", False):
        return "known-future covariates ignored"
    if getattr(model, "uses_past_covariates", False):
        return "past and known-future covariates used"
    if getattr(model, "uses_item_attributes", False):
        return "the item's category and known-future covariates used"
    return "known-future covariates used"


def with_covariates(frame: pd.DataFrame, model: object, names: Sequence[str]) -> pd.DataFrame:
    """A forecast frame with the :data:`COVARIATES_COLUMN` (``promo;price``, ``none``) for a model that uses
    covariates; a statistical model's frame is returned as it is (it uses none: ``models`` says so)."""
    if not getattr(model, "uses_known_future", False):
        return frame
    return frame.assign(**{COVARIATES_COLUMN: ";".join(names) or "none"})


def future_values(frame: pd.DataFrame | KnownFuture, history: PreparedHistory, horizon: int) -> dict[str, np.ndarray]:
    """Covariate values for each item's forecast days from a long ``item_id, date, <covariates>`` frame.

    Returns name -> [items, horizon], NaN where the frame has no value. Rows for
    other items or other dates are ignored. Raises InvalidInputError for a
    missing key column, a column the history lacks, an unparsable date, a
    non-numeric value or a repeated (item_id, date) pair.
    """
    if isinstance(frame, KnownFuture):
        frame = frame.frame
    missing = [c for c in KEYS if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"future covariates are missing column(s) {', '.join(missing)}")
    names = [c for c in frame.columns if c not in KEYS]
    unknown = [c for c in names if c not in history.covariates]
    if unknown:
        raise InvalidInputError(
            f"future covariate column(s) {', '.join(map(str, unknown))} are not in the sales history; "
            "a known-future covariate needs its past values too"
        )
    ids = frame["item_id"].to_numpy()
    if ids.dtype != object:
        ids = ids.astype(str).astype(object)
    item = pd.Index(history.item_ids).get_indexer(ids)
    dates = pd.to_datetime(frame["date"], errors="coerce", format="ISO8601")
    _reject(dates.isna().to_numpy(), "unparsable date")
    day = to_day_numbers(dates)
    step = history.freq.periods(day) - history.last_day[np.maximum(item, 0)] - 1  # in the history's buckets
    keep = (item >= 0) & (step >= 0) & (step < horizon) & history.freq.fits(day)
    flat = item * horizon + step
    repeated = np.zeros(len(flat), dtype=bool)
    repeated[keep] = pd.Series(flat[keep]).duplicated().to_numpy()
    _reject(repeated, "repeated (item_id, date) pair")
    out = {}
    for name in names:
        raw = frame[name]
        numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        _reject(np.isnan(numbers) & raw.notna().to_numpy(), f"non-numeric {name}")
        values = np.full(history.n_items * horizon, np.nan)
        values[flat[keep]] = numbers[keep]
        out[name] = values.reshape(history.n_items, horizon)
    return out


def _problems(bad: np.ndarray, problem: str) -> list[RowProblem]:
    rows = np.flatnonzero(bad)[: InvalidInputError.MAX_LISTED] + 2  # 1-based, header = row 1
    return [RowProblem(int(r), problem) for r in rows]


def _reject(bad: np.ndarray, problem: str) -> None:
    if bad.any():
        raise InvalidInputError("future covariates rejected", _problems(bad, problem))
