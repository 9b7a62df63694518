"""Weeks and months in a real browser (issue 17): a planner with daily data switches Forecast and Reorder to
weeks and back, and the chart and the download agree; a planner with a monthly client sees months on every page."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.users import UserService
from forecasting.storage import open_database
from tests.e2e import browser_steps as steps
from tests.support.demo_database import PLANNER, TEST_BCRYPT_ROUNDS

pytestmark = pytest.mark.browser

MAIN_PAGES = ("Attention", "Forecast", "Compare models", "Reorder", "Data")


def _pick_bucket(page, label: str) -> None:
    page.get_by_test_id("stRadio").filter(has_text="Bucket").get_by_text(label, exact=True).click()
    steps.wait_idle(page)


def _set_horizon(page, unit: str, bounds: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=f"Horizon ({unit}, {bounds})")
    box.fill(str(value))
    box.press("Enter")
    steps.wait_idle(page)


def _traces(page) -> dict[str, dict]:
    """The first plotly chart's traces as drawn (name -> x, y), read from the page (plotly's decoded arrays)."""
    data = page.locator(steps.CHART).first.evaluate(
        "e => e._fullData.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}))")
    return {t["name"]: t for t in data}


def _download(page, button: str = "CSV"):
    with page.expect_download() as info:
        page.get_by_role("button", name=button, exact=True).first.click()
    download = info.value
    return download.suggested_filename, download.path().read_bytes()


def _steps_apart(dates) -> set[int]:
    return set(np.diff(pd.to_datetime(pd.Series(dates))).astype("timedelta64[D]").astype(int))


def _forecast_agrees_with_its_download(page, suffix: str) -> pd.Timedelta:
    traces = _traces(page)
    item = page.locator(steps.CHART).first.locator(".gtitle").text_content().split(" ")[0]
    name, body = _download(page)
    assert name.endswith(f"_{suffix}.csv"), name
    table = pd.read_csv(io.BytesIO(body), parse_dates=["date"])
    mine = table[table["item_id"] == item]
    assert list(pd.to_datetime(traces["Forecast"]["x"])) == list(mine["date"])
    np.testing.assert_allclose(traces["Forecast"]["y"], mine["forecast"], atol=0.006)  # downloads keep 2 decimals
    return mine["date"].iloc[1] - mine["date"].iloc[0]


def test_a_daily_planner_switches_forecast_and_reorder_to_weeks_and_back(app_server, page, artifacts):
    steps.log_in(page, app_server.url, PLANNER.username, PLANNER.password)
    steps.go_to(page, "Forecast")
    steps.pick_top(page, 5)
    _pick_bucket(page, "Weeks")
    _set_horizon(page, "weeks", "1-104", 8)
    steps.run_forecast(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("8 weeks")
    assert _forecast_agrees_with_its_download(page, "weekly") == pd.Timedelta(days=7)
    assert _steps_apart(_traces(page)["History"]["x"]) == {7}
    steps.screenshot(page, artifacts, "17_forecast_weeks")

    _pick_bucket(page, "Days")
    _set_horizon(page, "days", "1-365", 14)
    steps.run_forecast(page)
    assert _forecast_agrees_with_its_download(page, "daily") == pd.Timedelta(days=1)

    steps.go_to(page, "Reorder")
    _pick_bucket(page, "Weeks")
    page.get_by_role("button", name="Compute").click()
    steps.chart_visible(page)
    steps.wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("In weeks: daily, in weeks")
    name, body = _download(page)
    assert name.endswith("_weekly.csv"), name
    table = pd.read_csv(io.BytesIO(body)).set_index("item_id").sort_index()
    database = open_database(app_server.database_url, migrate=False)
    try:
        data = DataAccess(database)
        client = data.client_by_name("Demo Foods").client_id
        expected = ForecastService(data).reorder_plan(client, model="ma7", bucket="W")
    finally:
        database.dispose()
    shown = expected.table.set_index("item_id").sort_index()
    assert list(table.index) == list(shown.index)
    np.testing.assert_allclose(table["lead_time_demand"], shown["lead_time_demand"].round(2), atol=0.006)
    # the projection drawn: weekly steps of the service's projection of the item in the chart
    item = page.locator(steps.CHART).first.locator(".gtitle").text_content().split(" ")[0]
    projection = expected.projection[expected.projection["item_id"] == item]
    drawn = _traces(page)["Projected stock"]
    np.testing.assert_allclose(drawn["y"][1:], projection["projected_stock"], rtol=1e-9)
    assert _steps_apart(drawn["x"][1:]) == {7}
    steps.screenshot(page, artifacts, "17_reorder_weeks")

    _pick_bucket(page, "Days")
    page.get_by_role("button", name="Compute").click()
    steps.chart_visible(page)
    steps.wait_idle(page)
    name, _ = _download(page)
    assert name.endswith("_daily.csv"), name
    assert _steps_apart(_traces(page)["Projected stock"]["x"][1:]) == {1}


@pytest.fixture
def monthly_login(app_server):
    """A monthly client with a planner in the server's database (three years of months, two items)."""
    database = open_database(app_server.database_url, migrate=False)
    try:
        data = DataAccess(database)
        client = data.create_client("Monthly Parts").client_id
        dates = pd.date_range("2021-01-01", periods=36, freq="MS")
        rng = np.random.default_rng(11)
        data.import_sales(client, pd.DataFrame({"item_id": np.repeat(["MP-1", "MP-2"], 36),
                                                "date": np.tile(dates, 2),
                                                "quantity": rng.poisson(30, 72).astype(float)}))
        data.import_inventory(client, pd.DataFrame({"item_id": ["MP-1", "MP-2"], "on_hand": [20.0, 90.0],
                                                    "on_order": 0.0, "lead_time_days": [40, 15]}))
        UserService(database, TEST_BCRYPT_ROUNDS).create_user(client, "parts-planner", "parts-pass-1", "planner")
    finally:
        database.dispose()
    return "parts-planner", "parts-pass-1"


def test_a_planner_with_a_monthly_client_sees_months_on_every_page(app_server, page, artifacts, monthly_login):
    steps.log_in(page, app_server.url, *monthly_login)
    for title in MAIN_PAGES:
        steps.go_to(page, title)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Data as of 2023-12-01, monthly (1st)")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        if title in ("Forecast", "Compare models", "Reorder"):
            switch = page.get_by_test_id("stRadio").filter(has_text="Bucket")
            expect(switch.get_by_text("Months", exact=True)).to_be_visible()
            expect(switch.get_by_text("Days", exact=True)).to_have_count(0)
            expect(switch.get_by_text("Weeks", exact=True)).to_have_count(0)
    steps.go_to(page, "Forecast")
    items = steps.multiselect_input(page, "Items")
    items.click()
    items.fill("MP-1")
    page.get_by_role("option").filter(has_text="MP-1").first.click()
    page.keyboard.press("Escape")
    _set_horizon(page, "months", "1-36", 6)
    steps.run_forecast(page)
    dates = pd.to_datetime(_traces(page)["Forecast"]["x"])
    assert list(dates) == list(pd.date_range("2024-01-01", periods=6, freq="MS"))
    name, body = _download(page)
    assert name == "forecast_monthly-parts_ma7_asof-2023-12-01_monthly.csv"
    assert list(pd.read_csv(io.BytesIO(body), parse_dates=["date"])["date"]) == list(dates)
    steps.screenshot(page, artifacts, "17_monthly_forecast")
