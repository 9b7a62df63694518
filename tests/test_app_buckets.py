"""The bucket on every page (issue 17) through AppTest: the days / weeks / months switch of daily data, and a
monthly client that sees months everywhere and cannot pick a finer bucket."""
from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from forecasting.core.calendar import Frequency
from tests.support.app import login, open_page, plotly_traces, table_with, texts
from tests.support.demo_database import PLANNER

ITEMS = ["DF-0001", "DF-0002"]


@pytest.fixture
def forecast_page(backend, monkeypatch, tmp_path):
    monkeypatch.setenv("CHRONOS_MODEL", str(tmp_path / "no-weights-here"))
    return open_page(login(PLANNER.username, PLANNER.password), "forecast")


def _forecast(at, bucket: str, horizon: int):
    at.radio(key="fc_bucket").set_value(bucket)
    at.multiselect(key="fc_items").set_value(ITEMS)
    at.number_input(key="fc_horizon").set_value(horizon)
    at.selectbox(key="fc_model").set_value("ses")
    at.button(key="fc_run").click()
    return at.run()


def _about(book: bytes) -> dict:
    return dict(openpyxl.load_workbook(io.BytesIO(book), read_only=True)["About"].iter_rows(min_row=2,
                                                                                          values_only=True))


def test_the_forecast_page_switches_a_daily_client_to_weeks_and_back(forecast_page, backend, downloads):
    at = forecast_page
    assert at.radio(key="fc_bucket").value == "D" and at.radio(key="fc_bucket").options == ["Days", "Weeks", "Months"]
    at = _forecast(at, "W", 6)
    assert not at.exception and not at.error, texts(at.error)
    assert at.number_input(key="fc_horizon").label == "Horizon (weeks, 1-104)"
    client = backend.client_id("Demo Foods")
    expected = backend.forecasts.forecast(client, ITEMS, "ses", 6, (0.1, 0.25, 0.5, 0.75, 0.9), bucket="W").forecast
    first = expected[expected["item_id"] == ITEMS[0]]
    # the chart: weekly totals, dated a week apart, from models fitted on weekly totals
    traces = {t["name"]: t for t in plotly_traces(at)}
    np.testing.assert_allclose(traces["Forecast"]["y"], first["forecast"].to_numpy())
    assert list(pd.to_datetime(traces["Forecast"]["x"])) == list(first["date"])
    assert (np.diff(pd.to_datetime(traces["History"]["x"])) == pd.Timedelta(days=7)).all()
    # the download: the same numbers, named and labelled in weeks
    as_of = backend.data.get_client(client).as_of
    name = f"forecast_demo-foods_ses_asof-{as_of}_weekly"
    csv = pd.read_csv(io.BytesIO(downloads[f"{name}.csv"]), parse_dates=["date"])
    np.testing.assert_allclose(csv["forecast"], expected["forecast"].round(2))
    assert list(csv["date"]) == list(expected["date"])
    weekday = Frequency("W", (pd.Timestamp(as_of).weekday() + 1) % 7)
    assert _about(downloads[f"{name}.xlsx"])["Bucket"].startswith("daily, in weeks ")
    assert expected["date"].dt.weekday.eq(weekday.anchor).all()

    at = _forecast(at, "D", 14)  # and back to days
    assert not at.error and at.number_input(key="fc_horizon").label == "Horizon (days, 1-365)"
    traces = {t["name"]: t for t in plotly_traces(at)}
    assert (np.diff(pd.to_datetime(traces["Forecast"]["x"])) == pd.Timedelta(days=1)).all()
    assert f"forecast_demo-foods_ses_asof-{as_of}_daily.csv" in downloads


def test_a_horizon_beyond_the_months_bounds_is_refused_in_months(forecast_page):
    at = _forecast(forecast_page, "M", 40)
    assert texts(at.error) == ["Forecast failed: horizon must be between 1 and 36 months, got 40"]
    assert at.number_input(key="fc_horizon").value == 40


def test_the_reorder_page_plans_in_weeks(backend, monkeypatch, tmp_path):
    monkeypatch.setenv("CHRONOS_MODEL", str(tmp_path / "no-weights-here"))
    at = open_page(login(PLANNER.username, PLANNER.password), "reorder")
    at.radio(key="ro_bucket").set_value("W")
    at.selectbox(key="ro_model").set_value("ma7")
    at.button(key="ro_run").click()
    at = at.run()
    assert not at.exception and not at.error, texts(at.error)
    client = backend.client_id("Demo Foods")
    expected = backend.forecasts.reorder_plan(client, model="ma7", bucket="W").table
    shown = table_with(at, "reorder_point", "lead_time_demand")
    np.testing.assert_allclose(shown.sort_values("item_id")["lead_time_demand"].to_numpy(),
                               expected.sort_values("item_id")["lead_time_demand"].to_numpy(), rtol=1e-9)
    assert any("In weeks: daily, in weeks " in c for c in texts(at.caption))


