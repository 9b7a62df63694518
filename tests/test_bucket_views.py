"""Daily data viewed and planned in weeks or months (issue 17): the service, the batch jobs and the CLI.

A weekly view fits the models on weekly totals (never a daily forecast
summed); the bucket is in the run's parameters and cache key; weekly or
monthly data cannot be viewed in a finer bucket; bad sales files are refused
by import-sales with one line, exit 2 and nothing imported.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from forecasting.core.calendar import DAILY, Frequency, as_of_text, bucket_text
from forecasting.core.errors import InvalidInputError
from forecasting.core.history import aggregate_history
from forecasting.modes.factory import ModelFactory
from forecasting.services.data_access import DataAccess
from forecasting.storage import Database
from tests.support.bucket_cases import OFF_BUCKET
from tests.support.db import database_state, inventory_frame, sales_frame

END = "2024-03-13"  # a Wednesday: weeks of the view run Thursday to Wednesday


def _constant(path, per_day: float = 2.0, days: int = 140, items=("A", "B")):
    dates = pd.date_range(end=END, periods=days)
    path.write_text("item_id,date,quantity\n" + "\n".join(
        f"{i},{d:%Y-%m-%d},{per_day}" for i in items for d in dates) + "\n")
    return path


# --- the one wording ---------------------------------------------------------------------------------------------


def test_the_bucket_wording_names_the_data_and_the_view():
    assert bucket_text(DAILY) == "daily"
    assert bucket_text(Frequency("W", 4)) == "weekly (Fridays)"
    assert bucket_text(DAILY, Frequency("W", 3)) == "daily, in weeks Thursday to Wednesday"
    assert bucket_text(DAILY, Frequency("M")) == "daily, in calendar months"
    assert as_of_text(pd.Timestamp("2024-03-01").date(), Frequency("M")) == "2024-03-01, monthly (1st)"


# --- the service ---------------------------------------------------------------------------------------------------


@pytest.fixture
def daily(data):
    client = data.create_client("Daily Co")
    history = sales_frame({"A": 6.0, "B": 2.0}, days=400, start="2023-01-01", seed=3)
    data.import_sales(client.client_id, history)
    data.import_inventory(client.client_id, inventory_frame(["A", "B"], lead_time_days=10))
    return client.client_id, history


def test_a_weekly_view_forecasts_weekly_totals_with_models_fitted_on_them(service, daily):
    client_id, history = daily
    outcome = service.forecast(client_id, ["A", "B"], "ses", 6, bucket="W")
    weekly = aggregate_history(history, "W")
    expected = ModelFactory.create("ses").forecast(weekly, 6, (0.1, 0.5, 0.9))
    np.testing.assert_allclose(outcome.forecast["forecast"], expected["forecast"], rtol=1e-9)
    assert list(outcome.forecast["date"]) == list(expected["date"])
    # dated on the view's weeks: the week after the as-of one, which ends on the as-of date (2024-02-04, a Sunday)
    assert outcome.freq == Frequency("W", 0) and outcome.forecast["date"].iloc[0] == pd.Timestamp("2024-02-05")
    # not a daily forecast summed: a daily SES fits its own smoothing on days
    daily_sum = ModelFactory.create("ses").forecast(history, 42, ()).groupby("item_id")["forecast"].sum() / 6
    assert not np.allclose(outcome.forecast.groupby("item_id")["forecast"].mean(), daily_sum, rtol=1e-3)


def test_the_bucket_is_part_of_the_cache_key_and_of_the_stored_run(service, daily):
    client_id, _ = daily
    days = service.forecast(client_id, ["A"], "ma7", 4)
    weeks = service.forecast(client_id, ["A"], "ma7", 4, bucket="W")
    again = service.forecast(client_id, ["A"], "ma7", 4, bucket="W")
    assert not days.cached and not weeks.cached and again.cached and again.source_run_id == weeks.run_id
    assert days.freq == DAILY and again.freq == weeks.freq
    stored = service.get_forecast(client_id, weeks.run_id)
    assert stored.freq == weeks.freq
    pd.testing.assert_frame_equal(stored.forecast, weeks.forecast, check_dtype=False)


def test_horizons_are_bounded_in_the_views_bucket(service, daily):
    client_id, _ = daily
    with pytest.raises(Exception, match="between 1 and 36 months, got 37"):
        service.forecast(client_id, ["A"], "ma7", 37, bucket="M")
    with pytest.raises(Exception, match="between 1 and 104 weeks, got 105"):
        service.backtest(client_id, ["A"], ["ma7"], 105, bucket="W")


def test_a_monthly_backtest_view_scores_whole_months(service, daily):
    client_id, history = daily
    outcome = service.backtest(client_id, ["A"], ["ma7"], 2, bucket="M")
    months = aggregate_history(history, "M")
    months = months[months["item_id"] == "A"]
    # 2023-01-01 .. 2024-02-04: January 2024 is the last whole month
    assert list(outcome.forecasts["date"]) == [pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-01")]
    np.testing.assert_allclose(outcome.forecasts["actual"], months["quantity"].to_numpy()[-2:])
    assert outcome.freq == Frequency("M")


def test_reorder_in_weeks_converts_the_lead_time_pro_rata(service, data):
    client = data.create_client("Constant Co")
    dates = pd.date_range(end=END, periods=140)
    data.import_sales(client.client_id, pd.DataFrame({"item_id": "A", "date": dates, "quantity": 2.0}))
    inventory = inventory_frame(["A"], lead_time_days=10, on_hand=5.0).assign(review_period_days=0)
    data.import_inventory(client.client_id, inventory)
    outcome = service.reorder_plan(client.client_id, model="ma7", bucket="W")
    row = outcome.table.iloc[0]
    # 14 units a week; 10 days are 10/7 weeks: 20 units, no error to cover
    assert row["lead_time_demand"] == pytest.approx(20.0) and row["safety_stock"] == pytest.approx(0.0)
    assert outcome.freq == Frequency("W", 3)
    assert list(outcome.projection["date"][:2]) == [pd.Timestamp("2024-03-14"), pd.Timestamp("2024-03-21")]
    np.testing.assert_allclose(outcome.projection["expected_demand"], 14.0)


def test_weekly_or_monthly_data_cannot_be_viewed_in_a_finer_bucket(service, data):
    client = data.create_client("Monthly Co")
    dates = pd.date_range("2021-01-01", periods=30, freq="MS")
    data.import_sales(client.client_id, pd.DataFrame({"item_id": "A", "date": dates, "quantity": 3.0}))
    with pytest.raises(InvalidInputError, match=r"monthly \(1st\): it is planned in months only, not in weeks"):
        service.forecast(client.client_id, ["A"], "ma7", 3, bucket="W")
    own = service.forecast(client.client_id, ["A"], "ma7", 3, bucket="M")  # its own bucket: the data itself
    assert list(own.forecast["date"]) == list(pd.date_range("2023-07-01", periods=3, freq="MS"))


def test_a_published_plan_is_daily_so_a_weekly_reorder_needs_a_model(service, daily, data):
    from forecasting.services.planning import PlanningService

    client_id, _ = daily
    PlanningService(data, service).make_plan(client_id, "ma7")
    with pytest.raises(InvalidInputError, match="the published plan is in days: choose a demand model"):
        service.reorder_plan(client_id, bucket="W")
    assert service.reorder_plan(client_id, model="ma7", bucket="W").freq.code == "W"


# --- the CLI ---------------------------------------------------------------------------------------------------


def test_file_mode_reorder_in_weeks(tmp_path, capsys):
    from forecasting.cli import main

    sales = _constant(tmp_path / "daily.csv", items=("A",))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,review_period_days\nA,5,0,10,0\n")
    code = main(["reorder", "--input", str(sales), "--inventory", str(inventory), "--model", "ma7", "--bucket", "W"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index("item_id")
    assert table.loc["A", "lead_time_demand"] == pytest.approx(20.0)  # 14 a week x 10/7 weeks
    assert "daily, in weeks Thursday to Wednesday" in err


@pytest.fixture
def daily_client(cli, tmp_path):
    assert cli("create-client", "Daily Co")[0] == 0
    code, _, err = cli("import-sales", "--client", "Daily Co", str(_constant(tmp_path / "s.csv")))
    assert code == 0 and err.startswith(f"data as of {END}, daily\n"), err
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,review_period_days\nA,5,0,10,0\nB,50,0,3,0\n")
    assert cli("import-inventory", "--client", "Daily Co", str(inventory))[0] == 0
    return "Daily Co"


def test_database_mode_forecast_backtest_and_reorder_in_weeks(cli, daily_client, tmp_path):
    argv = ("forecast", "--client", daily_client, "--model", "ma7", "--horizon", "3", "--bucket", "W")
    code, out, err = cli(*argv)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), parse_dates=["date"])
    assert list(frame["date"][:3]) == list(pd.date_range("2024-03-14", periods=3, freq="7D"))
    np.testing.assert_allclose(frame["forecast"], 14.0)
    assert err == f"run 1 (computed); data as of {END}, daily, in weeks Thursday to Wednesday\n"
    assert cli(*argv)[2].startswith("run 2 (cached)")
    code, _, err = cli("forecast", "--client", daily_client, "--model", "ma7", "--horizon", "3")  # days: its own run
    assert code == 0 and err == f"run 3 (computed); data as of {END}, daily\n"

    code, out, err = cli("backtest", "--client", daily_client, "--model", "ma7", "--horizon", "2", "--bucket", "W")
    assert code == 0 and "daily, in weeks Thursday to Wednesday" in err
    metrics = pd.read_csv(io.StringIO(out))
    assert metrics["n_points"].iloc[-1] == 4 and metrics["mae"].iloc[-1] == 0.0  # 2 items x 2 weeks, constant

    code, out, err = cli("reorder", "--client", daily_client, "--model", "ma7", "--bucket", "W")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index("item_id")
    assert table.loc["A", "lead_time_demand"] == pytest.approx(20.0)  # 10/7 weeks of 14
    assert table.loc["B", "lead_time_demand"] == pytest.approx(6.0)  # 3/7 weeks of 14


def test_database_mode_refuses_a_finer_bucket_and_a_file_bucket(cli, tmp_path, db_url):
    assert cli("create-client", "Weekly Co")[0] == 0
    path = tmp_path / "w.csv"
    path.write_text("item_id,date,quantity\n" + "\n".join(
        f"A,{d:%Y-%m-%d},3" for d in pd.date_range("2023-01-06", periods=30, freq="7D")) + "\n")
    assert cli("import-sales", "--client", "Weekly Co", str(path))[0] == 0
    code, out, err = cli("forecast", "--client", "Weekly Co", "--model", "ma7", "--horizon", "3", "--bucket", "M")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err == "error: the data is weekly (Fridays): it is planned in weeks only, not in months\n"
    code, _, err = cli("reorder", "--client", "Weekly Co", "--freq", "D")
    assert code == 2 and "--freq declares a file's bucket" in err and err.count("\n") == 1




@pytest.mark.parametrize("dates, freq, expected", OFF_BUCKET)
def test_import_sales_refuses_dates_off_the_bucket_with_one_line_and_imports_nothing(cli, db_url, tmp_path, dates,
                                                                                    freq, expected):
    assert cli("create-client", "New Co")[0] == 0
    path = tmp_path / "bad.csv"
    path.write_text("item_id,date,quantity\n" + "\n".join(f"A,{pd.Timestamp(d):%Y-%m-%d},1" for d in dates) + "\n")
    database = Database(db_url)
    before = database_state(database)
    code, out, err = cli("import-sales", "--client", "New Co", str(path), *(["--freq", freq] if freq else []))
    assert (code, out) == (2, "") and err.count("\n") == 1 and err.startswith("error: sales file")
    assert expected in err, err
    assert database_state(database) == before
    assert DataAccess(database).client_by_name("New Co").as_of is None
    database.dispose()


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_forecasts_backtests_and_reorders_in_a_view_bucket(api):
    headers = {"X-API-Key": api.key_a}
    body = {"item_ids": ["A1"], "prediction_length": 4, "model": "ma7", "quantile_levels": [], "bucket": "W"}
    response = api.http.post("/api/v1/forecast", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = api.service.forecast(api.a, ["A1"], "ma7", 4, (), bucket="W")
    assert answer["bucket"] == expected.freq.alias and answer["bucket"].startswith("W-")
    assert answer["items"][0]["dates"] == [f"{d:%Y-%m-%d}" for d in expected.forecast["date"]]
    np.testing.assert_allclose(answer["items"][0]["forecast"], expected.forecast["forecast"], rtol=1e-12)
    days = api.http.post("/api/v1/forecast", json={**body, "bucket": None}, headers=headers).json()
    assert days["bucket"] == "D" and days["forecast_id"] != answer["forecast_id"]

    response = api.http.post("/api/v1/forecast", json={**body, "bucket": "M", "prediction_length": 40},
                             headers=headers)
    assert response.status_code == 422 and "between 1 and 36 months, got 40" in response.json()["detail"]
    assert api.http.post("/api/v1/forecast", json={**body, "bucket": "Q"}, headers=headers).status_code == 422

    backtest = api.http.post("/api/v1/backtest", json={"item_ids": ["A1"], "prediction_length": 2, "models": ["ma7"],
                                                        "bucket": "W"}, headers=headers)
    assert backtest.status_code == 200 and backtest.json()["bucket"] == answer["bucket"]
    reorder = api.http.post("/api/v1/reorder", json={"item_ids": ["A1"], "model": "ma7", "bucket": "W"},
                            headers=headers)
    assert reorder.status_code == 200, reorder.text
    table = api.service.reorder_plan(api.a, ["A1"], "ma7", bucket="W").table
    assert reorder.json()["bucket"] == answer["bucket"]
    assert reorder.json()["items"][0]["lead_time_demand"] == pytest.approx(table["lead_time_demand"].iloc[0])
