"""Reorder page: policy inputs in; the reorder table, the projected stock it comes from, CSV and Excel out."""
from __future__ import annotations

import streamlit as st

from app import charts, tables, widgets
from app.auth import require_user
from app.services import client_categories, client_items_with_classes, get_services, prepare_models
from forecasting.core.calendar import Frequency, bucket_text
from forecasting.core.models.base import MAX_HORIZON
from forecasting.modes.factory import ModelFactory

KEY = "ro"
ALL = "All items with stock data"
CHOSEN = "Chosen items"


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Reorder")
    version = services.data.data_version(user.client_id)
    items = client_items_with_classes(user.client_id, version)
    if items.empty:
        st.info("No items yet: upload sales and inventory files on the Data page.")
        return

    fields = _url_fields(items)
    restored = widgets.restore_from_url(KEY, fields, f"{KEY}_result")
    linked = widgets.pick_from_link(items, KEY)
    if linked:
        st.session_state[f"{KEY}_scope"] = CHOSEN
    scope = st.radio("Items", [ALL, CHOSEN], horizontal=True, key=f"{KEY}_scope")
    chosen = widgets.item_picker(items, client_categories(user.client_id, version), KEY) if scope == CHOSEN else None
    client = services.data.get_client(user.client_id)
    bucket_col, model_col, level_col, review_col, lead_col, run_col = st.columns(
        [1.7, 2.2, 1.6, 1.6, 1.6, 1.2], vertical_alignment="bottom")
    with bucket_col:
        bucket = widgets.bucket_switch(KEY, client.freq)
    with model_col:
        model, unavailable = widgets.model_select(KEY, label="Demand model")
    service_level = level_col.number_input(
        "Service level (%)", value=None, step=0.5, key=f"{KEY}_service_level", placeholder="per item",
        help="Chance of not running out before the next order arrives, above 0 and below 100; "
        "empty = each item's stored level",
    )
    review = review_col.number_input(
        "Review period (days)", value=None, min_value=0, max_value=MAX_HORIZON, step=1, key=f"{KEY}_review",
        placeholder="per item", help="Days between orders (0 = order any day); empty = each item's own",
    )
    lead = lead_col.number_input(
        "Lead time (days)", value=None, min_value=0, max_value=MAX_HORIZON, step=1, key=f"{KEY}_lead",
        placeholder="per item", help="Days from order to delivery; empty = each item's own",
    )
    has_plan = services.planning.current_plan(user.client_id) is not None
    in_view = bucket != client.freq.code  # daily data planned in weekly or monthly totals
    use_plan = has_plan and not in_view and st.toggle(
        "Use the published plan with its overrides", value=True, key=f"{KEY}_use_plan",
        help="Off: a fresh run of the demand model above")
    if has_plan and in_view:
        st.caption(f"The published plan is in {client.freq.units}: in {Frequency(bucket).units} the demand is a "
                   "fresh run of the demand model above.")
    if use_plan:
        unavailable = ""
    run = run_col.button("Compute", type="primary", key=f"{KEY}_run", disabled=bool(unavailable),
                         width="stretch") or ((linked or restored) and not unavailable)
    if unavailable:
        st.warning(f"This model cannot run here: {unavailable}")
    inputs = (tuple(chosen or ()), model, service_level, review, lead, version, use_plan, bucket)

    if run:
        st.session_state.pop(f"{KEY}_result", None)  # a failed run must not leave an older result
        if chosen is not None and not chosen:
            st.error("Choose at least one item, or switch to all items.")
        elif service_level is not None and not 0 < service_level < 100:
            st.error(f"Reorder table failed: the service level must be above 0% and below 100%, got "
                     f"{service_level:g}%. Clear the field to use each item's own level.")
        else:
            update, clear = widgets.progress_callback("Computing")
            with widgets.user_errors("Reorder table"):
                prepare_models([model])
                outcome = services.forecasts.reorder_plan(
                    user.client_id, chosen, None if use_plan else model,
                    service_level=None if service_level is None else service_level / 100.0,
                    review_period_days=None if review is None else int(review),
                    lead_time_days=None if lead is None else int(lead),
                    user_id=user.user_id, progress=update, bucket=bucket,
                )
                st.session_state[f"{KEY}_result"] = (inputs, outcome)
            clear()

    result = st.session_state.get(f"{KEY}_result")
    if result is not None:
        if result[0] != inputs:
            widgets.stale_notice("Compute")
        _show(result[1], user, client.freq)
    widgets.save_to_url(KEY, fields, shown=result is not None)


