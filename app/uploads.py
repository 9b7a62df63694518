"""The Data page's helpers: validating an upload into a report, item edits, the run-history view."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app import config
from app.widgets import STALE_DATA_DAYS, problems_frame, sentence
from forecasting.core.as_of import AsOfMove
from forecasting.core.errors import InvalidInputError
from forecasting.modes.factory import ModelFactory
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.csv_reader import MB
from forecasting.io.sales_csv import read_sales_csv
from forecasting.io.uploads import UploadLimits, read_upload


@dataclass(frozen=True)
class Kind:
    label: str
    help: str


#: what every file may look like, whatever its columns
FORGIVEN = ("Headers in any case and spacing (Item ID works), delimiter , ; tab or |, decimal commas in ; and "
            "tab files, dates as YYYY-MM-DD or DD.MM.YYYY.")

KINDS = {
    "sales": Kind("Sales history", "Columns item_id,date,quantity (one row per item and day), plus optional "
                  "numeric columns such as promo or price. New days are added, existing days replaced. " + FORGIVEN),
    "inventory": Kind("Inventory", "Columns item_id,on_hand,on_order,lead_time_days, optional review_period_days, "
                      "service_level, moq, pack_size, unit_cost, name, category, on_order_due. Stored as "
                      "today's position. " + FORGIVEN),
}


@dataclass(frozen=True)
class UploadCheck:
    """The validation report of one file: the parsed frame, or the message and the row-numbered problems."""

    frame: pd.DataFrame | None
    message: str = ""
    problems: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return self.frame is not None


def validate(kind: str, name: str, data: bytes, cache: dict | None = None) -> UploadCheck:
    """Read the file with the CSV contract's reader and the upload limits (the API's sales upload reads it the same
    way, forecasting.io.uploads); the last report is kept in ``cache``."""
    key = (kind, hashlib.sha256(data).hexdigest())
    if cache is not None and key in cache:
        return cache[key]
    reader = read_sales_csv if kind == "sales" else read_inventory_csv
    limits = UploadLimits(config.MAX_UPLOAD_MB * MB, config.MAX_UPLOAD_ROWS)
    try:
        check = UploadCheck(read_upload(reader, name, data, limits))
    except InvalidInputError as exc:
        check = UploadCheck(None, str(exc), problems_frame(exc.problems) if exc.problems else None)
    if cache is not None:
        cache.clear()
        cache[key] = check
    return check


def summary(kind: str, frame: pd.DataFrame, known_items: set[str]) -> str:
    """One line of counts for the preview: rows, items (new ones), dates or stock."""
    ids = pd.unique(frame["item_id"])
    new = int(sum(1 for i in ids if i not in known_items))
    text = f"{len(frame):,} rows for {len(ids):,} items ({new:,} new)"
    if kind == "sales":
        extra = [c for c in frame.columns if c not in ("item_id", "date", "quantity")]
        text += f", {frame['date'].min():%Y-%m-%d} to {frame['date'].max():%Y-%m-%d}"
        text += f", {frame['quantity'].sum():,.0f} units"
        if extra:
            text += f", extra columns kept as covariates: {', '.join(extra)}"
    else:
        text += f", {frame['on_hand'].sum():,.0f} units on hand, {frame['on_order'].sum():,.0f} on order"
    return text + "."


def inventory_after_sales(as_of: date | None, today: date | None = None) -> str | None:
    """The warning for an inventory position (dated today) taken well after the last sales, else None."""
    if as_of is None:
        return "There are no sales yet: the items of this file cannot be forecast until a sales file is imported."
    gap = ((today or date.today()) - as_of).days
    if gap <= STALE_DATA_DAYS:
        return None
    return (f"This stock position is dated today, {gap} days after the last sales ({as_of:%Y-%m-%d}): the sales "
            "in between are not in the data, so forecasts start too early and the reorder plan overstates stock. "
            "Import the newer sales first.")


def as_of_move_warning(move: AsOfMove) -> str:
    """The validation report's warning that a sales file moves the as-of date of items it does not contain."""
    return (f"{sentence(move.message())} Nothing is imported until you confirm below; to cancel, remove the file "
            "(or upload the other items' sales up to the new date with it).")


def as_of_move_confirmation(move: AsOfMove) -> str:
    """The label of the checkbox that confirms the move (the numbers again, so nobody confirms blind)."""
    return (f"Move the as-of date to {move.new:%Y-%m-%d} and give {move.items:,} other item(s) "
            f"{move.days:,} day(s) of zero sales")


