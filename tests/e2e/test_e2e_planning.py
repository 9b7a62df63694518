"""The planner's judgement in the loop, in a real browser (issue 18): make the plan, override one item's next four
weeks, see plan and final on the chart, the Reorder page's order quantity follow, the change in the item's history,
and forecast value added once the actuals are uploaded on the Data page (which makes the plan again)."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from forecasting.services.container import build_services
from tests.e2e import browser_steps as steps
from tests.e2e.app_server import AppServer, running_server
from tests.support.demo_database import PLANNER

pytestmark = pytest.mark.browser

CHANGE = 100  # percent: the item's demand doubles over the override's four weeks
WEEKS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[AppServer]:
    """A server of its own: this walk-through publishes a plan and overrides it, which the other e2e tests'
    reorder tables must not see."""
    with running_server("app-e2e-plan-") as server:
        yield server


@pytest.fixture(scope="module")
def services(server):
    """The server's database, reached directly for the reference numbers."""
    services = build_services(server.database_url)
    yield services
    services.database.dispose()


def _download(page: Page, button) -> pd.DataFrame:
    with page.expect_download() as info:
        button.click()
    return pd.read_csv(io.BytesIO(info.value.path().read_bytes()), keep_default_na=False)


def _pick_item(page: Page, item: str) -> None:
    """Choose ``item`` in the page's Items picker (type, pick the option, close the list); the pages share it."""
    if item in steps.chosen_items(page):
        return
    box = steps.multiselect_input(page, "Items")
    box.click()
    box.fill(item)
    page.get_by_role("option").filter(has_text=item).first.click()
    page.keyboard.press("Escape")
    steps.wait_idle(page)