def _url_fields(items) -> list[widgets.UrlField]:
    """The settings and table filters a reload keeps (the address holds them)."""
    ids = set(items["item_id"])
    return [
        widgets.UrlField("scope", f"{KEY}_scope", choices=(ALL, CHOSEN)),
        widgets.UrlField("bucket", f"{KEY}_bucket", choices=tuple(widgets.BUCKET_LABELS)),
        widgets.UrlField("items", f"{KEY}_items", list, choices=ids),
        widgets.UrlField("model", f"{KEY}_model", choices=ModelFactory.names()),
        widgets.UrlField("service_level", f"{KEY}_service_level", float),
        widgets.UrlField("review", f"{KEY}_review", int, choices=range(MAX_HORIZON + 1)),  # the inputs' bounds
        widgets.UrlField("lead", f"{KEY}_lead", int, choices=range(MAX_HORIZON + 1)),
        widgets.UrlField("only", f"{KEY}_only", bool),
        widgets.UrlField("categories", f"{KEY}_filter_categories", list),
        widgets.UrlField("search", f"{KEY}_search"),
        widgets.UrlField("chart", f"{KEY}_chart_item", choices=ids),
    ]


def _show(outcome, user, freq: Frequency) -> None:
    table = outcome.table
    st.caption(f"In {outcome.freq.units}: {bucket_text(freq, outcome.freq)}; lead times and review periods stay "
               "in days (covered pro rata, docs/inventory-policy.md).")
    if outcome.plan_id is not None:
        st.caption(f"Demand: {outcome.demand}, with its overrides (docs/planning.md).")
    totals = tables.reorder_totals(table)
    a, b, c = st.columns(3)
    a.metric("Items to reorder now", f"{totals['to_order']:,} of {len(table):,}",
             help="Order now: inventory position (on hand + on order) at or below the reorder point, or at least "
             "one unit short before an order placed today could arrive (the Attention page's urgent items)")
    b.metric("Order value", f"{totals['value']:,.2f}",
             help="Sum of order quantity x unit cost of the items to reorder (those with a unit cost)")
    c.metric("Stock-outs within the horizon", f"{totals['stockouts']:,}",
             help="Items whose stock on hand and on order (from the day it arrives) runs out before the end of "
             "the forecast, if nothing else is ordered")
    if totals["no_cost"]:
        st.warning(f"{len(totals['no_cost'])} item(s) to reorder have no unit cost, so their value is not in the "
                   f"total: {', '.join(map(str, totals['no_cost'][:10]))}"
                   + (" ..." if len(totals["no_cost"]) > 10 else "") + ". Set unit costs on the Data page.")
    if outcome.skipped:
        st.caption(f"Left out (no stock position or too little history): "
                   f"{', '.join(map(str, outcome.skipped[:20]))}" + (" ..." if len(outcome.skipped) > 20 else ""))

    only, category_col, search_col, download_col = st.columns([1.3, 2, 2, 2.2], vertical_alignment="bottom")
    reorder_only = only.toggle("Reorder now only", key=f"{KEY}_only")
    categories = category_col.multiselect("Category", sorted(table["category"].dropna().unique()),
                                          key=f"{KEY}_filter_categories", placeholder="All categories")
    search = search_col.text_input("Search", key=f"{KEY}_search", placeholder="item id or name")
    with download_col:
        widgets.download_buttons(table, "reorder", user.client_name, outcome.as_of, f"{KEY}_download",
                                 about={"Model": ModelFactory.label(table["model"].iloc[0]), "Run": outcome.run_id},
                                 freq=freq, view=outcome.freq)
    view = tables.reorder_view(table, reorder_only, categories, search)
    tables.show(view, f"{KEY}_table", tables.reorder_column_config())

    st.subheader("Projected stock")
    ids = view["item_id"].tolist() or table["item_id"].tolist()
    names = dict(zip(table["item_id"], table["name"].fillna("")))
    item_col, _ = st.columns([2, 3])
    item = item_col.selectbox("Item", ids, key=f"{KEY}_chart_item",
                              format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i))
    row = table[table["item_id"] == item].iloc[0]
    projection = outcome.projection[outcome.projection["item_id"] == item]
    st.plotly_chart(charts.stock_projection_figure(row, projection, title=f"{item} {row['name'] or ''}".strip()),
                    key=f"{KEY}_chart", config={"displaylogo": False})
    st.caption(f"Per {outcome.freq.unit}: on hand plus stock on order from the {outcome.freq.unit} it arrives, minus "
               "the expected demand the table was computed from; the dash-dot line adds the suggested order, "
               "arriving after the lead time.")
