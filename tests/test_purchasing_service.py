"""Issue 19 through the service on both databases: supplier import, proposals, edits, approval, exports, isolation."""
from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
import pandas as pd
import pytest

from forecasting.core.errors import InvalidInputError, NotFoundError
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.purchasing import PurchasingService
from tests.support.db import inventory_frame, sales_frame, table_counts

TODAY = date(2024, 2, 29)  # the data's as-of date: sales_frame covers 60 days from 2024-01-01
SUPPLIER_FILE = """record,supplier,lead_time_days,order_days,review_period_days,min_order_value,capacity_units,currency,item_id,pack_size,moq,unit_cost,supplier_item_code
supplier,Acme,10,,,0,,EUR,,,,,
item,Acme,,,,,,,LOW,12,0,2.5,=ACME-LOW
item,Acme,,,,,,,HIGH,12,0,2.5,ACME-HIGH
"""


@pytest.fixture
def world(database):
    data = DataAccess(database)
    purchasing = PurchasingService(data, ForecastService(data))
    a, b = data.create_client("A").client_id, data.create_client("B").client_id
    ids = ["LOW", "HIGH", "NOSUP"]
    for client in (a, b):
        data.import_sales(client, sales_frame({i: 5.0 for i in ids}, days=60))
        data.import_inventory(client, inventory_frame(ids).assign(on_hand=[0.0, 1000.0, 0.0], pack_size=[1, 1, 7]))
    purchasing.import_suppliers(a, SUPPLIER_FILE.encode())
    return data, purchasing, a, b


def test_a_bad_supplier_file_lists_every_problem_and_imports_nothing(world, database):
    _data, purchasing, a, _ = world
    bad = """record,supplier,lead_time_days,item_id,pack_size
supplier,Beta,-2,,
supplier,Beta,3,,
item,Gamma,,LOW,1
item,Beta,,HIGH,0
"""
    before = table_counts(database)
    with pytest.raises(InvalidInputError) as err:
        purchasing.import_suppliers(a, bad.encode())
    text = str(err.value)
    assert "lead_time_days must be a whole number of days >= 0 at row 2" in text
    assert "repeated supplier name at row 3" in text
    assert "item linked to an unknown supplier" in text and "at row 4" in text
    assert "pack_size must be a number > 0 at row 5" in text
    assert table_counts(database) == before
    assert purchasing.suppliers(a)["name"].tolist() == ["Acme"]


def test_proposal_rounds_to_the_suppliers_pack_and_approval_puts_it_on_order(world):
    data, purchasing, a, _ = world
    lines = purchasing.propose(a, today=TODAY).lines.set_index("item_id")
    assert sorted(lines.index) == ["LOW", "NOSUP"]  # HIGH is far above its order-up-to level
    low = lines.loc["LOW"]
    assert low["supplier"] == "Acme" and low["qty_rounded"] % 12 == 0 and low["qty_rounded"] >= low["qty_needed"]
    assert low["qty_rounded"] - low["qty_needed"] < 12 and low["unit_cost"] == 2.5
    # no supplier: the item's own pack size (7) from the inventory file
    nosup = lines.loc["NOSUP"]
    assert nosup["supplier"] == "" and nosup["qty_rounded"] % 7 == 0
    assert 0 <= nosup["qty_rounded"] - nosup["qty_needed"] < 7

    assert purchasing.approve(a, None, today=TODAY) == 2
    inv = data.inventory(a).set_index("item_id")
    assert inv.loc["LOW", "on_order"] == low["order_qty"]
    assert pd.Timestamp(inv.loc["LOW", "on_order_due"]).date() == TODAY + timedelta(days=10)  # supplier lead time
    assert pd.Timestamp(inv.loc["NOSUP", "on_order_due"]).date() == TODAY + timedelta(days=3)  # the item's own
    # the stock projection (the Reorder page's chart) shows the approved order arriving on its due day
    projection = purchasing.forecasts.reorder_plan(a, ["LOW"]).projection.set_index("date")
    due = pd.Timestamp(TODAY + timedelta(days=10))
    jump = projection.loc[due, "projected_stock"] - projection.loc[due - pd.Timedelta(days=1), "projected_stock"]
    assert jump == pytest.approx(low["order_qty"] - projection.loc[due, "expected_demand"])
    history = purchasing.lines(a, ("approved",))
    assert len(history) == 2 and (history["state"] == "approved").all() and history["approved_at"].notna().all()
    # the next proposal counts the approved stock on order and does not propose the same lines again
    again = purchasing.propose(a, today=TODAY).lines
    assert "LOW" not in set(again["item_id"]) and "NOSUP" not in set(again["item_id"])


def test_edits_need_a_reason_and_approve_single_orders(world):
    _, purchasing, a, _ = world
    lines = purchasing.propose(a, today=TODAY).lines.set_index("item_id")
    line = int(lines.loc["LOW", "line"])
    with pytest.raises(InvalidInputError, match="reason"):
        purchasing.edit_line(a, line, 48, "", None)
    purchasing.edit_line(a, line, 48, "promotion next week", None)
    purchasing.remove_line(a, int(lines.loc["NOSUP", "line"]), "bought locally", None)
    after = purchasing.lines(a).set_index("item_id")
    assert after.loc["LOW", "order_qty"] == 48 and after.loc["LOW", "edit_reason"] == "promotion next week"
    assert after.loc["LOW", "order_value"] == 120.0 and after.loc["NOSUP", "state"] == "removed"
    assert purchasing.approve(a, None, orders=[lines.loc["LOW", "order"]], today=TODAY) == 1


def test_po_export_sums_equal_the_orders_totals_and_are_formula_safe(world):
    _, purchasing, a, _ = world
    purchasing.propose(a, today=TODAY)
    purchasing.approve(a, None, today=TODAY)
    totals = purchasing.orders(purchasing.lines(a, ("approved",)))
    acme = totals[totals["supplier"] == "Acme"].iloc[0]
    csv = pd.read_csv(io.BytesIO(purchasing.export_csv(a, "Acme")))
    assert csv["order_value"].sum() == pytest.approx(acme["value"]) and csv["order_qty"].sum() == acme["units"]
    assert csv["supplier_item_code"].tolist() == ["'=ACME-LOW"]  # neutralised, never run as a formula
    book = openpyxl.load_workbook(io.BytesIO(purchasing.export_xlsx(a, "Acme")))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    values = [row[header.index("order_value")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(values) == pytest.approx(acme["value"])


def test_tenant_isolation_of_suppliers_proposals_and_orders(world):
    _, purchasing, a, b = world
    a_lines = purchasing.propose(a, today=TODAY).lines
    assert purchasing.suppliers(b).empty and purchasing.links(b).empty
    assert purchasing.lines(b).empty
    b_lines = purchasing.propose(b, today=TODAY).lines
    assert (b_lines["supplier"] == "").all()  # B's items have no supplier: A's links never leak
    with pytest.raises(NotFoundError):
        purchasing.approve(b, None, orders=[a_lines["order"].iloc[0]], today=TODAY)
    with pytest.raises(NotFoundError):
        purchasing.edit_line(b, int(a_lines["line"].iloc[0]), 5, "x", None)
    with pytest.raises(NotFoundError):
        purchasing.approve(b, None, lines=[int(a_lines["line"].iloc[0])], today=TODAY)
    assert (purchasing.lines(a)["state"] == "draft").all()
