"""Input widgets shared by the pages, and the small helpers that report progress and errors.

Widget values live in ``st.session_state`` under page-specific keys, so a
failed run leaves every input as the user set it. The chosen items are also
kept under one shared key, so the Compare and Reorder pages start from the
items last picked on any page. Pages keep their settings in the address too
(:func:`restore_from_url`, :func:`save_to_url`), so a browser reload restores them.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import streamlit as st

from app import config
from app.charts import band_levels
from app.services import model_availability, model_help
from forecasting.core.calendar import DAILY, VIEW_CODES, Frequency, bucket_text, days_since_data, is_stale
from forecasting.core.errors import ForecastingError, InvalidInputError, quoted
from forecasting.io.csv_export import to_csv_bytes
from forecasting.io.xlsx_export import to_xlsx_bytes
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.classification import CLASSES
from forecasting.storage import DatabaseUnavailableError

SHARED_ITEMS = "shared_items"
log = logging.getLogger(__name__)


def item_picker(items: pd.DataFrame, categories: Sequence[str], key: str) -> list[str]:
    """Searchable multi-select of the client's items, category and demand-pattern filters, a 'top N' shortcut.

    The demand-pattern filter shows when ``items`` has a ``demand_class`` column, the ABC / XYZ / lifecycle
    filters when it has those columns.
    """
    state_key = f"{key}_items"
    if state_key not in st.session_state:
        known = set(items["item_id"])
        st.session_state[state_key] = [i for i in st.session_state.get(SHARED_ITEMS, []) if i in known]
    names = dict(zip(items["item_id"], items["name"].fillna("")))

    pick, exact_col, category_col, class_col, top_col = st.columns([3.6, 1.4, 1.6, 1.6, 1.5],
                                                                   vertical_alignment="bottom")
    exact_col.text_input(
        "Exact item id", key=f"{key}_exact", placeholder="id + Enter",
        help="Type an item id exactly and press Enter to pick that item only",
        on_change=_select_exact, args=(set(items["item_id"]), f"{key}_exact", state_key),
    )
    missing = st.session_state.pop(f"{key}_exact_missing", None)
    if missing:
        st.warning(f"No item has the id {missing!r} (ids are matched exactly, case included).")
    chosen_categories = category_col.multiselect(
        "Category", list(categories), key=f"{key}_categories", placeholder="All categories"
    )
    shown = items if not chosen_categories else items[items["category"].isin(chosen_categories)]
    if "demand_class" in items.columns:
        present = [c for c in CLASSES if c in set(items["demand_class"])]
        chosen_classes = class_col.multiselect(
            "Demand pattern", present, key=f"{key}_classes", placeholder="All patterns",
            help="Syntetos-Boylan classes over the last year: smooth and erratic items sell most days; "
            "intermittent and lumpy items sell on few days (lumpy: in very uneven amounts); no recent demand: "
            "stopped selling (no sale for 13 weeks and 4 of its usual intervals)",
        )
        if chosen_classes:
            shown = shown[shown["demand_class"].isin(chosen_classes)]
    shown = _policy_class_filters(items, shown, key)
    top_key = f"{key}_top"
    top_col.selectbox(
        "Quick pick", config.TOP_N_CHOICES, index=None, key=top_key, placeholder="Top N by volume",
        format_func=lambda n: f"Top {n} by volume",
        help="Select the items with the most units sold in their last 28 days (within the category filter)",
        on_change=_select_top, args=(shown, top_key, state_key),
    )
    selected = st.session_state[state_key]
    options = list(dict.fromkeys([*shown["item_id"], *selected]))
    chosen = pick.multiselect(
        f"Items ({len(shown):,} available)",
        options,
        key=state_key,
        format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i),
        placeholder="Type to search items by id or name",
    )
    st.session_state[SHARED_ITEMS] = list(chosen)
    return list(chosen)


#: the policy's class filters of the item picker: column, label, help (docs/inventory-policy.md)
POLICY_FILTERS = (
    ("abc", "ABC", "By value sold over the last 52 weeks: A the items making 80% of it, B the next 15%, C the rest"),
    ("xyz", "XYZ", "By how steady weekly demand is: X steady (CV < 0.5), Y variable (< 1.0), Z erratic"),
    ("lifecycle", "Lifecycle", "new: first sale under 8 weeks ago; dead: no sale for 26 weeks or phased out"),
)


def _policy_class_filters(items: pd.DataFrame, shown: pd.DataFrame, key: str) -> pd.DataFrame:
    """ABC, XYZ and lifecycle multiselects (when ``items`` has those columns): the items in every chosen class."""
    present = [f for f in POLICY_FILTERS if f[0] in items.columns]
    if not present:
        return shown
    for (column, label, help_text), col in zip(present, st.columns(len(present))):
        values = sorted(v for v in set(items[column].dropna()) if v)
        chosen = col.multiselect(label, values, key=f"{key}_{column}", placeholder=f"All {label}", help=help_text)
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    return shown


def pick_from_link(items: pd.DataFrame, key: str) -> bool:
    """A link such as ``forecast?item=SKU-1`` (the Attention page's) picks that item on this page, once.

    True when it did: the page then shows the item at once, as if its button had been pressed.
    """
    wanted = st.query_params.get("item")
    if wanted is None:
        return False
    del st.query_params["item"]
    if wanted not in set(items["item_id"]):
        st.warning(f"The link asks for item {wanted!r}, which this client does not have.")
        return False
    st.session_state[f"{key}_items"] = [wanted]
    return True


#: the address parameter saying the page showed a result: a reload asks for it again (the run cache answers)
URL_SHOWN = "shown"


@dataclass(frozen=True)
class UrlField:
    """A widget whose value the page keeps in its address, so a browser reload (or a shared link) restores it."""

    param: str
    #: the widget's ``st.session_state`` key
    key: str
    #: str, int, float, bool or list (a list of str, or of int with ``item=int``)
    kind: type = str
    item: type = str
    #: the values the widget accepts (others in the address are ignored); None: any
    choices: Collection | None = None
    #: an empty choice is kept in the address (where the widget's default is not empty)
    keep_empty: bool = False


def restore_from_url(page: str, fields: Sequence[UrlField], result_key: str | None = None) -> bool:
    """Before the page's widgets: the settings in the address into the widgets the session has no value for.

    A browser reload starts a new session with the same address, so it gets them all back. Returns True when
    the address says the page showed a result and the session has none (``result_key``): the page then asks
    for it again. Values the widget would not accept are left out, so an edited or outdated address never
    breaks the page.
    """
    for field in fields:
        if field.key in st.session_state or field.param not in st.query_params:
            continue
        try:
            st.session_state[field.key] = _decode(field, st.query_params.get_all(field.param))
        except (ValueError, KeyError):
            continue
    return result_key is not None and result_key not in st.session_state and st.query_params.get(URL_SHOWN) == page


def save_to_url(page: str, fields: Sequence[UrlField], shown: bool) -> None:
    """After the page's widgets: their values into the address, and whether a result is on the page."""
    for field in fields:
        value = st.session_state.get(field.key)
        if value is None or (value in ("", []) and not field.keep_empty):  # unset: the widget's default
            st.query_params.pop(field.param, None)
            continue
        if field.kind is list:
            encoded = [str(v) for v in value] or [""]  # '' keeps an empty choice apart from 'not in the address'
        else:
            encoded = [str(int(value)) if field.kind is bool else str(value)]
        if st.query_params.get_all(field.param) != encoded:
            st.query_params[field.param] = encoded if field.kind is list else encoded[0]
    if shown:
        st.query_params[URL_SHOWN] = page  # the page's own: another page's address never runs this one
    elif st.query_params.get(URL_SHOWN) == page:
        del st.query_params[URL_SHOWN]


def _decode(field: UrlField, raw: list[str]) -> object:
    """The widget value of an address parameter; ValueError when the widget would not accept it."""
    if field.kind is list:
        values = []
        for text in raw:
            try:
                values.append(field.item(text))
            except ValueError:
                continue
        return list(dict.fromkeys(v for v in values if field.choices is None or v in field.choices))
    text = raw[-1]
    value = {"True": True, "1": True, "False": False, "0": False}[text] if field.kind is bool else field.kind(text)
    if field.kind is float and not math.isfinite(value):
        raise ValueError(text)
    if field.choices is not None and value not in field.choices:
        raise ValueError(text)
    return value


def _select_exact(known: set[str], exact_key: str, state_key: str) -> None:
    typed = str(st.session_state.get(exact_key) or "").strip()
    if typed in known:
        st.session_state[state_key] = [typed]
    elif typed:
        st.session_state[f"{exact_key}_missing"] = typed
    st.session_state[exact_key] = ""  # a one-shot action, not a setting


def _select_top(items: pd.DataFrame, top_key: str, state_key: str) -> None:
    n = st.session_state.get(top_key)
    if n:
        top = items.sort_values(["recent_quantity", "item_id"], ascending=[False, True], na_position="last")
        st.session_state[state_key] = top["item_id"].head(int(n)).tolist()
    st.session_state[top_key] = None  # a one-shot action, not a setting


def horizon_input(key: str, freq: Frequency = DAILY) -> int:
    """Buckets ahead, labelled with ``freq``'s unit and bounds (1-365 days, 1-104 weeks, 1-36 months).

    A value outside them (typed, or kept when the bucket switch moved from days
    to months) is refused by the service with a clear message, the inputs kept.
    """
    low, high = freq.horizon_bounds
    return int(
        st.number_input(
            f"Horizon ({freq.units}, {low}-{high})",
            value=min(config.DEFAULT_HORIZON, high),
            step=1,
            key=f"{key}_horizon",
            help=f"How many {freq.units} ahead to forecast, {low} to {high}",
        )
    )


#: the bucket switch's choices: code -> label
BUCKET_LABELS = {"D": "Days", "W": "Weeks", "M": "Months"}


def bucket_switch(key: str, freq: Frequency) -> str:
    """Days / weeks / months for daily data (weeks and months: the models fit the bucket totals); weekly or
    monthly data shows its own bucket only (never a finer one). Returns the code, D, W or M."""
    choices = list(VIEW_CODES[freq.code])
    state_key = f"{key}_bucket"
    if st.session_state.get(state_key) not in choices:  # an address or session from another client's data
        st.session_state[state_key] = freq.code
    return st.radio(
        "Bucket", choices, key=state_key, format_func=BUCKET_LABELS.get, disabled=len(choices) == 1, horizontal=True,
        help=("Plan in days, or in weekly or monthly totals: the models are fitted on the totals and forecast "
              "them; chart, table and downloads are in that bucket" if len(choices) > 1 else
              f"The data is {freq.label}: it is planned in {freq.units}"),
    )


def model_select(key: str, label: str = "Model") -> tuple[str, str]:
    """A model and '' if it can run, else the reason it cannot (the page then disables Run)."""
    availability = model_availability()
    name = st.selectbox(
        label,
        ModelFactory.names(),
        key=f"{key}_model",
        format_func=lambda n: ModelFactory.label(n) + ("" if availability[n].available else " (unavailable)"),
        help=model_help(),
    )
    return name, "" if availability[name].available else availability[name].reason


def models_multiselect(key: str, default: Sequence[str] = ("ma7", "seasonal-naive")) -> tuple[list[str], list[str]]:
    """Several models, and one line per chosen model that cannot run here."""
    availability = model_availability()
    chosen = st.multiselect(
        "Models (two or more)",
        ModelFactory.names(),
        default=list(default),
        key=f"{key}_models",
        format_func=lambda n: ModelFactory.label(n) + ("" if availability[n].available else " (unavailable)"),
        help=model_help(),
    )
    problems = [f"{ModelFactory.label(n)} cannot run here: {availability[n].reason}" for n in chosen
                if not availability[n].available]
    return list(chosen), problems


def bands_select(key: str) -> tuple[list[int], tuple[float, ...]]:
    """Central band widths in percent and the quantile levels they need, plus the median."""
    bands = st.multiselect(
        "Bands", list(config.BAND_CHOICES), default=list(config.DEFAULT_BANDS), key=f"{key}_bands",
        format_func=lambda b: f"{b}%",
        help="Shaded ranges the actuals should fall into with that probability (e.g. 80% = 10th to 90th percentile)",
    )
    bands = sorted(bands)
    return bands, tuple(sorted({*band_levels(bands), 0.5}))  # the median always (downloads show q0.5)


def progress_callback(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress bar and its (update, clear) pair for the services' ``progress(done, total)``."""
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"{label} {done}/{total}")

    return update, bar.empty


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show service errors as a clear message on the page (inputs stay as they were); log the unexpected."""
    try:
        yield
    except InvalidInputError as exc:
        st.error(f"{action} failed: {exc}")
        if exc.problems:
            st.dataframe(problems_frame(exc.problems), hide_index=True, width="content")
    except DatabaseUnavailableError as exc:
        st.error(f"{action} failed: the database is not reachable ({exc}). Try again in a moment.")
    except ForecastingError as exc:
        st.error(f"{action} failed: {exc}")
    except Exception:  # a bug or an infrastructure failure: no traceback for the user, all of it in the log
        log.exception("%s failed", action)
        st.error(f"{action} failed because of an internal error; it has been logged. Your inputs are kept.")


def sentence(text: str) -> str:
    """An error message as a sentence: capital first letter, final full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def problems_frame(problems: Sequence) -> pd.DataFrame:
    """Row-numbered problems of a rejected file as a table (row = file line, header = 1) with the values as written."""
    return pd.DataFrame({"row": [p.row for p in problems], "problem": [p.problem for p in problems],
                         "value": [quoted(p.value) if p.value else "" for p in problems]})


#: a data "as of" date older than this many days gets a visible warning
STALE_DATA_DAYS = 7
#: decimals of the numbers in downloads (planners read them; the CLI keeps 6)
DOWNLOAD_DECIMALS = 2


def file_name(kind: str, client_name: str, as_of: date | None, extra: str = "", suffix: str = "csv",
              freq: Frequency = DAILY) -> str:
    """``reorder_demo-foods_asof-2025-12-31_weekly.csv``: kind, client, the data's as-of date (plus e.g. the
    model) and the bucket the numbers count (daily, weekly, monthly)."""
    slug = "".join(c if c.isalnum() else "-" for c in client_name.lower()).strip("-")
    parts = [kind, slug, extra, f"asof-{as_of.isoformat()}" if as_of else "", freq.label.split()[0]]
    return "_".join(p for p in parts if p) + f".{suffix}"


def download_buttons(
    frame: pd.DataFrame, kind: str, client_name: str, as_of: date | None, key: str, extra: str = "",
    about: dict[str, object] | None = None, *, freq: Frequency, view: Frequency | None = None,
) -> None:
    """CSV and Excel downloads of one table, side by side: formula-safe, rounded, named after the data's date
    and bucket. ``freq``: the client's data bucket; ``view``: the bucket the table counts, where it differs
    (daily data in weeks or months). The workbook's About sheet states both (:func:`bucket_text`)."""
    facts = {"What": kind, "Client": client_name, "Data as of": as_of or "no sales yet",
             "Bucket": bucket_text(freq, view), **(about or {})}
    shown = view or freq
    csv_col, xlsx_col = st.columns(2)
    csv_col.download_button(
        "CSV", data=to_csv_bytes(frame, DOWNLOAD_DECIMALS), mime="text/csv", key=f"{key}_csv",
        file_name=file_name(kind, client_name, as_of, extra, freq=shown), icon=":material/download:",
        width="stretch", help=f"{len(frame):,} rows; text that a spreadsheet would run as a formula is neutralised",
    )
    xlsx_col.download_button(
        "Excel", data=to_xlsx_bytes(frame, facts, DOWNLOAD_DECIMALS), key=f"{key}_xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        file_name=file_name(kind, client_name, as_of, extra, "xlsx", freq=shown), icon=":material/table_view:",
        width="stretch",
        help="The same table as an Excel workbook (sheet 'About': client, data as of, bucket, settings)",
    )


def stale_notice(button: str) -> None:
    """Say that the result below was made with other inputs than those now set (it is not recomputed silently)."""
    st.warning(f"The inputs have changed since this result was made: it still shows the earlier settings. "
               f"Press {button} to update it.", icon=":material/history:")


def data_as_of(as_of: date | None, freq: Frequency = DAILY, today: date | None = None) -> None:
    """The data's as-of date and bucket (the sidebar shows them on every page), with a warning when over a week old."""
    if as_of is None:
        st.caption("No sales data yet")
        return
    st.markdown(f"Data as of **{as_of:%Y-%m-%d}**, {bucket_text(freq)}")
    today = today or date.today()
    if is_stale(as_of, today, freq, STALE_DATA_DAYS):  # a week, and a whole bucket, since the as-of bucket ended
        age = days_since_data(as_of, today, freq)
        first = np.datetime64(int(freq.days_of(freq.periods(np.array([np.datetime64(as_of, "D").astype(np.int64)]))
                                               + 1)[0]), "D")
        st.warning(f"The latest sales are {age} days old: every forecast starts on {first}. "
                   "Import newer sales on the Data page.", icon=":material/schedule:")
