"""Reorder page: policy inputs in; the reorder table, a stock projection and the CSV out."""
from __future__ import annotations

import streamlit as st

from app import charts, tables, widgets
from app.auth import require_user
from app.services import (
    client_categories,
    client_items_with_classes,
    client_point_forecast,
    get_services,
    prepare_models,
)
from forecasting.core.models.base import MAX_HORIZON
from forecasting.io.csv_export import to_csv_bytes

KEY = "ro"


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Reorder")
    version = services.data.data_version(user.client_id)
    items = client_items_with_classes(user.client_id, version)
    if items.empty:
        st.info("No items yet: upload sales and inventory files on the Data page.")
        return

    scope = st.radio("Items", ["All items with stock data", "Chosen items"], horizontal=True, key=f"{KEY}_scope")
    chosen = widgets.item_picker(items, client_categories(user.client_id, version), KEY) if scope == "Chosen items" \
        else None
    model_col, level_col, review_col, lead_col, run_col = st.columns([2.2, 1.6, 1.6, 1.6, 1.2],
                                                                     vertical_alignment="bottom")
    with model_col:
        model, unavailable = widgets.model_select(KEY, label="Demand model")
    service_level = level_col.number_input(
        "Service level (%)", value=None, min_value=50.0, max_value=99.9, step=0.5, key=f"{KEY}_service_level",
        placeholder="per item", help="Chance of not running out before the next order arrives; "
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
    run = run_col.button("Compute", type="primary", key=f"{KEY}_run", disabled=bool(unavailable), width="stretch")
    if unavailable:
        st.warning(f"This model cannot run here: {unavailable}")

    if run:
        if chosen is not None and not chosen:
            st.error("Choose at least one item, or switch to all items.")
        else:
            st.session_state.pop(f"{KEY}_result", None)  # a failed run must not leave an older result
            update, clear = widgets.progress_callback("Computing")
            with widgets.user_errors("Reorder table"):
                prepare_models([model])
                table = services.forecasts.reorder(
                    user.client_id, chosen, model,
                    service_level=None if service_level is None else service_level / 100.0,
                    review_period_days=None if review is None else int(review),
                    lead_time_days=None if lead is None else int(lead),
                    user_id=user.user_id, progress=update,
                )
                st.session_state[f"{KEY}_result"] = table
            clear()

    table = st.session_state.get(f"{KEY}_result")
    if table is not None:
        _show(table, user, version)


def _show(table, user, version: int) -> None:
    skipped = table.attrs.get("skipped") or []
    to_order = table[table["action"] == "reorder"]
    a, b, c = st.columns(3)
    a.metric("Items to reorder now", f"{len(to_order):,} of {len(table):,}",
             help="Inventory position (on hand + on order) at or below the reorder point")
    b.metric("Order value", f"{to_order['order_value'].sum():,.2f}", help="Sum of order quantity x unit cost")
    c.metric("Stock-outs within the horizon", f"{int(table['stockout_date'].notna().sum()):,}",
             help="Items whose stock on hand is used up by expected demand within the forecast, "
             "if nothing new arrives")
    if skipped:
        st.caption(f"Left out (no stock position or too little history): {', '.join(map(str, skipped[:20]))}"
                   + (" ..." if len(skipped) > 20 else ""))

    only, category_col, search_col, download_col = st.columns([1.3, 2, 2, 1.6], vertical_alignment="bottom")
    reorder_only = only.toggle("Reorder now only", key=f"{KEY}_only")
    categories = category_col.multiselect("Category", sorted(table["category"].dropna().unique()),
                                          key=f"{KEY}_filter_categories", placeholder="All categories")
    search = search_col.text_input("Search", key=f"{KEY}_search", placeholder="item id or name")
    download_col.download_button(
        "Download CSV", data=to_csv_bytes(table), mime="text/csv", key=f"{KEY}_download",
        file_name=widgets.file_name("reorder", user.client_name), icon=":material/download:", width="stretch",
        help=f"All {len(table):,} items of the table, formula-safe",
    )
    view = tables.reorder_view(table, reorder_only, categories, search)
    st.dataframe(view, hide_index=True, column_config=tables.reorder_column_config(), key=f"{KEY}_table",
                 height=min(420, 38 + 35 * max(1, len(view))))

    st.subheader("Projected stock")
    ids = view["item_id"].tolist() or table["item_id"].tolist()
    names = dict(zip(table["item_id"], table["name"].fillna("")))
    item_col, _ = st.columns([2, 3])
    item = item_col.selectbox("Item", ids, key=f"{KEY}_chart_item",
                              format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i))
    row = table[table["item_id"] == item].iloc[0]
    horizon = max(28, int(row["lead_time_days"]) + int(row["review_period_days"]))
    with widgets.user_errors("Projection"):
        demand = client_point_forecast(user.client_id, version, item, str(row["model"]), horizon, user.user_id)
        st.plotly_chart(charts.stock_projection_figure(row, demand, title=f"{item} {row['name'] or ''}".strip()),
                        key=f"{KEY}_chart", config={"displaylogo": False})
