"""Data page: upload sales or inventory (validate, preview, import), the items and their parameters, run history."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import config, tables, uploads, widgets
from app.auth import require_user
from app.services import client_calendar, client_items, client_items_with_classes, get_services
from forecasting.applications.inventory.parameters import EDITABLE, POLICY_EDITABLE
from forecasting.applications.inventory.targets import edited_policy
from forecasting.core.calendar import bucket_text
from forecasting.core.errors import ForecastingError
from forecasting.core.history import MIN_HISTORY_DAYS

KEY = "data"
#: the Data page's bucket choice for a sales upload: ``detect`` reads it from the dates
BUCKETS = {"detect": "Detect", "D": "Daily", "W": "Weekly", "M": "Monthly"}


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Data")
    upload_tab, items_tab, policy_tab, suppliers_tab, calendar_tab, runs_tab = st.tabs(
        ["Upload", "Items", "Service levels", "Suppliers", "Calendar", "Run history"])
    with upload_tab:
        _upload(user, services)
    with items_tab:
        _items(user, services)
    with policy_tab:
        _policy(user, services)
    with suppliers_tab:
        _suppliers(user, services)
    with calendar_tab:
        _calendar(user, services)
    with runs_tab:
        with widgets.user_errors("Loading the run history"):
            runs = uploads.runs_view(services.data.list_runs(user.client_id, 200))
            # the long list of items last, where the table may cut it (every other column fits 1440 px)
            tables.show(runs, f"{KEY}_runs", uploads.runs_column_config(),
                        column_order=[c for c in runs.columns if c != "items"] + ["items"])
            client = services.data.get_client(user.client_id)
            widgets.download_buttons(runs, "runs", user.client_name, client.as_of, f"{KEY}_runs_download",
                                     freq=client.freq)


def _upload(user, services) -> None:
    kind = st.radio("File", list(uploads.KINDS), horizontal=True, key=f"{KEY}_kind",
                    format_func=lambda k: uploads.KINDS[k].label)
    # the size limit is the uploader's own (it states it beside the button): not repeated here
    st.caption(uploads.KINDS[kind].help + f" Up to {config.MAX_UPLOAD_ROWS:,} rows.")
    freq = None
    if kind == "sales":
        choice = st.radio("Bucket", list(BUCKETS), horizontal=True, key=f"{KEY}_bucket", format_func=BUCKETS.get,
                        help="Detect: weekly when every date of an item is on one weekday 7 days apart, monthly when "
                        "every date is the 1st (or every date a month end), else daily. Choose one to declare it: "
                        "dates off it refuse the file (docs/data-formats.md)")
        freq = None if choice == "detect" else choice
    file = st.file_uploader("CSV file", type=["csv"], key=f"{KEY}_{kind}_file")
    if file is None:
        return
    check = uploads.validate(kind, file.name, file.getvalue(), cache=st.session_state.setdefault(f"{KEY}_check", {}))
    if not check.ok:
        st.error(f"{widgets.sentence(check.message)} Fix the file and upload it again.")
        if check.problems is not None:
            table, _ = st.columns([3, 2])
            table.table(check.problems.rename(columns={"row": "Row (file line)", "problem": "Problem",
                                                       "value": "Value"})
                        .set_index("Row (file line)"))
        return
    known = set(client_items(user.client_id, services.data.data_version(user.client_id))["item_id"])
    summary = uploads.summary(kind, check.frame, known)
    if kind == "sales":
        bucket = None
        with widgets.user_errors("Checking the dates"):
            bucket = services.data.sales_bucket(user.client_id, check.frame, freq)
        if bucket is None:  # dates off the bucket: the message and the first offending rows are shown
            return
        summary = f"{summary.rstrip('.')}; {bucket_text(bucket)} dates."
    st.success(f"{file.name} is valid: " + summary)
    if kind == "inventory":
        gap = uploads.inventory_after_sales(services.data.get_client(user.client_id).as_of)
        if gap:
            st.warning(gap, icon=":material/schedule:")
    short = services.data.too_short_to_forecast(user.client_id, check.frame)
    if not short.empty:
        st.warning(f"{len(short):,} item(s) will still be too short to forecast after this import (a forecast "
                   f"needs {MIN_HISTORY_DAYS} days from the first sale to the data's as-of date); they are imported "
                   "and listed on the Attention page.", icon=":material/short_text:")
        st.dataframe(uploads.short_view(short), hide_index=True, key=f"{KEY}_short")
    st.dataframe(check.frame.head(20), hide_index=True, key=f"{KEY}_preview")
    move = services.data.sales_as_of_move(user.client_id, check.frame) if kind == "sales" else None
    confirmed = False
    if move is not None:
        st.warning(uploads.as_of_move_warning(move), icon=":material/event_upcoming:")
        confirmed = st.checkbox(uploads.as_of_move_confirmation(move),
                                key=f"{KEY}_move_as_of_{move.new:%Y%m%d}_{move.items}")
    if st.button(f"Import {len(check.frame):,} rows", type="primary", key=f"{KEY}_import",
                 disabled=move is not None and not confirmed):
        with widgets.user_errors("Import"):
            if kind == "sales":  # the published plan is made again on the new sales (docs/planning.md)
                with st.spinner("Importing, then making the plan again"):
                    done = services.planning.import_sales(user.client_id, check.frame, move_as_of=confirmed,
                                                          freq=freq)
                st.success(f"Imported {done.result.summary()}." + (f" Plan {done.plan.plan.plan_id} "
                           f"({'reused' if done.plan.reused else 'made'}), as of {done.plan.plan.as_of}."
                           if done.plan else ""))
                if done.problem:
                    st.warning(widgets.sentence(done.plan_line()))
            else:
                result = services.data.import_inventory(user.client_id, check.frame)
                st.success(f"Imported {result.summary()}.")


def _suppliers(user, services) -> None:
    """Suppliers and item links; admins import a supplier file or edit one at a time (docs/data-formats.md).

    Every edit is checked by the supplier file's rules (the service decides); planners only see them.
    """
    purchasing = services.purchasing
    if user.is_admin:
        upload = st.file_uploader("Supplier file (CSV)", type=["csv"], key=f"{KEY}_suppliers_file",
                                  help="Suppliers and item links in one file (docs/data-formats.md, supplier file); "
                                  "any problem rejects the whole file")
        if upload is not None and st.button("Import suppliers", type="primary", key=f"{KEY}_suppliers_import"):
            with widgets.user_errors("Supplier import"):
                count, links = purchasing.import_suppliers(user.client_id, upload.getvalue())
                st.success(f"Imported {count} supplier(s) and {links} item link(s).")
    else:
        st.caption("Only admins can change suppliers.")
    note = st.session_state.pop(f"{KEY}_suppliers_note", None)
    if note:
        st.success(note)
    with widgets.user_errors("Loading the suppliers"):
        suppliers = purchasing.suppliers(user.client_id)
        links = purchasing.links(user.client_id)
        if suppliers.empty:
            st.info("No suppliers: items use their own lead time, pack size and MOQ.")
        else:
            st.dataframe(suppliers, hide_index=True, key=f"{KEY}_suppliers")
            st.dataframe(links, hide_index=True, key=f"{KEY}_supplier_links")
    if user.is_admin:
        _edit_supplier(user, purchasing, suppliers)
        if not suppliers.empty:
            _edit_link(user, purchasing, suppliers, links)


NEW_SUPPLIER = "(new supplier)"
SUPPLIER_FIELDS = ["lead_time_days", "order_days", "review_period_days", "min_order_value", "min_order_qty",
                   "capacity_units", "currency"]
LINK_FIELDS = ["pack_size", "moq", "unit_cost", "lead_time_days", "supplier_item_code"]


def _done(note: str) -> None:
    """Show ``note`` above the refreshed tables."""
    st.session_state[f"{KEY}_suppliers_note"] = note
    st.rerun()


def _cell(value: object) -> str:
    """A stored value as the text of a supplier-file cell (empty for none)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fill(prefix: str, fields: list[str], row: dict | None) -> None:
    for field in fields:
        st.session_state[f"{prefix}_{field}"] = _cell(row.get(field)) if row else ""


