"""Issue 19 through the service on both databases: supplier import, proposals, edits, approval, exports, isolation."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pandas as pd
import pytest

from forecasting.applications.exceptions.rules import URGENT
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
supplier,Delta,100000,,
item,Beta,,NOSUP,1e12
"""
    before = table_counts(database)
    with pytest.raises(InvalidInputError) as err:
        purchasing.import_suppliers(a, bad.encode())
    text = str(err.value)
    # -2, and 100000: beyond any forecast
    assert "lead_time_days must be a whole number of days >= 0 (at most 365) at rows 2, 6" in text
    assert "pack_size beyond the limit of 1,000,000,000 at row 7" in text
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
    # approved lines are arrivals of their own, not folded into the item's imported stock on order
    assert (data.inventory(a)["on_order"] == 0).all()
    arrivals = data.arrivals(a).set_index("item_id")
    assert arrivals.loc["LOW", "quantity"] == low["order_qty"]
    assert pd.Timestamp(arrivals.loc["LOW", "due_date"]).date() == TODAY + timedelta(days=10)  # supplier lead time
    assert pd.Timestamp(arrivals.loc["NOSUP", "due_date"]).date() == TODAY + timedelta(days=3)  # the item's own
    # the reorder plan counts them: in the position and the table's on order, arriving on their due day
    plan = purchasing.forecasts.reorder_plan(a, ["LOW"])
    row = plan.table.iloc[0]
    assert row["on_order"] == low["order_qty"] and row["inventory_position"] == low["order_qty"]  # on hand 0
    assert pd.Timestamp(row["on_order_due"]).date() == TODAY + timedelta(days=10)
    # the stock projection (the Reorder page's chart) shows the approved order arriving on its due day
    projection = plan.projection.set_index("date")
    due = pd.Timestamp(TODAY + timedelta(days=10))
    jump = projection.loc[due, "projected_stock"] - projection.loc[due - pd.Timedelta(days=1), "projected_stock"]
    assert jump == pytest.approx(low["order_qty"] - projection.loc[due, "expected_demand"])
    history = purchasing.lines(a, ("approved",))
    assert len(history) == 2 and (history["state"] == "approved").all() and history["approved_at"].notna().all()
    # the next proposal counts the approved arrivals and does not propose the same lines again
    again = purchasing.propose(a, today=TODAY).lines
    assert "LOW" not in set(again["item_id"]) and "NOSUP" not in set(again["item_id"])


def test_two_approved_lines_of_an_item_arrive_each_on_its_day_until_a_later_inventory_snapshot(world):
    data, purchasing, a, _ = world
    low = purchasing.propose(a, today=TODAY).lines.set_index("item_id").loc["LOW"]
    purchasing.edit_line(a, int(low["line"]), 12, "first a small order", None)  # leaves LOW short
    purchasing.approve(a, None, orders=[low["order"]], today=TODAY)
    again = purchasing.propose(a, today=TODAY + timedelta(days=5)).lines.set_index("item_id")
    assert again.loc["LOW", "qty_needed"] == pytest.approx(low["qty_needed"] - 12)  # the 12 are counted
    purchasing.approve(a, None, orders=[again.loc["LOW", "order"]], today=TODAY + timedelta(days=5))
    arrivals = data.arrivals(a)
    assert arrivals["quantity"].tolist() == [12.0, again.loc["LOW", "order_qty"]]
    due = [pd.Timestamp(TODAY + timedelta(days=d)) for d in (10, 15)]
    assert pd.to_datetime(arrivals["due_date"]).tolist() == due
    plan = purchasing.forecasts.reorder_plan(a, ["LOW"])
    assert plan.table["on_order"].iloc[0] == 12 + again.loc["LOW", "order_qty"]
    assert pd.Timestamp(plan.table["on_order_due"].iloc[0]) == due[0]  # the earliest arrival
    stock = plan.projection.set_index("date")
    for day, qty in zip(due, arrivals["quantity"]):
        step = stock.loc[day, "projected_stock"] - stock.loc[day - pd.Timedelta(days=1), "projected_stock"]
        assert step == pytest.approx(qty - stock.loc[day, "expected_demand"])
    assert (data.inventory(a)["on_order"] == 0).all()  # the imported stock on order is untouched
    # a snapshot dated after the approval day holds them (its on hand / on order): they no longer count
    later = PurchasingService.order_date() + timedelta(days=1)
    data.import_inventory(a, inventory_frame(["LOW", "HIGH", "NOSUP"]).assign(on_hand=[500.0, 1000.0, 0.0]),
                          as_of=later)
    assert data.arrivals(a).empty


def test_approval_is_due_today_plus_the_lead_time_on_the_real_calendar(world):
    data, purchasing, a, _ = world
    purchasing.propose(a, today=TODAY)
    purchasing.approve(a, None)  # no date given: the real today, not the data's as-of date (2024-02-29)
    today = datetime.now(UTC).date()
    due = data.arrivals(a).set_index("item_id")["due_date"].map(lambda d: pd.Timestamp(d).date())
    assert due.to_dict() == {"LOW": today + timedelta(days=10), "NOSUP": today + timedelta(days=3)}
    history = purchasing.lines(a, ("approved",))
    assert (pd.to_datetime(history["approved_at"], utc=True).dt.date == today).all()


def test_supplier_terms_win_at_read_time_and_the_items_own_fields_stay(world):
    data, purchasing, a, b = world
    # the import left the items' own fields alone (inventory file: lead 3, pack 1, cost 2)
    own = data.list_items(a, ["LOW"]).iloc[0]
    assert (own["lead_time_days"], own["pack_size"], own["unit_cost"]) == (3, 1.0, 2.0)
    planned = data.inventory(a).set_index("item_id")
    assert planned.loc["LOW", ["lead_time_days", "pack_size", "unit_cost"]].tolist() == [10, 12.0, 2.5]
    assert planned.loc["NOSUP", ["lead_time_days", "pack_size"]].tolist() == [3, 7.0]  # no supplier: its own
    # a client without suppliers plans with the inventory file's terms
    assert data.inventory(b).set_index("item_id").loc["LOW", ["lead_time_days", "pack_size"]].tolist() == [3, 1.0]
    table = purchasing.forecasts.reorder(a, ["LOW"])
    assert table["lead_time_days"].iloc[0] == 10 and table["order_qty"].iloc[0] % 12 == 0
    # an item's link override beats its supplier's lead time; without the link the item's own fields apply again
    purchasing.save_link(a, {"item_id": "LOW", "supplier": "Acme", "pack_size": "6", "lead_time_days": "4"})
    assert data.inventory(a).set_index("item_id").loc["LOW", ["lead_time_days", "pack_size"]].tolist() == [4, 6.0]
    purchasing.delete_link(a, "LOW")
    assert data.inventory(a).set_index("item_id").loc["LOW", ["lead_time_days", "pack_size", "unit_cost"]
                                                      ].tolist() == [3, 1.0, 2.0]


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


def test_the_attention_queue_counts_approved_orders(world):
    _, purchasing, a, _ = world

    def urgent() -> set[str]:
        queue = purchasing.forecasts.exceptions(a).queue
        return set(queue.loc[queue["reason"].isin(URGENT), "item_id"])

    assert {"LOW", "NOSUP"} <= urgent()
    low = purchasing.propose(a, today=TODAY).lines.set_index("item_id").loc["LOW"]
    # ordered ten days before the data's as-of date: due on it, so it is in stock from the first forecast day
    purchasing.approve(a, None, orders=[low["order"]], today=TODAY - timedelta(days=10))
    assert "LOW" not in urgent() and "NOSUP" in urgent()