@pytest.fixture
def monthly_planner(backend):
    client = backend.data.create_client("Monthly Co").client_id
    dates = pd.date_range("2021-01-01", periods=36, freq="MS")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"item_id": np.repeat(["M-1", "M-2"], 36), "date": np.tile(dates, 2),
                          "quantity": rng.poisson(40, 72).astype(float)})
    backend.data.import_sales(client, frame)
    backend.data.import_inventory(client, pd.DataFrame({"item_id": ["M-1", "M-2"], "on_hand": [30.0, 80.0],
                                                        "on_order": 0.0, "lead_time_days": [45, 20]}))
    backend.users.create_user(client, "monthly", "monthly-pass-1")
    return login("monthly", "monthly-pass-1")


@pytest.mark.parametrize("url, key", [("forecast", "fc"), ("compare", "cmp"), ("reorder", "ro")])
def test_a_monthly_client_sees_months_on_every_page_and_no_finer_bucket(monthly_planner, url, key):
    at = open_page(monthly_planner, url)
    assert not at.exception
    assert "Data as of **2023-12-01**, monthly (1st)" in texts(at.sidebar.markdown)
    # stale: December's sales are long over; the next forecast starts on the next month, not the next day
    assert any("every forecast starts on 2024-01-01" in w for w in texts(at.sidebar.warning))
    switch = at.radio(key=f"{key}_bucket")
    assert switch.options == ["Months"] and switch.value == "M" and switch.disabled
    if url != "reorder":
        assert at.number_input(key=f"{key}_horizon").label == "Horizon (months, 1-36)"


def test_a_monthly_client_forecasts_and_downloads_months(monthly_planner, backend, downloads):
    at = open_page(monthly_planner, "forecast")
    at.multiselect(key="fc_items").set_value(["M-1"])
    at.number_input(key="fc_horizon").set_value(4)
    at.selectbox(key="fc_model").set_value("ma7")
    at.button(key="fc_run").click()
    at = at.run()
    assert not at.exception and not at.error, texts(at.error)
    traces = {t["name"]: t for t in plotly_traces(at)}
    assert list(pd.to_datetime(traces["Forecast"]["x"])) == list(pd.date_range("2024-01-01", periods=4, freq="MS"))
    csv = pd.read_csv(io.BytesIO(downloads["forecast_monthly-co_ma7_asof-2023-12-01_monthly.csv"]))
    assert len(csv) == 4
    assert _about(downloads["forecast_monthly-co_ma7_asof-2023-12-01_monthly.xlsx"])["Bucket"] == "monthly (1st)"
    assert any("4 months" in c for c in texts(at.caption))


# --- the Data page's bucket choice -------------------------------------------------------------------------------


def _upload(at, text: str, bucket: str):
    at.radio(key="data_kind").set_value("sales")
    at = at.run()
    at.radio(key="data_bucket").set_value(bucket)
    at.file_uploader(key="data_sales_file").upload("parts.csv", text.encode(), "text/csv")
    return at.run()


@pytest.fixture
def fresh_data_page(backend):
    """A client without sales (its first import decides its bucket) and its planner on the Data page."""
    client = backend.data.create_client("Fresh Co").client_id
    backend.users.create_user(client, "fresh", "fresh-pass-1")
    return client, open_page(login("fresh", "fresh-pass-1"), "data")


@pytest.mark.parametrize("dates, bucket, expected", [
    (list(pd.date_range("2022-01-01", periods=20, freq="MS")[:-1]) + [pd.Timestamp("2023-08-15")], "detect",
     "mixes buckets: most dates are monthly (1st)"),
    (list(pd.date_range("2024-01-01", periods=30)), "W", "declared weekly (Mondays)"),
], ids=["monthly-mid-month", "weekly-on-daily"])
def test_the_data_page_refuses_dates_off_the_bucket_before_the_import(backend, fresh_data_page, dates, bucket,
                                                                      expected):
    client, at = fresh_data_page
    version = backend.data.data_version(client)
    text = "item_id,date,quantity\n" + "".join(f"P-1,{pd.Timestamp(d):%Y-%m-%d},2\n" for d in dates)
    at = _upload(at, text, bucket)
    assert not at.exception
    assert len(at.error) == 1 and expected in at.error[0].value and "nothing imported" in at.error[0].value
    assert not at.success and not any(b.key == "data_import" for b in at.button)
    assert at.dataframe[0].value["problem"].iloc[0].startswith("date not on")  # the first offending rows
    assert backend.data.data_version(client) == version and backend.data.get_client(client).as_of is None


def test_the_data_page_imports_with_the_chosen_bucket(backend, fresh_data_page):
    client, at = fresh_data_page
    dates = pd.date_range("2022-01-01", periods=12, freq="MS")
    at = _upload(at, "item_id,date,quantity\n" + "".join(f"P-1,{d:%Y-%m-%d},5\n" for d in dates), "M")
    assert at.success[0].value.endswith("monthly (1st) dates.")
    at.button(key="data_import").click()
    at = at.run()
    assert texts(at.success)[-1].startswith("Imported sales: 12 rows")
    assert backend.data.get_client(client).freq == Frequency("M")