def _edit_supplier(user, purchasing, suppliers: pd.DataFrame) -> None:
    rows = {r["name"]: r for r in suppliers.to_dict("records")}
    prefix = f"{KEY}_sup"
    with st.expander("Add or change a supplier"):
        pick = st.selectbox("Supplier", [NEW_SUPPLIER, *rows], key=f"{prefix}_pick", on_change=lambda: _fill(
            prefix, SUPPLIER_FIELDS, rows.get(st.session_state[f"{prefix}_pick"])))
        name = st.text_input("Name", key=f"{prefix}_name") if pick == NEW_SUPPLIER else pick
        columns = st.columns(4)
        values = {field: columns[i % 4].text_input(field, key=f"{prefix}_{field}")
                  for i, field in enumerate(SUPPLIER_FIELDS)}
        save, remove = st.columns(2)
        if save.button("Save supplier", type="primary", key=f"{prefix}_save"):
            with widgets.user_errors("Saving the supplier"):
                purchasing.save_supplier(user.client_id, {"supplier": name, **values})
                _done(f"Saved supplier {name}.")
        if remove.button("Delete supplier", key=f"{prefix}_delete", disabled=pick == NEW_SUPPLIER):
            with widgets.user_errors("Deleting the supplier"):
                purchasing.delete_supplier(user.client_id, pick)
                _done(f"Deleted supplier {pick} with its item links and draft orders.")


