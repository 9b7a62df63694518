"""Orders page in a real browser (issue 19): propose, approve, the PO download's sums equal the totals on screen."""
from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.e2e import browser_steps as steps
from tests.support.demo_database import PLANNER

pytestmark = pytest.mark.browser


def _metric(page, label: str) -> float:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return float(box.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def test_propose_add_a_line_approve_and_the_csv_and_excel_downloads_add_up_to_the_page(app_server, page, artifacts):
    steps.log_in(page, app_server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Orders")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Draft units")).to_be_visible(timeout=60_000)
    steps.wait_idle(page)
    units_before = _metric(page, "Draft units")
    adding = page.get_by_test_id("stExpander").filter(has_text="Add a line")
    adding.locator("summary").click()
    steps.choose_option(page, adding.get_by_test_id("stSelectbox").filter(has_text="Item of"),
                        page.get_by_role("option").first)
    steps.wait_idle(page)
    quantity = adding.get_by_label("Quantity", exact=True)
    quantity.fill("13")
    quantity.press("Enter")
    steps.wait_idle(page)
    reason = adding.get_by_label("Reason")
    reason.fill("shelf display")
    reason.press("Enter")
    steps.wait_idle(page)
    adding.get_by_role("button", name="Add line").click()
    steps.wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, errors.all_inner_texts()
    assert _metric(page, "Draft units") == pytest.approx(units_before + 13)
    steps.screenshot(page, artifacts, "orders_line_added")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Approved value")).to_be_visible(timeout=60_000)
    steps.wait_idle(page)
    approved_value, approved_units = _metric(page, "Approved value"), _metric(page, "Approved units")
    assert approved_units == pytest.approx(units_before + 13)
    with page.expect_download() as info:
        page.get_by_role("button", name="CSV", exact=True).first.click()
    csv = pd.read_csv(io.BytesIO(info.value.path().read_bytes()))
    with page.expect_download() as info:
        page.get_by_role("button", name="Excel", exact=True).first.click()
    book = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()), read_only=True)
    rows = list(book["data"].iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    assert csv["order_value"].sum() == pytest.approx(approved_value, abs=0.01)
    assert sum(r[header.index("order_value")] or 0 for r in body) == pytest.approx(approved_value, abs=0.01)
    assert csv["order_qty"].sum() == sum(r[header.index("order_qty")] for r in body) == approved_units
    # the next proposal does not repeat the approved lines (they are stock on order now)
    page.get_by_role("button", name="Propose").click()
    steps.wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    repeated = page.get_by_test_id("stMetric").filter(has_text="Draft units")
    assert repeated.count() == 0 or _metric(page, "Draft units") < approved_units
