"""Orders page through AppTest (issue 19): propose, edit with a reason, approve; totals equal the exports' sums."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pandas as pd
import pytest

from forecasting.services.purchasing import PurchasingService
from tests.support.app import login, open_page, table_with
from tests.support.demo_database import ADMIN, OTHER_CLIENT_PLANNER, PLANNER


def _metric(at, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def test_propose_edit_approve_and_totals_equal_the_exports_sums(backend):
    purchasing = PurchasingService(backend.data, backend.forecasts)
    client = backend.client_id("Demo Foods")
    at = open_page(login(PLANNER.username, PLANNER.password), "orders")
    assert not at.exception and not at.error
    at.button(key="po_propose").click()
    at = at.run()
    assert not at.exception and not at.error
    drafts = purchasing.lines(client, ("draft",))
    assert len(drafts) > 0
    shown = table_with(at, "order", "qty_rounded", "order_value")
    assert len(shown) == len(drafts)
    assert _metric(at, "Draft value") == pytest.approx(round(drafts["order_value"].sum(), 2))

    # an edit without a reason is refused on the page; with one it is kept
    line = int(drafts["line"].iloc[0])
    at.selectbox(key="po_edit_line").set_value(line)
    at.number_input(key="po_edit_qty").set_value(7.0)
    at.button(key="po_edit_save").click()
    at = at.run()
    assert any("reason" in e.value for e in at.error)
    at.text_input(key="po_edit_reason").input("shelf space")
    at.button(key="po_edit_save").click()
    at = at.run()
    edited = purchasing.lines(client, ("draft",)).set_index("line").loc[line]
    assert edited["order_qty"] == 7 and edited["edit_reason"] == "shelf space"

    at.button(key="po_approve").click()
    at = at.run()
    assert not at.exception and not at.error
    export = pd.read_csv(io.BytesIO(purchasing.export_csv(client)))
    assert len(export) == len(drafts)
    assert _metric(at, "Approved value") == pytest.approx(round(export["order_value"].sum(), 2))
    assert _metric(at, "Approved units") == pytest.approx(round(export["order_qty"].sum()))
    book = openpyxl.load_workbook(io.BytesIO(purchasing.export_xlsx(client)), read_only=True)
    rows = list(book["data"].iter_rows(values_only=True))
    header = list(rows[0])
    assert sum(r[header.index("order_value")] or 0 for r in rows[1:]) == pytest.approx(_metric(at, "Approved value"))
    assert sum(r[header.index("order_qty")] for r in rows[1:]) == pytest.approx(_metric(at, "Approved units"), abs=0.5)
    history = table_with(at, "approved_by", "due_date")
    assert set(history["approved_by"]) == {PLANNER.username}
    # due today (the real date) + each line's lead time
    today = datetime.now(UTC).date()
    approved = purchasing.lines(client, ("approved",))
    assert (pd.to_datetime(approved["due_date"]).dt.date
            == [today + timedelta(days=int(d)) for d in approved["lead_time_days"]]).all()

    # another client's planner sees none of it
    other = open_page(login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password), "orders")
    assert not other.exception
    assert not [m for m in other.metric if m.label in ("Approved value", "Draft value")]


SUPPLIER_FILE = b"""record,supplier,lead_time_days,currency,item_id,pack_size,unit_cost,supplier_item_code
supplier,Fresh Farms,6,EUR,,,,
item,Fresh Farms,,,DF-0001,10,1.5,FF-1
"""


def test_admins_import_suppliers_on_the_data_page_planners_only_see_them(backend):
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    assert not admin.exception
    purchasing = PurchasingService(backend.data, backend.forecasts)
    client = backend.client_id("Demo Foods")
    # AppTest has no file upload: the page's import calls the same service; what the page shows is checked
    purchasing.import_suppliers(client, SUPPLIER_FILE)
    planner = open_page(login(PLANNER.username, PLANNER.password), "data")
    assert not planner.exception and not planner.error
    assert "Only admins can change suppliers." in [c.value for c in planner.caption]
    assert table_with(planner, "name", "lead_time_days", "currency")["name"].tolist() == ["Fresh Farms"]
    links = table_with(planner, "item_id", "supplier", "pack_size")
    assert links["item_id"].tolist() == ["DF-0001"] and links["supplier_item_code"].tolist() == ["FF-1"]
    other = open_page(login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password), "data")
    assert not other.exception
    assert "No suppliers: items use their own lead time, pack size and MOQ." in [i.value for i in other.info]


def test_admins_edit_suppliers_and_links_on_the_data_page_with_the_files_rules(backend):
    purchasing = PurchasingService(backend.data, backend.forecasts)
    client = backend.client_id("Demo Foods")
    at = open_page(login(ADMIN.username, ADMIN.password), "data")
    assert not at.exception
    # a bad supplier: every problem listed, nothing stored
    at.text_input(key="data_sup_name").input("Fresh Farms")
    at.text_input(key="data_sup_lead_time_days").input("-3")
    at.text_input(key="data_sup_capacity_units").input("0")
    at.button(key="data_sup_save").click()
    at = at.run()
    errors = " ".join(e.value for e in at.error)
    assert "lead_time_days must be a whole number of days >= 0" in errors
    assert "capacity_units must be a number > 0" in errors
    assert purchasing.suppliers(client).empty
    at.text_input(key="data_sup_lead_time_days").input("6")
    at.text_input(key="data_sup_capacity_units").input("")
    at.text_input(key="data_sup_min_order_value").input("100")
    at.button(key="data_sup_save").click()
    at = at.run()
    assert not at.exception and not at.error
    assert purchasing.suppliers(client)[["name", "lead_time_days", "min_order_value"]].values.tolist() == [
        ["Fresh Farms", 6, 100.0]]
    assert "Saved supplier Fresh Farms." in [s.value for s in at.success]
    # choosing it fills the fields with its terms; a change is saved in place
    at.selectbox(key="data_sup_pick").set_value("Fresh Farms")
    at = at.run()
    assert at.text_input(key="data_sup_lead_time_days").value == "6"
    at.text_input(key="data_sup_lead_time_days").input("9")
    at.button(key="data_sup_save").click()
    at = at.run()
    assert purchasing.suppliers(client)["lead_time_days"].tolist() == [9]
    # link an item: a pack size of 0 is refused, then a good link makes the plan use the supplier's terms
    item = purchasing.data.inventory(client)["item_id"].iloc[0]
    at.selectbox(key="data_link_item").set_value(item)
    at = at.run()
    at.text_input(key="data_link_pack_size").input("0")
    at.button(key="data_link_save").click()
    at = at.run()
    assert any("pack_size must be a number > 0" in e.value for e in at.error) and purchasing.links(client).empty
    at.text_input(key="data_link_pack_size").input("12")
    at.text_input(key="data_link_supplier_item_code").input("FF-9")
    at.button(key="data_link_save").click()
    at = at.run()
    assert not at.error
    linked = purchasing.links(client)[["item_id", "supplier", "pack_size"]].values.tolist()
    assert linked == [[item, "Fresh Farms", 12.0]]
    assert backend.data.inventory(client, [item]).iloc[0][["lead_time_days", "pack_size"]].tolist() == [9, 12.0]
    assert table_with(at, "item_id", "supplier", "pack_size")["supplier_item_code"].tolist() == ["FF-9"]

    # planners see suppliers but no editor; another client sees none of them
    planner = open_page(login(PLANNER.username, PLANNER.password), "data")
    assert not planner.exception
    assert not [b for b in planner.button if b.key in ("data_sup_save", "data_link_save", "data_sup_delete")]
    assert not [t for t in planner.text_input if (t.key or "").startswith(("data_sup_", "data_link_"))]
    assert table_with(planner, "name", "lead_time_days", "currency")["name"].tolist() == ["Fresh Farms"]
    other = open_page(login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password), "data")
    assert "No suppliers: items use their own lead time, pack size and MOQ." in [i.value for i in other.info]

    # removing the link, then the supplier
    at.button(key="data_link_delete").click()
    at = at.run()
    assert purchasing.links(client).empty
    at.selectbox(key="data_sup_pick").set_value("Fresh Farms")
    at = at.run()
    at.button(key="data_sup_delete").click()
    at = at.run()
    assert not at.error and purchasing.suppliers(client).empty


def test_a_planner_adds_a_line_of_the_orders_supplier_on_the_orders_page(backend):
    purchasing = PurchasingService(backend.data, backend.forecasts)
    client = backend.client_id("Demo Foods")
    at = open_page(login(PLANNER.username, PLANNER.password), "orders")
    at.button(key="po_propose").click()
    at = at.run()
    drafts = purchasing.lines(client, ("draft",))
    order = drafts["order"].iloc[0]
    supplier = drafts["supplier"].iloc[0]
    candidates = purchasing.addable(client, supplier)
    candidates = candidates[~candidates["item_id"].isin(drafts.loc[drafts["order"] == order, "item_id"])]
    new = sorted(candidates["item_id"])[0]
    at.selectbox(key="po_add_order").set_value(order)
    at = at.run()
    # the items of that supplier not on the order yet
    assert set(at.selectbox(key="po_add_item").options) == {
        f"{i} {n}".strip() for i, n in zip(candidates["item_id"], candidates["name"].fillna(""))}
    at.selectbox(key="po_add_item").set_value(new)
    at = at.run()
    at.number_input(key="po_add_qty").set_value(25.0)
    at.text_input(key="po_add_reason").input("display for a promotion")
    at.button(key="po_add").click()
    at = at.run()
    assert not at.exception and not at.error
    after = purchasing.lines(client, ("draft",))
    added = after[(after["order"] == order) & (after["item_id"] == new)].iloc[0]
    assert (added["order_qty"], added["reason"], added["edit_reason"], added["edited_by"]) == (
        25.0, "added", "display for a promotion", PLANNER.username)
    assert len(table_with(at, "order", "qty_rounded", "order_value")) == len(after)
    assert _metric(at, "Draft units") == pytest.approx(after["order_qty"].sum())