def _edit_link(user, purchasing, suppliers: pd.DataFrame, links: pd.DataFrame) -> None:
    rows = {r["item_id"]: r for r in links.to_dict("records")}
    version = purchasing.data.data_version(user.client_id)
    items = client_items(user.client_id, version)["item_id"].astype(str).tolist()
    prefix = f"{KEY}_link"

    def chosen() -> None:
        row = rows.get(st.session_state[f"{prefix}_item"])
        _fill(prefix, LINK_FIELDS, row)
        if row:
            st.session_state[f"{prefix}_supplier"] = row["supplier"]

    with st.expander("Link an item to a supplier"):
        item = st.selectbox("Item", items, key=f"{prefix}_item", on_change=chosen, index=None,
                            placeholder="choose an item")
        supplier = st.selectbox("Supplier", suppliers["name"].tolist(), key=f"{prefix}_supplier")
        columns = st.columns(5)
        values = {field: columns[i].text_input(field, key=f"{prefix}_{field}") for i, field in enumerate(LINK_FIELDS)}
        save, remove = st.columns(2)
        if save.button("Save link", type="primary", key=f"{prefix}_save", disabled=item is None):
            with widgets.user_errors("Saving the link"):
                purchasing.save_link(user.client_id, {"item_id": item, "supplier": supplier, **values})
                _done(f"Linked {item} to {supplier}.")
        if remove.button("Remove link", key=f"{prefix}_delete", disabled=item not in rows):
            with widgets.user_errors("Removing the link"):
                purchasing.delete_link(user.client_id, item)
                _done(f"{item} uses its own lead time and pack size again.")


def _calendar(user, services) -> None:
    """The client's calendar: promotions, events, holidays, planned prices; a file replaces it (any user)."""
    st.caption("Promotions, events, holidays and planned prices: lgbm and Chronos-2 use them as known-future "
               "covariates, the statistical models ignore them (docs/data-formats.md, calendar). A file replaces "
               "the whole calendar; any problem rejects it and nothing is imported.")
    upload = st.file_uploader("Calendar file (CSV)", type=["csv"], key=f"{KEY}_calendar_file",
                              help="type,item_id,category,start,end,name,discount,price")
    if upload is not None and st.button("Import calendar", type="primary", key=f"{KEY}_calendar_import"):
        with widgets.user_errors("Calendar import"):
            calendar = services.data.import_calendar(user.client_id, upload.getvalue(), upload.name)
            st.success(f"Imported {len(calendar.entries):,} calendar entries "
                       f"(covariates: {', '.join(calendar.covariates) or 'none'}).")
    with widgets.user_errors("Loading the calendar"):
        calendar = client_calendar(user.client_id, services.data.data_version(user.client_id))
        if calendar.entries.empty:
            st.info("No calendar: the models forecast from sales alone.")
            return
        table = calendar.table()
        st.dataframe(table, hide_index=True, key=f"{KEY}_calendar")
        widgets.download_buttons(table, "calendar", user.client_name, services.data.get_client(user.client_id).as_of,
                                 f"{KEY}_calendar_download")


