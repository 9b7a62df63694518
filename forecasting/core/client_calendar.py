"""A client's calendar: promotions, events, holidays and planned prices, checked and turned into covariates.

One table (docs/data-formats.md, "Calendar"), one row per entry:
``type, item_id, category, start, end, name, discount, price``. A promotion
or a planned price applies to one item or to every item of a category; an
event or a holiday to an item, a category, or (both empty) every item. The
days run from ``start`` to ``end`` (inclusive; empty ``end`` = one day).

:meth:`ClientCalendar.known_future` turns the entries into the
:class:`~forecasting.core.covariates.KnownFuture` frame the models that use
covariates read (lgbm, chronos-2): a column per kind of information the
calendar holds (``promo``, ``discount``, ``price``, ``event``, ``holiday``),
on every day an entry covers and on every forecast day (0 there when no entry
covers it; ``price`` unknown, NaN). A column the sales file also has
(``promo``) keeps the sales file's past values and takes the calendar's on
forecast days: that is what makes it known-future.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, Frequency
from forecasting.core.cells import CONTROL_CHARACTERS, ID_LENGTH, MAX_QUANTITY, TEXT_LENGTH, UNPARSABLE_DATE
from forecasting.core.covariates import KEYS, KnownFuture
from forecasting.core.errors import InvalidInputError, RowProblem

TYPES = ("promotion", "event", "holiday", "price")
COLUMNS = ("type", "item_id", "category", "start", "end", "name", "discount", "price")
#: the longest entry (days from start to end): a calendar plans a season, not years of one promotion
MAX_SPAN_DAYS = 366
#: most entries of a calendar (it is read whole, and expanded per item and day)
MAX_ROWS = 100_000
#: most (item, day) pairs a calendar may cover in all (an event for every item counts each item's days): what
#: turning it into covariates holds in memory
MAX_ITEM_DAYS = 20_000_000
#: header = line 1, so the first entry is line 2
FIRST_LINE = 2
#: the covariate columns a calendar can give, in this order (only those it has data for are made)
COVARIATES = ("promo", "discount", "price", "event", "holiday")


@dataclass(frozen=True)
class ClientCalendar:
    """Checked entries: COLUMNS, ``start``/``end`` datetime64, ``discount``/``price`` float (NaN: not given)."""

    entries: pd.DataFrame

    @classmethod
    def empty(cls) -> ClientCalendar:
        return cls(_frame([], [], [], [], [], [], [], []))

    @classmethod
    def check(cls, raw: pd.DataFrame, items: Mapping[str, str] | None = None) -> ClientCalendar:
        """The checked calendar of a raw table (text cells); InvalidInputError lists every problem.

        ``items``: the client's item id -> category (an unknown item or category
        is a problem); None skips that check (a file read without a client).
        """
        columns = [str(c).strip().lower() for c in raw.columns]
        missing = [c for c in ("type", "start") if c not in columns]
        unknown = [c for c in columns if c not in COLUMNS]
        if missing or unknown:
            parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
                [f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(COLUMNS)})"] if unknown else [])
            raise InvalidInputError(f"calendar rejected, nothing imported: {'; '.join(parts)}")
        if len(raw) > MAX_ROWS:
            raise InvalidInputError(f"calendar rejected, nothing imported: {len(raw):,} rows; the limit is {MAX_ROWS:,}")
        text = raw.set_axis(columns, axis=1).reindex(columns=list(COLUMNS)).astype("string").fillna("")
        text = text.apply(lambda c: c.str.strip())
        lines = np.arange(len(text)) + FIRST_LINE
        problems: list[RowProblem] = []

        def flag(mask, problem: str, values: pd.Series | None = None) -> None:
            mask = np.asarray(mask, dtype=bool)
            shown = values.to_numpy(dtype=object) if values is not None else None
            problems.extend(RowProblem(int(lines[i]), problem, None if shown is None else str(shown[i]))
                            for i in np.flatnonzero(mask))

        kind = text["type"].str.lower()
        flag(~kind.isin(TYPES), f"type must be one of {', '.join(TYPES)}", text["type"])
        item, category = text["item_id"], text["category"]
        flag((item != "") & (category != ""), "give an item_id or a category, not both")
        scoped = kind.isin(["promotion", "price"])
        flag(scoped & (item == "") & (category == ""), "a promotion or a price needs an item_id or a category")
        for column, limit in (("item_id", ID_LENGTH), ("category", TEXT_LENGTH), ("name", TEXT_LENGTH)):
            flag(text[column].str.len() > limit, f"{column} longer than {limit} characters")
            flag(text[column].str.contains(CONTROL_CHARACTERS, regex=True),
                 f"{column} contains a control character (line break, tab, NUL...)")
        if items is not None:
            flag((item != "") & ~item.isin(list(items)), "unknown item_id for this client", item)
            known = {c for c in items.values() if c}
            flag((category != "") & ~category.isin(list(known)), "unknown category for this client", category)
        start = _dates(text["start"], flag, "start", required=True)
        end = _dates(text["end"], flag, "end", required=False)
        end = np.where(np.isnat(end), start, end)
        known = ~np.isnat(start) & ~np.isnat(end)
        span = np.where(known, (end - start).astype("timedelta64[D]").astype(np.int64), 0)
        flag(span < 0, "end before start")
        flag(span >= MAX_SPAN_DAYS, f"an entry covers at most {MAX_SPAN_DAYS} days")
        discount = _numbers(text["discount"], flag, "discount")
        flag(~np.isnan(discount) & ((discount < 0) | (discount >= 1)),
             "discount must be a fraction from 0 to below 1 (0.2 = 20% off)", text["discount"])
        flag(~np.isnan(discount) & (kind != "promotion").to_numpy(), "a discount belongs to a promotion")
        price = _numbers(text["price"], flag, "price")
        flag(~np.isnan(price) & ((price < 0) | (price > MAX_QUANTITY)),
             f"price must be a number from 0 to {MAX_QUANTITY:,.0f}", text["price"])
        flag((kind == "price").to_numpy() & np.isnan(price) & (text["price"] == "").to_numpy(),
             "a price entry needs a price")
        flag(kind.isin(["event", "holiday"]).to_numpy() & ~np.isnan(price), "a price belongs to a promotion or a price entry")
        entries = _frame(kind, item, category, start, end, text["name"], discount, price)
        for what, label in (("promotion", "promotions"), ("price", "planned prices")):
            flag(_overlaps(entries, what), f"overlapping {label} for the same item or category")
        if problems:
            raise InvalidInputError("calendar rejected, nothing imported", problems, len(problems))
        if items is not None:
            _check_size(entries, items)
        return cls(entries)

    @property
    def covariates(self) -> list[str]:
        """The columns :meth:`known_future` makes: one per kind of information the calendar holds."""
        e = self.entries
        has = {"promo": (e["type"] == "promotion").any(), "discount": e["discount"].notna().any(),
               "price": e["price"].notna().any(), "event": (e["type"] == "event").any(),
               "holiday": (e["type"] == "holiday").any()}
        return [c for c in COVARIATES if has[c]]

    def version(self) -> str | None:
        """Changes with any entry (part of the forecast cache key); None for an empty calendar."""
        if self.entries.empty:
            return None
        text = self.table().to_csv(index=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def table(self) -> pd.DataFrame:
        """The entries as the file's columns, dates as ``YYYY-MM-DD`` text, sorted (what an export writes)."""
        out = self.entries.copy()
        for column in ("start", "end"):
            out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
        return out.sort_values(["start", "type", "item_id", "category", "name"], kind="stable", ignore_index=True)

    def marks(self, item_id: str, category: str = "") -> pd.DataFrame:
        """The promotions, events and holidays that apply to one item (``type, name, start, end``), by start:
        what a chart marks (planned prices are not marked)."""
        e = self.entries
        applies = (e["item_id"] == item_id) | ((e["category"] == category) & (category != "")) | \
            ((e["item_id"] == "") & (e["category"] == ""))
        chosen = e[applies & (e["type"] != "price")]
        return chosen[["type", "name", "start", "end"]].sort_values("start", kind="stable", ignore_index=True)

    def item_days(self, items: pd.DataFrame) -> pd.DataFrame:
        """``item_id, date, type, entry`` for every day an entry covers one of ``items`` (``item_id, category``)."""
        columns = ["item_id", "date", "type", "entry"]
        if self.entries.empty or items.empty:
            return pd.DataFrame(columns=columns)
        e = self.entries.reset_index(names="entry")
        ids = items["item_id"].astype(str).to_numpy(dtype=object)
        cats = items["category"].fillna("").astype(str).to_numpy(dtype=object)
        pairs = []
        for scope, key in (("item_id", ids), ("category", cats)):
            chosen = e[e[scope] != ""]
            if not chosen.empty:
                index = pd.DataFrame({scope: key, "_item": np.arange(len(ids))})
                pairs.append(chosen.merge(index[index[scope] != ""], on=scope))
        everyone = e[(e["item_id"] == "") & (e["category"] == "")]
        if not everyone.empty:
            pairs.append(everyone.merge(pd.DataFrame({"_item": np.arange(len(ids))}), how="cross"))
        pairs = [p for p in pairs if not p.empty]
        if not pairs:
            return pd.DataFrame(columns=columns)
        pair = pd.concat(pairs, ignore_index=True)
        length = ((pair["end"] - pair["start"]).dt.days + 1).to_numpy()
        rows = np.repeat(np.arange(len(pair)), length)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)
        dates = pair["start"].to_numpy()[rows] + offset.astype("timedelta64[D]")
        return pd.DataFrame({"item_id": ids[pair["_item"].to_numpy()[rows]], "date": dates,
                             "type": pair["type"].to_numpy()[rows], "entry": pair["entry"].to_numpy()[rows]})

    def known_future(self, items: pd.DataFrame, forecast_dates: pd.DatetimeIndex,
                     freq: Frequency = DAILY, view: bool = False) -> KnownFuture | None:
        """The covariates of ``items`` (``item_id, category``) on the days the entries cover and ``forecast_dates``.

        On a forecast day no entry covers, the flags (``promo``, ``event``,
        ``holiday``) and ``discount`` are 0 and ``price`` is unknown (NaN). A
        promotion's price wins over a planned price on the same day. Weekly and
        monthly data: a bucket has a flag when any of its days has it, the
        largest discount and the mean price of its days with one (as a weekly
        sales file flags a week). ``view``: daily data summed to ``freq``'s
        buckets (:func:`~forecasting.core.history.aggregate_history`), whose
        covariates are the means of the bucket's days, so each covariate is the
        mean over the bucket's days too: a flag is the share of its days with it
        (3 promotion days of a week: 3/7), ``discount`` the mean discount (0 on
        days without a promotion), ``price`` the mean over the days with a price.
        None when the calendar is empty.
        """
        names = self.covariates
        if not names:
            return None
        days = self.item_days(items)
        e = self.entries
        kind = days["type"].to_numpy(dtype=object)
        entry = days["entry"].to_numpy(dtype=np.int64)
        values = {
            "promo": (kind == "promotion").astype(np.float64),
            "discount": np.nan_to_num(e["discount"].to_numpy()[entry], nan=0.0),
            "event": (kind == "event").astype(np.float64),
            "holiday": (kind == "holiday").astype(np.float64),
            "_promo_price": np.where(kind == "promotion", e["price"].to_numpy()[entry], np.nan),
            "_plan_price": np.where(kind == "price", e["price"].to_numpy()[entry], np.nan),
        }
        dates = pd.DatetimeIndex(pd.to_datetime(days["date"]))
        frame = pd.DataFrame({"item_id": days["item_id"].to_numpy(dtype=object),
                              "date": freq.dates(freq.periods(_day_numbers(dates))) if freq != DAILY and not view
                              else dates, **values})
        rules = {"promo": "max", "discount": "max", "event": "max", "holiday": "max",
                 "_promo_price": "mean", "_plan_price": "mean"}
        if view:  # each day's values first (entries for the item and its category may share a day)
            frame = _bucket_means(frame.groupby(list(KEYS), sort=True).agg(rules).reset_index(), freq)
        grid = pd.MultiIndex.from_product([items["item_id"].astype(str).to_numpy(dtype=object), forecast_dates])
        frame = pd.concat([frame, pd.DataFrame({"item_id": grid.get_level_values(0), "date": grid.get_level_values(1)})],
                          ignore_index=True)
        out = frame.groupby(list(KEYS), sort=True).agg(rules).reset_index()
        for flag in ("promo", "discount", "event", "holiday"):
            out[flag] = out[flag].fillna(0.0)
        out["price"] = out["_promo_price"].fillna(out["_plan_price"])
        return KnownFuture.from_frame(out[[*KEYS, *names]])


