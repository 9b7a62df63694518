"""Orders page through AppTest (issue 19): propose, edit with a reason, approve; totals equal the exports' sums."""
from __future__ import annotations

import io

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
    history = table_with(at, "approved_by", "due_date")
    assert set(history["approved_by"]) == {PLANNER.username}

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
