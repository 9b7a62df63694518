"""Orders page: today's purchase proposal by supplier, edits with a reason, approval, PO downloads, history.

Thin: every rule is in :class:`forecasting.services.purchasing.PurchasingService`.
The totals shown are sums of the very lines the downloads hold (money in cents).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import widgets
from app.auth import require_user
from app.services import get_services, prepare_models

KEY = "po"
SHOWN = ["order", "supplier", "item_id", "name", "supplier_item_code", "reason", "qty_needed", "qty_rounded",
         "order_qty", "unit_cost", "order_value", "lead_time_days", "edit_reason", "line"]
HISTORY = ["order", "supplier", "item_id", "name", "order_qty", "order_value", "due_date", "approved_by",
           "approved_at", "edit_reason"]


def render() -> None:
    user = require_user()
    services = get_services()
    purchasing = services.purchasing
    st.title("Orders")
    st.caption("Today's proposal: items to order now, and items whose supplier's review is due and whose position "
               "is below the order-up-to level, rounded to the supplier's packs and MOQ. Approved lines are due "
               "today + their lead time and count as stock on order in the reorder table, its chart and the "
               "next proposal; nothing is sent to suppliers: download each order and send it yourself.")
    model_col, budget_col, run_col = st.columns([2.2, 1.6, 1.2], vertical_alignment="bottom")
    with model_col:
        model, unavailable = widgets.model_select(KEY, label="Demand model")
    budget = budget_col.number_input("Budget (optional)", value=None, min_value=0.0, step=100.0, key=f"{KEY}_budget",
                                     placeholder="no cap", help="Cap on the proposal's total value; the lines with "
                                     "the largest value at risk are kept first")
    if run_col.button("Propose", type="primary", key=f"{KEY}_propose", disabled=bool(unavailable), width="stretch"):
        with widgets.user_errors("Proposal"):
            prepare_models([model])
            proposal = purchasing.propose(user.client_id, model, user.user_id, budget=budget)
            if len(proposal.over_budget):
                st.warning(f"{len(proposal.over_budget)} line(s) left out by the budget: "
                           f"{', '.join(proposal.over_budget['item_id'].astype(str).head(10))}")

    drafts = purchasing.lines(user.client_id, ("draft",))
    _drafts(purchasing, user, drafts)
    _approved(purchasing, user)


def _drafts(purchasing, user, drafts: pd.DataFrame) -> None:
    st.subheader("Draft orders")
    if drafts.empty:
        st.info("No draft orders: press Propose.")
        return
    orders = purchasing.orders(drafts)
    a, b, c = st.columns(3)
    a.metric("Draft orders", f"{len(orders):,}")
    b.metric("Draft value", f"{orders['value'].sum():,.2f}", help="Sum of order quantity x unit cost of the lines")
    c.metric("Draft units", f"{orders['units'].sum():,.0f}")
    st.dataframe(orders, hide_index=True, key=f"{KEY}_orders")
    st.dataframe(drafts[SHOWN], hide_index=True, key=f"{KEY}_lines")

    with st.expander("Edit a line"):
        labels = {int(r.line): f"{r.order} {r.item_id} ({r.order_qty:g})" for r in drafts.itertuples()}
        line = st.selectbox("Line", list(labels), format_func=labels.get, key=f"{KEY}_edit_line")
        qty = st.number_input("New quantity", min_value=0.0, step=1.0, key=f"{KEY}_edit_qty")
        reason = st.text_input("Reason", key=f"{KEY}_edit_reason", placeholder="required")
        save, remove = st.columns(2)
        if save.button("Save quantity", key=f"{KEY}_edit_save"):
            with widgets.user_errors("Edit"):
                purchasing.edit_line(user.client_id, line, float(qty), reason, user.user_id)
                st.rerun()
        if remove.button("Remove line", key=f"{KEY}_edit_remove"):
            with widgets.user_errors("Remove"):
                purchasing.remove_line(user.client_id, line, reason, user.user_id)
                st.rerun()

    with st.expander("Add a line"):
        order = st.selectbox("Order", orders["order"].tolist(), key=f"{KEY}_add_order")
        supplier = orders.set_index("order")["supplier"].get(order, "")
        with widgets.user_errors("Loading the supplier's items"):
            candidates = purchasing.addable(user.client_id, supplier)
            candidates = candidates[~candidates["item_id"].isin(drafts.loc[drafts["order"] == order, "item_id"])]
            names = dict(zip(candidates["item_id"], candidates["name"]))
            item = st.selectbox(f"Item of {supplier or 'no supplier'}", list(names), key=f"{KEY}_add_item",
                                format_func=lambda i: f"{i} {names.get(i) or ''}".strip(), index=None,
                                placeholder="choose an item")
        qty = st.number_input("Quantity", min_value=0.0, step=1.0, key=f"{KEY}_add_qty")
        reason = st.text_input("Reason", key=f"{KEY}_add_reason", placeholder="required")
        if st.button("Add line", key=f"{KEY}_add", disabled=item is None):
            with widgets.user_errors("Adding the line"):
                purchasing.add_line(user.client_id, order, item, float(qty), reason, user.user_id)
                st.rerun()

    chosen = st.multiselect("Orders to approve", orders["order"].tolist(), key=f"{KEY}_approve_orders",
                            placeholder="all draft orders")
    if st.button("Approve", type="primary", key=f"{KEY}_approve"):
        with widgets.user_errors("Approval"):
            count = purchasing.approve(user.client_id, user.user_id, chosen or None)
            st.session_state[f"{KEY}_approved_note"] = f"Approved {count} line(s): now stock on order."
            st.rerun()


def _approved(purchasing, user) -> None:
    st.subheader("Approved orders")
    note = st.session_state.pop(f"{KEY}_approved_note", None)
    if note:
        st.success(note)
    history = purchasing.lines(user.client_id, ("approved",))
    if history.empty:
        st.info("No approved orders yet.")
        return
    export = purchasing.export_frame(user.client_id)
    a, b = st.columns(2)
    a.metric("Approved value", f"{export['order_value'].sum(skipna=True):,.2f}",
             help="Sum of the order values of every approved line: the downloads add up to the same")
    b.metric("Approved units", f"{export['order_qty'].sum():,.0f}")
    client = purchasing.data.get_client(user.client_id)
    for supplier in sorted(export["supplier"].unique()):
        frame = purchasing.export_frame(user.client_id, supplier)
        title = supplier or "No supplier (items' own terms)"
        with st.container(border=True):
            st.markdown(f"**{title}**: {len(frame):,} line(s), value {frame['order_value'].sum(skipna=True):,.2f}")
            widgets.download_buttons(frame, "purchase-order", user.client_name, client.as_of,
                                     f"{KEY}_download_{supplier or 'none'}", extra=supplier or "no-supplier",
                                     about={"Supplier": title}, freq=client.freq)
    st.markdown("**Order history**")
    st.dataframe(history[HISTORY], hide_index=True, key=f"{KEY}_history")