def _bucket_means(daily: pd.DataFrame, freq: Frequency) -> pd.DataFrame:
    """Per-day covariates (one row per item and day an entry covers) as the means over ``freq``'s buckets' days.

    A day without a row has no entry: flags and discount 0 (so a flag's mean is
    the share of the bucket's days with it), price unknown (the mean price is
    over the days with one). The price columns become one (a promotion's price
    wins on its days), kept in ``_promo_price`` for the caller's rules.
    """
    day = _day_numbers(pd.DatetimeIndex(daily["date"]))
    period = freq.periods(day)
    length = (freq.days_of(period + 1) - freq.days_of(period)).astype(np.float64)
    shares = {c: daily[c].to_numpy(dtype=np.float64) / length for c in ("promo", "discount", "event", "holiday")}
    price = daily["_promo_price"].fillna(daily["_plan_price"]).to_numpy(dtype=np.float64)
    per_day = pd.DataFrame({"item_id": daily["item_id"].to_numpy(dtype=object), "date": freq.dates(period),
                            **shares, "_promo_price": price})
    out = per_day.groupby(list(KEYS), sort=True).agg(
        {"promo": "sum", "discount": "sum", "event": "sum", "holiday": "sum", "_promo_price": "mean"}).reset_index()
    return out.assign(_plan_price=np.nan)


