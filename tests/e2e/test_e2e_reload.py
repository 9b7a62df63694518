"""A browser reload keeps the page's selections and result; tables use the page's height at 1440 px (Chromium).

Screenshots go to tests/artifacts/ (git-ignored): 13_* at 1440x900.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import browser_steps as steps
from tests.support.demo_database import PLANNER

pytestmark = pytest.mark.browser

WIDE = {"width": 1440, "height": 900}


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport=WIDE, accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def _table_boxes(page) -> list[dict]:
    """Each visible dataframe: its box height, the height of its rows, and whether columns are cut off."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
      .filter(el => el.offsetParent)
      .map(el => {
        const scroller = el.querySelector('.dvn-scroller');
        return {height: el.getBoundingClientRect().height,
                clientWidth: scroller ? scroller.clientWidth : 0, scrollWidth: scroller ? scroller.scrollWidth : 0,
                clientHeight: scroller ? scroller.clientHeight : 0, scrollHeight: scroller ? scroller.scrollHeight : 0};
      })""")


def _scroll_to(page, heading: str) -> None:
    """The heading at the top of the window (the tables below it in view for the screenshot)."""
    page.get_by_role("heading", name=heading).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


def _settles(page, read, expected, timeout_ms: int = 30_000) -> None:
    """Assert that ``read()`` shows ``expected`` once the restored widgets have rendered (up to ``timeout_ms``)."""
    for _ in range(timeout_ms // 500):
        if read() == expected:
            return
        page.wait_for_timeout(500)
    assert read() == expected


def test_forecast_reload_keeps_selections_and_result(app_server, wide_page, artifacts):
    page = wide_page
    steps.log_in(page, app_server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Forecast")
    steps.pick_top(page, 20)
    chosen = steps.chosen_items(page)
    page.get_by_text("Score on held-out days").click()
    steps.wait_idle(page)
    steps.run_forecast(page)
    expect(page.get_by_role("heading", name="Accuracy on the held-out days")).to_be_visible()
    assert "shown=fc" in page.url and "score=1" in page.url
    _scroll_to(page, "Accuracy on the held-out days")
    steps.screenshot(page, artifacts, "13_forecast_scored_1440")
    # the 21-row metrics table (20 items and all items) is one box without ten-row scrolling or cut columns
    boxes = _table_boxes(page)
    assert boxes and all(b["scrollWidth"] <= b["clientWidth"] + 1 for b in boxes), boxes
    assert max(b["height"] for b in boxes) > 35 * 12, boxes

    page.reload()
    page.locator('[data-testid="stApp"]').wait_for()
    steps.wait_idle(page)
    expect(page.get_by_role("heading", name="Forecast", level=1)).to_be_visible()
    steps.chart_visible(page)
    expect(page.get_by_role("heading", name="Accuracy on the held-out days")).to_be_visible()
    _settles(page, lambda: steps.chosen_items(page), chosen)
    expect(page.get_by_role("switch", name="Score on held-out days")).to_be_checked()
    _settles(page, lambda: steps.chips(page, "Bands"), ["50%", "80%"])
    expect(page.get_by_test_id("stException")).to_have_count(0)
    steps.screenshot(page, artifacts, "13b_forecast_after_reload_1440")


def test_compare_at_1440_px_shows_whole_tables_and_survives_a_reload(app_server, wide_page, artifacts):
    page = wide_page
    steps.log_in(page, app_server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Compare models")
    steps.pick_top(page, 5)
    models = page.get_by_test_id("stMultiSelect").filter(has_text="Models")
    for label in ("Croston SBA", "SES"):
        models.locator("input").click()  # the box's text field, not wherever its middle falls (a chip)
        page.keyboard.type(label)  # filter the list: options below its fold are not in the page
        page.get_by_role("option", name=label, exact=True).click()
        steps.wait_idle(page)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Compare").click()
    steps.chart_visible(page)
    steps.wait_idle(page)
    expect(page.get_by_role("heading", name="All items: metrics side by side")).to_be_visible()
    chosen_models = steps.chips(page, "Models")
    assert len(chosen_models) == 4
    _scroll_to(page, "Best for")
    steps.screenshot(page, artifacts, "13c_compare_tables_1440")
    _scroll_to(page, "All items: metrics side by side")
    steps.screenshot(page, artifacts, "13d_compare_more_tables_1440")
    boxes = _table_boxes(page)
    assert len(boxes) >= 3
    for box in boxes:  # every row and column in view: no ten-row box, no sideways scrolling
        assert box["scrollWidth"] <= box["clientWidth"] + 1, boxes
        assert box["scrollHeight"] <= box["clientHeight"] + 1, boxes

    page.reload()
    page.locator('[data-testid="stApp"]').wait_for()
    steps.wait_idle(page)
    steps.chart_visible(page)
    expect(page.get_by_role("heading", name="All items: metrics side by side")).to_be_visible()
    _settles(page, lambda: steps.chips(page, "Models"), chosen_models)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_run_history_at_1440_px_shows_every_column(app_server, wide_page, artifacts):
    page = wide_page
    steps.log_in(page, app_server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Forecast")
    steps.pick_top(page, 5)
    steps.run_forecast(page)
    steps.go_to(page, "Data")
    page.get_by_role("tab", name="Run history").click()
    steps.wait_idle(page)
    steps.screenshot(page, artifacts, "13e_run_history_1440")
    boxes = _table_boxes(page)
    assert boxes and all(b["scrollWidth"] <= b["clientWidth"] + 1 for b in boxes), boxes
    expect(page.get_by_role("button", name="CSV", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Excel", exact=True)).to_be_visible()
