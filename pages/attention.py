"""Attention page (the first page after login): the items that need action today, most urgent first."""
from __future__ import annotations

import streamlit as st

from app import links, tables, widgets
from app.auth import require_user
from app.services import client_exceptions, get_services
from forecasting.applications.exceptions import rules
from forecasting.applications.exceptions.rules import REASONS
from forecasting.core.calendar import as_of_text
from forecasting.modes.factory import ModelFactory

KEY = "att"


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Attention")
    client = services.data.get_client(user.client_id)
    if client.as_of is None:
        st.info("No sales yet: upload a sales file on the Data page.")
        return
    fields = [widgets.UrlField("reasons", f"{KEY}_reasons", list, choices=REASONS),
              widgets.UrlField("categories", f"{KEY}_categories", list)]
    widgets.restore_from_url(KEY, fields)
    with widgets.user_errors("The attention queue"):
        queue, run_id, cached, demand = client_exceptions(user.client_id, client.data_version, user.user_id,
                                                          services.planning.version(user.client_id))
        source = f"the published {demand} with its overrides" if demand.startswith("plan ") else \
            f"the {ModelFactory.label(demand)} forecast"
        st.caption(f"Data as of {as_of_text(client.as_of, client.freq)}. Run #{run_id} "
                   f"({'from the stored queue: nothing changed since' if cached else 'computed now'}); "
                   f"demand from {source}. It is computed again after any import, item edit or override.")
        _show(queue, user.client_name, client, run_id)
    widgets.save_to_url(KEY, fields, shown=False)


def _show(queue, client_name: str, client, run_id: int) -> None:
    if queue.empty:
        st.success("Nothing needs attention today.")
        return
    metrics = st.columns(4)  # filled after the filters: the totals are those of the rows shown
    reason_col, category_col, value_col, download_col = st.columns([2.4, 2.2, 1.4, 2.2], vertical_alignment="bottom")
    reasons = reason_col.multiselect("Reason", [r for r in REASONS if r in set(queue["reason"])],
                                     key=f"{KEY}_reasons", placeholder="All reasons")
    categories = category_col.multiselect("Category", sorted(set(queue["category"]) - {""}),
                                          key=f"{KEY}_categories", placeholder="All categories")
    min_value = value_col.number_input(
        "Min value at risk", min_value=0.0, value=0.0, step=10.0, key=f"{KEY}_min_value",
        help="Hide rows whose value at risk is below this (rows without a unit cost stay: their value is unknown)",
    )
    shown = tables.exceptions_view(queue, reasons, categories, min_value)
    _totals(metrics, rules.queue_totals(shown))
    with download_col:
        widgets.download_buttons(shown.drop(columns="chart"), "attention", client_name, client.as_of,
                                 f"{KEY}_download", about={"Run": run_id}, freq=client.freq)
    if shown.empty:
        st.info("No item has the chosen reasons in the chosen categories"
                + (f" with a value at risk of at least {min_value:,.2f}." if min_value > 0 else "."))
        return
    _open_item(shown)
    tables.show(shown, f"{KEY}_table", tables.exceptions_column_config())
    missing = shown["unit_cost"].isna().sum()
    if missing:
        st.caption(f"{missing} item(s) have no unit cost: their value at risk is empty and not in the totals.")


def _totals(columns, totals: dict) -> None:
    """The headline numbers of the rows shown (they follow the filters)."""
    items, urgent, shortage, excess = columns
    items.metric("Items needing attention", f"{totals['items']:,}")
    urgent.metric("Urgent (order now)", f"{totals['urgent']:,}",
                  help="Items the Reorder page marks 'reorder': at or below the reorder point, or at least one "
                  "unit short before an order placed today could arrive")
    shortage.metric("Shortage value at risk", f"{totals['shortage_value']:,.2f}",
                    help="Units short x unit cost of the urgent items (items without a unit cost are left out)")
    excess.metric("Excess value at risk", f"{totals['excess_value']:,.2f}",
                  help="Units x unit cost of excess stock and of stock not selling for a long time (items "
                  "without a unit cost are left out)")


def _open_item(shown) -> None:
    """One item of the queue (the most urgent first) and links to its forecast and its reorder plan."""
    pick_col, forecast_col, reorder_col = st.columns([4.2, 1.6, 1.6], vertical_alignment="bottom")
    reasons = dict(zip(shown["item_id"], shown["reason"]))
    names = dict(zip(shown["item_id"], shown["name"]))
    item = pick_col.selectbox(
        "Open an item", list(shown["item_id"]), key=f"{KEY}_item",
        format_func=lambda i: " - ".join(p for p in (str(i), names.get(i, ""), reasons[i]) if p),
    )
    with forecast_col:
        links.item_link("forecast", item, "Its forecast", ":material/insights:")
    with reorder_col:
        links.item_link("reorder", item, "Reorder it", ":material/local_shipping:")
