"""Orders page through AppTest (issue 19): propose, edit with a reason, approve; totals equal the exports' sums."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from forecasting.services.purchasing import PurchasingService
from tests.support.app import login, open_page, table_with
from tests.support.demo_database import OTHER_CLIENT_PLANNER, PLANNER


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
