"""Issue 17, the core rules in buckets: the attention queue, MASE, the plan, the simulator and the ML features
on hand-made weekly and monthly data (numbers computed by hand in the comments)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.exceptions import rules
from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.core.calendar import Frequency
from forecasting.core.history import history_lengths
from forecasting.core.models.base import SamplePaths
from tests.support.db import inventory_frame

FRI = Frequency("W", 4)
MS = Frequency("M", 0)
#: a Friday: the as-of bucket of the weekly cases
AS_OF_W = pd.Timestamp("2024-03-01")
AS_OF_M = pd.Timestamp("2024-06-01")


def _items(ids, as_of, **columns) -> pd.DataFrame:
    base = {"item_id": ids, "name": [f"name {i}" for i in ids], "category": "c", "unit_cost": 2.0,
            "on_hand": 5.0, "last_date": as_of, "history_buckets": 100}
    base.update(columns)
    return pd.DataFrame({k: v if isinstance(v, list) else [v] * len(ids) for k, v in base.items()})


# --- the attention queue -----------------------------------------------------------------------------------------

def test_silent_items_count_weeks_and_months_from_the_days_limit():
    assert rules.silent_buckets() == 56 and rules.silent_buckets(FRI) == 8  # 56 days = 8 weeks
    assert rules.silent_buckets(MS) == 2  # 56 / 30.44 = 1.84 months, a whole bucket more: 2
    weeks = _items(["eight", "seven"], AS_OF_W, last_date=[AS_OF_W - pd.Timedelta(weeks=8),
                                                            AS_OF_W - pd.Timedelta(weeks=7)])
    flag = rules.silent_items(weeks, AS_OF_W, FRI)
    assert flag.item_ids.tolist() == ["eight"]
    assert flag.detail == ["last sale 2024-01-05, 8 weeks before the data's as-of date"]
    months = _items(["two", "one"], AS_OF_M, last_date=[pd.Timestamp("2024-04-01"), pd.Timestamp("2024-05-01")])
    flag = rules.silent_items(months, AS_OF_M, MS)
    assert flag.item_ids.tolist() == ["two"] and flag.detail[0].endswith("2 months before the data's as-of date")


def test_the_bias_window_counts_weeks_and_months():
    assert rules.bias_window() == (28, 14) and rules.bias_window(FRI) == (13, 8) and rules.bias_window(MS) == (6, 4)
    weeks = pd.date_range(end=AS_OF_W, periods=20, freq="7D")
    compared = pd.concat([
        # +50% in each of the last 10 weeks; 7 older weeks 100% under lie outside the 13-week window
        pd.DataFrame({"item_id": "over", "date": weeks[-10:], "forecast": 15.0, "actual": 10.0}),
        pd.DataFrame({"item_id": "over", "date": weeks[:7], "forecast": 0.0, "actual": 10.0}),
        pd.DataFrame({"item_id": "few", "date": weeks[-7:], "forecast": 30.0, "actual": 10.0}),  # 7 < 8 weeks
    ])
    stats = rules.bias_by_item(compared, AS_OF_W, FRI).set_index("item_id")
    assert stats.loc["over", "buckets"] == 10 and stats.loc["over", "bias"] == pytest.approx(0.5)
    flag = rules.biased(compared, AS_OF_W, FRI)
    assert flag.item_ids.tolist() == ["over"] and flag.units.tolist() == [50.0]  # 10 weeks x 5 units
    assert flag.detail == ["forecasts above the actuals by 50% over the last 10 weeks"]
    months = pd.date_range(end=AS_OF_M, periods=8, freq="MS")  # 2023-11 .. 2024-06: the window is 2024-01 on
    compared = pd.DataFrame({"item_id": "under", "date": months, "forecast": 5.0, "actual": 10.0})
    flag = rules.biased(compared, AS_OF_M, MS)
    assert flag.item_ids.tolist() == ["under"] and flag.detail == [
        "forecasts below the actuals by 50% over the last 6 months"]
    # daily data keeps its rule: 8 days compared are fewer than 14
    assert rules.biased(compared.assign(date=pd.date_range(end=AS_OF_M, periods=8)), AS_OF_M).item_ids.size == 0


def _weekly_plan(inventory: pd.DataFrame, per_week: float = 70.0):
    ids = inventory["item_id"].tolist()
    first = np.full(len(ids), np.datetime64(AS_OF_W + pd.Timedelta(weeks=1)), "datetime64[ns]")
    paths = SamplePaths(np.array(ids, dtype=object), first, np.full((len(ids), 20, 8), per_week), FRI)
    return InventoryCalculator.plan_from_paths(paths, inventory, "test")


def test_a_stock_out_before_arrival_reads_the_bucket_holding_the_lead_time():
    # 70 a week; 25 on hand. Lead 5 days: the order arrives in week 1, which ends 45 short;
    # lead 10 days: in week 2, 25 - 140 = 115 short; 200 on hand with lead 10: 60 left after week 2
    inventory = pd.DataFrame({"item_id": ["five", "ten", "fine"], "on_hand": [25.0, 25.0, 200.0],
                              "on_order": 0.0, "lead_time_days": [5, 10, 10], "review_period_days": 7})
    plan = _weekly_plan(inventory)
    flag = rules.stockouts_before_arrival(plan.table, plan.projection, FRI)
    assert dict(zip(flag.item_ids, flag.units)) == {"five": 45.0, "ten": 115.0}
    # the queue's urgent items are the table's "reorder" items in weeks too (one rule)
    reorder = set(plan.table.loc[plan.table["action"] == "reorder", "item_id"])
    items = _items(["five", "ten", "fine"], AS_OF_W)
    empty = pd.DataFrame(columns=["item_id", "date", "forecast", "actual"])
    queue = rules.attention_queue(plan.table, plan.projection, items, empty, AS_OF_W, [], 7, FRI)
    assert set(queue.loc[queue["reason"].isin(rules.URGENT), "item_id"]) == reorder


def test_history_lengths_count_the_buckets_to_the_as_of_date():
    first = pd.Series(pd.to_datetime(["2024-01-05", "2024-02-23", None]), index=["a", "b", "c"])
    assert history_lengths(first, AS_OF_W, FRI).tolist() == [9, 2, 0]  # Jan 5 .. Mar 1: 9 Fridays
    assert history_lengths(first, AS_OF_W).tolist() == [57, 8, 0]  # days, as before
    months = pd.Series(pd.to_datetime(["2024-01-01"]))
    assert history_lengths(months, AS_OF_M, MS).tolist() == [6]


@pytest.fixture
def weekly_client(data):
    """A weekly client (Fridays): BUSY sells 30 a week to the end, QUIET stopped 10 weeks ago, NEW has 3 weeks."""
    client = data.create_client("Weekly Co").client_id
    fridays = pd.date_range(end=AS_OF_W, periods=40, freq="7D")
    frame = pd.concat([
        pd.DataFrame({"item_id": "BUSY", "date": fridays, "quantity": 30.0}),
        pd.DataFrame({"item_id": "QUIET", "date": fridays[:30], "quantity": 4.0}),
        pd.DataFrame({"item_id": "NEW", "date": fridays[-3:], "quantity": 2.0}),
    ], ignore_index=True)
    data.import_sales(client, frame)
    data.import_inventory(client, inventory_frame(["BUSY", "QUIET", "NEW"], lead_time_days=10, on_hand=20.0))
    return client


def test_the_attention_queue_of_a_weekly_client_speaks_in_weeks(service, data, weekly_client):
    assert data.get_client(weekly_client).freq == FRI
    queue = service.exceptions(weekly_client, model="ma7").queue.set_index("item_id")
    # BUSY: 20 on hand, 30 a week, lead 10 days: week 2 ends 40 short
    assert queue.loc["BUSY", "reason"] == rules.STOCKOUT
    assert queue.loc["BUSY", "units"] == pytest.approx(40.0)
    assert queue.loc["QUIET", "reason"] == rules.SILENT
    assert "10 weeks before the data's as-of date" in queue.loc["QUIET", "detail"]
    assert queue.loc["NEW", "reason"] == rules.SHORT
    assert queue.loc["NEW", "detail"] == "only 3 week(s) of sales history; forecasts need 7"


# --- item classes (ABC / XYZ / lifecycle) ------------------------------------------------------------------------

def test_item_classes_of_weekly_and_monthly_histories_count_their_buckets():
    from forecasting.applications.classification.item_classes import item_classes

    # 60 weeks: steady sells 10 every week; gone stopped 26 weeks ago; young started 5 weeks ago;
    # pause stopped 25 weeks ago (not yet dead: 26 weeks = 182 days)
    y = np.full((4, 60), np.nan)
    y[0] = 10.0
    y[1] = 0.0
    y[1, :34] = 3.0
    y[2, -5:] = 2.0
    y[3] = 0.0
    y[3, :35] = 1.0
    classes = item_classes(np.array(["steady", "gone", "young", "pause"]), y, freq=FRI).set_index("item_id")
    assert classes["lifecycle"].tolist() == ["active", "dead", "new", "active"]
    assert classes.loc["steady", "value_52w"] == 520.0  # 52 weeks x 10, not 60
    assert classes.loc["steady", "weekly_cv"] == 0.0 and classes.loc["steady", "xyz"] == "X"
    assert classes.loc["gone", "days_since_last_sale"] == 26 * 7
    # the CV of the weekly values themselves: young's 5 weeks of 2 are X; alternating 0/4 is CV 1 (Z)
    alternating = np.tile([0.0, 4.0], 30)[None, :]
    assert item_classes(np.array(["z"]), alternating, freq=FRI)["weekly_cv"].iloc[0] == pytest.approx(1.0)
    # monthly: 24 months; dead after 6 silent months (182 days); new: first sold in the as-of month
    m = np.full((3, 24), np.nan)
    m[0] = 0.0
    m[0, :18] = 5.0
    m[1] = 0.0
    m[1, :19] = 5.0
    m[2, -1:] = 1.0
    classes = item_classes(np.array(["six", "five", "new"]), m, freq=MS).set_index("item_id")
    assert classes["lifecycle"].tolist() == ["dead", "active", "new"]
    assert classes.loc["five", "value_52w"] == 5.0 * 7  # the last 12 months hold 7 months of 5
    assert classes.loc["six", "days_since_last_sale"] == round(6 * 365.25 / 12)


# --- metrics per bucket --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("freq, dates", [
    (FRI, pd.date_range("2022-01-07", periods=70, freq="7D")),
    (MS, pd.date_range("2019-01-01", periods=40, freq="MS")),
])
def test_backtest_windows_count_buckets_and_mase_equals_utilsforecasts(freq, dates):
    losses = pytest.importorskip("utilsforecast.losses")
    from forecasting.applications.quality.calculator import QualityCalculator

    rng = np.random.default_rng(3)
    history = pd.concat([
        pd.DataFrame({"item_id": item, "date": dates, "quantity": rng.poisson(level, len(dates)).astype(float)})
        for item, level in (("a", 20.0), ("b", 3.0), ("c", 0.7))
    ], ignore_index=True)
    result = QualityCalculator.backtest(history, ["seasonal-naive", "ses"], horizon=4, windows=3)
    scored = result.forecasts
    # window w's cutoff is w x 4 buckets before the last date, and each window scores the 4 buckets after it
    cutoffs = sorted(scored["cutoff"].unique())
    assert [pd.Timestamp(c) for c in cutoffs] == [dates[-13], dates[-9], dates[-5]]
    assert set(pd.to_datetime(scored["date"])) == set(dates[-12:])
    # utilsforecast's MASE with seasonality 1 and one cutoff per window, averaged over the windows
    df = scored.pivot_table(index=["item_id", "cutoff", "date", "actual"], columns="model",
                            values="forecast").reset_index()
    df = df.rename(columns={"item_id": "unique_id", "date": "ds", "actual": "y"})
    train = history.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    theirs = losses.mase(df, ["seasonal-naive", "ses"], 1, train).groupby("unique_id")[["seasonal-naive", "ses"]].mean()
    ours = result.metrics[result.metrics["item_id"] != "__overall__"].pivot(index="item_id", columns="model",
                                                                             values="mase")
    np.testing.assert_allclose(ours[["seasonal-naive", "ses"]].to_numpy(), theirs.to_numpy(), rtol=1e-9)


def test_an_upload_of_weekly_sales_lists_items_short_in_weeks(data):
    client = data.create_client("Weekly upload").client_id
    fridays = pd.date_range(end=AS_OF_W, periods=10, freq="7D")
    upload = pd.concat([pd.DataFrame({"item_id": "LONG", "date": fridays, "quantity": 1.0}),
                        pd.DataFrame({"item_id": "SHORT", "date": fridays[-3:], "quantity": 1.0})], ignore_index=True)
    short = data.too_short_to_forecast(client, upload)
    assert short["item_id"].tolist() == ["SHORT"] and short["days"].tolist() == [3]  # 3 weeks (15 days before)


def test_a_weekly_clients_stored_forecasts_against_later_weeks_flag_a_bias(service, data):
    client = data.create_client("Weekly bias").client_id
    fridays = pd.date_range(end=AS_OF_W, periods=30, freq="7D")
    data.import_sales(client, pd.DataFrame({"item_id": "B", "date": fridays, "quantity": 30.0}))
    service.forecast(client, ["B"], "ma7", 13)  # 30 a week for the next 13 weeks, stored
    later = pd.date_range(AS_OF_W + pd.Timedelta(weeks=1), periods=10, freq="7D")
    data.import_sales(client, pd.DataFrame({"item_id": "B", "date": later, "quantity": 45.0}))
    queue = service.exceptions(client, model="ma7").queue.set_index("item_id")
    # 10 weeks compared (at least 8 in the 13-week window): (30 - 45) / 45 = -33%, every week below
    assert queue.loc["B", "reason"] == rules.BIAS
    assert queue.loc["B", "detail"] == "forecasts below the actuals by 33% over the last 10 weeks"
    assert queue.loc["B", "units"] == pytest.approx(150.0)


# --- stale data --------------------------------------------------------------------------------------------------

def test_data_is_stale_once_a_whole_bucket_is_missing():
    from datetime import date

    from forecasting.core.calendar import days_since_data, is_stale

    # daily: more than 7 days after the as-of date, as before
    assert days_since_data(date(2024, 3, 1), date(2024, 3, 8)) == 7 and not is_stale(date(2024, 3, 1), date(2024, 3, 8))
    assert is_stale(date(2024, 3, 1), date(2024, 3, 9))
    # weekly (Fridays): the week of Mar 1 runs to Mar 7; the next week's sales are due once it ends on Mar 14
    assert days_since_data(date(2024, 3, 1), date(2024, 3, 14), FRI) == 7
    assert not is_stale(date(2024, 3, 1), date(2024, 3, 14), FRI) and is_stale(date(2024, 3, 1), date(2024, 3, 15), FRI)
    # monthly (1st): January's sales are current all February; stale more than 31 days after January ended
    assert not is_stale(date(2024, 1, 1), date(2024, 2, 29), MS)
    assert days_since_data(date(2024, 1, 1), date(2024, 3, 2), MS) == 31
    assert not is_stale(date(2024, 1, 1), date(2024, 3, 2), MS) and is_stale(date(2024, 1, 1), date(2024, 3, 3), MS)
    # month-end dates cover the month that ends on them
    assert days_since_data(date(2024, 1, 31), date(2024, 2, 10), Frequency("M", -1)) == 10