def _check_size(entries: pd.DataFrame, items: Mapping[str, str]) -> None:
    """Refuse a calendar covering more than MAX_ITEM_DAYS (item, day) pairs."""
    per_category = pd.Series(list(items.values()), dtype=object).value_counts()
    scope = np.where(entries["item_id"] != "", 1,
                     np.where(entries["category"] != "",
                              entries["category"].map(per_category).fillna(0).to_numpy(dtype=np.int64), len(items)))
    days = ((entries["end"] - entries["start"]).dt.days + 1).to_numpy(dtype=np.int64)
    total = int((scope * days).sum())
    if total > MAX_ITEM_DAYS:
        raise InvalidInputError(f"calendar rejected, nothing imported: it covers {total:,} (item, day) pairs; the "
                                f"limit is {MAX_ITEM_DAYS:,} (name items or categories instead of every item)")


def _day_numbers(dates: pd.DatetimeIndex) -> np.ndarray:
    return (dates.to_numpy(dtype="datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(np.int64)


def _frame(kind, item, category, start, end, name, discount, price) -> pd.DataFrame:
    return pd.DataFrame({
        "type": np.asarray(kind, dtype=object), "item_id": np.asarray(item, dtype=object),
        "category": np.asarray(category, dtype=object),
        "start": np.asarray(start, dtype="datetime64[ns]"), "end": np.asarray(end, dtype="datetime64[ns]"),
        "name": np.asarray(name, dtype=object), "discount": np.asarray(discount, dtype=np.float64),
        "price": np.asarray(price, dtype=np.float64),
    })


def _dates(text: pd.Series, flag, label: str, required: bool) -> np.ndarray:
    """Days from ``YYYY-MM-DD`` or ``DD.MM.YYYY`` text; NaT where empty or bad (bad ones flagged)."""
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dates = dates.fillna(pd.to_datetime(text.where(dates.isna()), format="%d.%m.%Y", errors="coerce"))
    empty = (text == "").to_numpy()
    if required:
        flag(empty, f"missing {label}")
    flag(~empty & dates.isna().to_numpy(), f"{label}: {UNPARSABLE_DATE}", text)
    return dates.to_numpy(dtype="datetime64[ns]")


def _numbers(text: pd.Series, flag, label: str) -> np.ndarray:
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=np.float64)
    flag((text != "").to_numpy() & ~np.isfinite(values), f"non-numeric {label}", text)
    return np.where(np.isfinite(values), values, np.nan)


def _overlaps(entries: pd.DataFrame, kind: str) -> np.ndarray:
    """Rows of ``kind`` that start on or before the end of an earlier one for the same item or category."""
    chosen = entries[(entries["type"] == kind) & entries["start"].notna() & entries["end"].notna()]
    out = np.zeros(len(entries), dtype=bool)
    if chosen.empty:
        return out
    ordered = chosen.assign(_scope=chosen["item_id"] + "\x00" + chosen["category"]).sort_values(
        ["_scope", "start"], kind="stable")
    reach = ordered.groupby("_scope")["end"].cummax().groupby(ordered["_scope"]).shift()  # latest end before
    out[ordered.index[(ordered["start"] <= reach).to_numpy()]] = True
    return out