def _items(user, services) -> None:
    items = client_items_with_classes(user.client_id, services.data.data_version(user.client_id))
    if items.empty:
        st.info("No items yet: upload a sales file.")
        return
    # service level in percent, as on the Reorder page (stored and in files: a fraction)
    shown = items.drop(columns=["inventory_as_of"]).assign(service_level=items["service_level"] * 100)
    column_config = {**uploads.items_column_config(), "service_level": st.column_config.NumberColumn(
        "Service level (%)", min_value=50.0, max_value=99.9, step=0.5, format="%.1f",
        help="Your target for this item; empty: its class's level (Service levels tab)")}
    # admins edit every parameter; planners the policy ones (target, its type, lead-time spread, phase-out)
    editable = list(EDITABLE) if user.is_admin else list(POLICY_EDITABLE)
    caption = ("Edit parameters in the table, then save. Lead time and review period are whole days; an empty "
               "service level or type means the item's class decides." if user.is_admin else
               "You can edit the service level, its type, the lead-time spread and the phase-out flag; "
               "other parameters are for admins.")
    st.caption(caption)
    edited = st.data_editor(
        shown, hide_index=True, key=f"{KEY}_items_editor", column_config=column_config,
        disabled=[c for c in shown.columns if c not in editable], num_rows="fixed",
        height=tables.table_height(len(shown)),
    )
    changes = uploads.item_changes(shown, edited, editable)
    if st.button(f"Save changes ({len(changes)} item{'s' if len(changes) != 1 else ''})", key=f"{KEY}_save",
                 disabled=not changes, type="primary"):
        bad = [f"item {i}: the service level must be above 0% and below 100%, got {c['service_level']:g}%"
               for i, c in changes.items() if c.get("service_level") is not None and not 0 < c["service_level"] < 100]
        if bad:
            st.error(f"Nothing was saved: {'; '.join(bad)}. Your edits are kept in the table; fix them and save again.")
            return
        with widgets.user_errors("Saving item changes"):  # an unexpected failure: logged, nothing written
            try:
                saved = services.data.update_items(user.client_id, _fractions(changes))
            except ForecastingError as exc:  # all or nothing: the edits stay in the table to fix and save again
                st.error(f"Nothing was saved: {str(exc).rstrip('.')}. "
                         "Your edits are kept in the table; fix them and save again.")
            else:
                st.success(f"Saved {saved} item(s).")


def _policy(user, services) -> None:
    """The client's service levels by ABC x XYZ class (percent); admins edit and save them."""
    policy = services.data.policy(user.client_id)
    matrix = pd.DataFrame({x: [policy.levels[a + x] * 100 for a in "ABC"] for x in "XYZ"}, index=list("ABC"))
    st.caption("Cycle service level (%) per class: A/B/C by value sold, X/Y/Z by how steady weekly demand is. "
               "An item's own service level overrides its class (docs/inventory-policy.md).")
    config = {x: st.column_config.NumberColumn(x, min_value=50.0, max_value=99.9, step=0.5, format="%.1f")
              for x in "XYZ"}
    if not user.is_admin:
        st.dataframe(matrix, column_config=config)
        st.caption("Only admins can edit the service levels.")
        return
    edited = st.data_editor(matrix, key=f"{KEY}_policy_editor", column_config=config, num_rows="fixed")
    if st.button("Save service levels", key=f"{KEY}_policy_save", type="primary"):
        levels = {a + x: float(edited.loc[a, x]) / 100 for a in "ABC" for x in "XYZ"}
        try:
            services.data.save_policy(user.client_id, edited_policy(policy, levels))
        except ForecastingError as exc:
            st.error(f"Nothing was saved: {str(exc).rstrip('.')}.")
        else:
            st.success("Saved the service levels.")


def _fractions(changes: dict[str, dict]) -> dict[str, dict]:
    """The edits with the service level back as the fraction the items store (the table shows percent)."""
    return {item: {c: v / 100 if c == "service_level" and v is not None else v for c, v in change.items()}
            for item, change in changes.items()}