def _plan_traces(page: Page) -> dict[str, np.ndarray]:
    traces = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
      .map(p => (p._fullData || p.data).map(t => ({name: t.name, y: Array.from(t.y || [])})))
      .find(ts => ts.some(t => t.name === 'Final')) || []""")
    return {t["name"]: np.asarray(t["y"], dtype=float) for t in traces}


def _reorder_row(page: Page, item: str) -> pd.Series:
    steps.go_to(page, "Reorder")
    page.get_by_text("Chosen items", exact=True).click()
    steps.wait_idle(page)
    _pick_item(page, item)
    page.get_by_role("button", name="Compute").click()
    expect(page.get_by_text("Demand: plan")).to_be_visible(timeout=60_000)
    steps.wait_idle(page)
    table = _download(page, page.get_by_role("button", name="CSV", exact=True).first)
    return table.set_index("item_id").loc[item]


def test_a_planner_overrides_four_weeks_and_sees_it_in_chart_reorder_history_and_fva(server, services, page,
                                                                                     artifacts, tmp_path):
    client = services.data.client_by_name("Demo Foods").client_id
    services.planning.set_planning_model(client, "ma7")  # the admin's setting (auto by default): quick here
    # the item: one the ma7 demand already reorders, in packs far smaller than its order-up-to level, so that a
    # doubled demand must show in its order quantity
    fresh = services.forecasts.reorder(client, None, "ma7")
    packs = services.data.inventory(client).set_index("item_id")["pack_size"]
    due = fresh[(fresh["action"] == "reorder") & (fresh["order_qty"] > 0)].set_index("item_id")
    item = str((due["order_up_to"] / packs.reindex(due.index)).idxmax())

    steps.log_in(page, server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Forecast")
    page.get_by_role("button", name="Make the plan").click()
    expect(page.get_by_text("Reorder and Attention use it with its overrides")).to_be_visible(timeout=120_000)
    steps.wait_idle(page)
    plan = services.planning.current_plan(client)
    assert plan is not None and plan.model == "ma7"
    before = _reorder_row(page, item)
    assert before["model"] == f"plan {plan.plan_id} (ma7, as of {plan.as_of})"

    # the override: the item's next four weeks (the form's default range) +100 %, for a promotion
    steps.go_to(page, "Forecast")
    _pick_item(page, item)
    expect(page.get_by_role("combobox", name="Item", exact=True).first).to_have_value(re.compile(f"^{item} "))
    page.get_by_text("Override a date range").click()
    change = page.get_by_label("Change", exact=True)
    change.fill(str(CHANGE))
    change.press("Enter")
    steps.wait_idle(page)
    steps.choose_option(page, page.get_by_test_id("stSelectbox").filter(has_text="Reason").last,
                        page.get_by_role("option", name="promotion", exact=True))
    page.get_by_role("button", name="Apply override").click()
    expect(page.get_by_text(f"Changes to {item}")).to_be_visible()
    steps.chart_visible(page)
    steps.wait_idle(page)
    steps.screenshot(page, artifacts, "12_plan_override")

    traces = _plan_traces(page)  # the chart: baseline (Plan) and Final
    days = 7 * WEEKS
    np.testing.assert_allclose(traces["Final"][:days], traces["Plan"][:days] * (1 + CHANGE / 100), rtol=1e-9)
    np.testing.assert_allclose(traces["Final"][days:], traces["Plan"][days:], rtol=1e-9)
    history = _download(page, page.get_by_role("button", name="CSV", exact=True).last)
    assert len(history) == 1
    record = history.iloc[0]
    assert (record["item_id"], record["change"], record["kind"], record["reason"], record["created_by"]) == (
        item, CHANGE, "percent", "promotion", PLANNER.username)
    first = pd.Timestamp(plan.as_of) + pd.Timedelta(days=1)
    assert (record["start_date"], record["end_date"]) == (str(first.date()), str((first + pd.Timedelta(days=days - 1))
                                                                                 .date()))
    assert float(record["new_value"]) == pytest.approx(2 * float(record["old_value"]), rel=1e-4)

    after = _reorder_row(page, item)  # the Reorder page uses the plan with the override
    expected = services.forecasts.reorder(client, [item]).set_index("item_id").loc[item]
    assert float(after["order_up_to"]) == pytest.approx(float(expected["order_up_to"]), abs=0.01)
    assert float(after["order_qty"]) == float(expected["order_qty"]) > float(before["order_qty"])
    assert float(after["order_up_to"]) > float(before["order_up_to"])

    # a week of actuals for every item, uploaded on the Data page: the import makes the plan again
    _, final = services.planning.final(client)
    week = final[final["date"] <= pd.Timestamp(first) + pd.Timedelta(days=6)]
    items = services.data.list_items(client)["item_id"]
    actuals = pd.DataFrame([{"item_id": i, "date": str((first + pd.Timedelta(days=k)).date()), "quantity": 5}
                            for i in items for k in range(7)])
    actuals.loc[actuals["item_id"] == item, "quantity"] = 30
    path = tmp_path / "actuals.csv"
    actuals.to_csv(path, index=False)
    steps.go_to(page, "Data")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
    steps.wait_idle(page)
    move = page.get_by_test_id("stCheckbox")
    if move.count():  # discontinued items get zero days: the page asks to confirm the new as-of date
        move.first.click()
        steps.wait_idle(page)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Imported sales")).to_contain_text(
        "(made), as of", timeout=120_000)
    steps.wait_idle(page)
    assert services.planning.current_plan(client).plan_id != plan.plan_id

    # forecast value added on the Compare page, against a hand computation of the item's week
    steps.go_to(page, "Compare models")
    expect(page.get_by_role("heading", name="Forecast value added")).to_be_visible()
    steps.wait_idle(page)
    fva = _download(page, page.get_by_role("button", name="CSV", exact=True).last).set_index(["level", "key"])
    mine = week[week["item_id"] == item]
    actual = 30.0 * 7
    wape_plan = 100 * np.abs(mine["baseline"] - 30).sum() / actual
    wape_final = 100 * np.abs(mine["final"] - 30).sum() / actual
    row = fva.loc[("item", item)]
    assert int(row["buckets"]) == 7
    assert float(row["wape_plan"]) == pytest.approx(wape_plan, abs=0.01)
    assert float(row["wape_final"]) == pytest.approx(wape_final, abs=0.01)
    assert float(row["fva_final"]) == pytest.approx(wape_plan - wape_final, abs=0.02)
    assert int(fva.loc[("reason", "promotion"), "buckets"]) == 7
    assert int(fva.loc[("user", PLANNER.username), "buckets"]) == 7
    steps.screenshot(page, artifacts, "13_fva")