def short_view(short: pd.DataFrame) -> pd.DataFrame:
    """The validation report's table of items too short to forecast, for display."""
    return pd.DataFrame({
        "Item": short["item_id"],
        "First sale": short["first_date"].dt.strftime("%Y-%m-%d").fillna("no sales"),
        "Days of history": short["days"],
    })


def item_changes(original: pd.DataFrame, edited: pd.DataFrame, editable: list[str]) -> dict[str, dict[str, Any]]:
    """``{item_id: {column: new value}}`` for the cells an admin changed (NaN and None count as equal)."""
    before = original.set_index("item_id")[editable]
    after = edited.set_index("item_id")[editable].reindex(before.index)
    # comparisons with a missing value give NA (nullable columns): only both-missing counts as equal
    same = (before == after).fillna(False).astype(bool) | (before.isna() & after.isna())
    changed = ~same
    out: dict[str, dict[str, Any]] = {}
    for item_id, row in changed.iterrows():  # only the edited rows, a handful
        columns = row.index[row.to_numpy()]
        if len(columns):
            out[str(item_id)] = {c: _plain(after.at[item_id, c]) for c in columns}
    return out


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def runs_view(runs: pd.DataFrame) -> pd.DataFrame:
    """Who ran what, when, on which items, how long it took, and whether the cache answered."""
    columns = ["created_at", "user", "kind", "model", "n_items", "horizon", "duration_s", "cached", "status",
               "items", "error"]
    return runs[columns].assign(model=runs["model"].map(ModelFactory.label))


def runs_column_config() -> dict[str, Any]:
    return {
        "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "user": "Who",
        "kind": "Kind",
        "model": st.column_config.TextColumn("Model", width="medium"),  # a comparison's list of models: bounded
        "items": st.column_config.TextColumn("Items", width="small", help="Hover a cell for the whole list"),
        "n_items": st.column_config.NumberColumn("# items", format="%d"),
        "horizon": st.column_config.NumberColumn("Horizon", format="%d"),
        "duration_s": st.column_config.NumberColumn("Seconds", format="%.2f"),
        "cached": st.column_config.CheckboxColumn("From cache"),
        "status": "Status",
        "error": "Error",
    }


def items_column_config() -> dict[str, Any]:
    return {
        "item_id": "Item",
        "name": "Name",
        "category": "Category",
        "unit_cost": st.column_config.NumberColumn("Unit cost", min_value=0.0, format="%.2f"),
        "lead_time_days": st.column_config.NumberColumn("Lead time (d)", min_value=0, max_value=365, step=1),
        "review_period_days": st.column_config.NumberColumn("Review (d)", min_value=0, max_value=365, step=1),
        "service_level": st.column_config.NumberColumn("Service level", min_value=0.5, max_value=0.999,
                                                       step=0.005, format="%.3f"),
        "moq": st.column_config.NumberColumn("MOQ", min_value=0.0),
        "service_type": st.column_config.SelectboxColumn(
            "Service type", options=["", "cycle", "fill"],
            help="cycle: chance of no stock-out per order cycle; fill: share of demand served from stock; "
                 "empty: the item's class decides"),
        "lead_time_std_days": st.column_config.NumberColumn(
            "Lead time std (d)", min_value=0.0, step=0.5, format="%.1f",
            help="Standard deviation of the lead time in days (0: always on time)"),
        "phase_out": st.column_config.CheckboxColumn(
            "Phase out", help="Being phased out: no safety stock and no order; its stock shows as excess"),
        "pack_size": st.column_config.NumberColumn("Pack size", min_value=0.001),
        "on_hand": st.column_config.NumberColumn("On hand", format="%.0f"),
        "on_order": st.column_config.NumberColumn("On order", format="%.0f"),
        "first_date": st.column_config.DateColumn("First sale"),
        "last_date": st.column_config.DateColumn("Last sale"),
        "total_quantity": st.column_config.NumberColumn("Units sold", format="%.0f"),
        "recent_quantity": st.column_config.NumberColumn("Last 28 days", format="%.0f"),
        "demand_class": st.column_config.TextColumn(
            "Demand pattern", help="Syntetos-Boylan class over the last year from ADI (mean days between sales; "
            ">= 1.32: intermittent) and CV^2 (variability of the amounts sold; >= 0.49: erratic or lumpy); no "
            "recent demand: stopped selling (no sale for 13 weeks and 4 of its usual intervals)"),
        "adi": st.column_config.NumberColumn("ADI", format="%.2f", help="Mean days between days with sales"),
        "cv2": st.column_config.NumberColumn("CV²", format="%.2f",
                                             help="Squared coefficient of variation of the amounts sold"),
    }
