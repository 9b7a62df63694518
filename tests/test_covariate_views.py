"""What the models that use covariates get (issues 17 and 22): the client's calendar in a view of daily data in
weeks or months (each covariate the mean over its bucket's days), and the items' category as lgbm's static
feature. Hand-computed values, the service and batch paths on SQLite and PostgreSQL."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job, run_file_job
from forecasting.core.calendar import Frequency
from forecasting.core.client_calendar import ClientCalendar
from forecasting.core.covariates import CATEGORY, KnownFuture, category_code, with_category
from forecasting.core.history import daily_in_buckets, prepare_history, to_day_numbers
from forecasting.modes.factory import ModelFactory
from forecasting.modes.ml.lightgbm import LightGBMGlobal
from forecasting.services.container import build_services
from forecasting.services.forecast_service import _with_calendar, client_view
from tests.support.db import inventory_frame, sales_frame

ITEM = pd.DataFrame({"item_id": ["A"], "category": ["cat"]})
ITEMS = ["P0", "P1", "P2", "P3"]


def _calendar(rows: str, items: dict[str, str] | None = None) -> ClientCalendar:
    raw = pd.read_csv(io.StringIO(rows), dtype=str, keep_default_na=False)
    return ClientCalendar.check(raw, items or {"A": "cat"})


def test_a_weekly_view_takes_each_covariate_as_the_mean_over_the_weeks_days():
    # daily data as of Sunday 2024-05-12: weeks Monday to Sunday, dated on their Monday
    freq, last = daily_in_buckets("W", int(to_day_numbers(np.array([np.datetime64("2024-05-12")]))[0]))
    assert freq.dates(np.array([last]))[0] == np.datetime64("2024-05-06")
    calendar = _calendar(
        "type,item_id,category,start,end,name,discount,price\n"
        "promotion,A,,2024-05-07,2024-05-09,spring,0.2,1.5\n"   # Tue-Thu: 3 days of the week of the 6th
        "price,A,,2024-05-08,2024-05-14,,,2.0\n"                 # the promotion's price wins on the 8th and 9th
        "event,,,2024-05-11,2024-05-12,fair,,\n"                 # Sat-Sun: 2 days, every item
        "holiday,,cat,2024-05-20,,whit monday,,\n")              # the week after the next: a forecast bucket
    dates = pd.DatetimeIndex(freq.dates(np.arange(last + 1, last + 3)))
    frame = calendar.known_future(ITEM, dates, freq, view=True).frame.set_index("date")
    week = frame.loc[pd.Timestamp("2024-05-06")]
    assert week["promo"] == pytest.approx(3 / 7)
    assert week["discount"] == pytest.approx(0.2 * 3 / 7)  # 0 on the 4 days without a promotion
    assert week["event"] == pytest.approx(2 / 7)
    assert week["holiday"] == 0
    assert week["price"] == pytest.approx((1.5 * 3 + 2.0 * 3) / 6)  # the 6 days with a price (Tue-Sun)
    nxt = frame.loc[pd.Timestamp("2024-05-13")]  # the first forecast week: the planned price's 2 last days
    assert (nxt["promo"], nxt["event"], nxt["holiday"]) == (0, 0, 0) and nxt["price"] == pytest.approx(2.0)
    assert frame.loc[pd.Timestamp("2024-05-20"), "holiday"] == pytest.approx(1 / 7)
    # the client's own weekly data keeps its rule: a week has a flag when any of its days has it
    weekly = calendar.known_future(ITEM, dates, freq).frame.set_index("date")
    assert weekly.loc[pd.Timestamp("2024-05-06"), "promo"] == 1


def test_a_monthly_view_divides_by_the_days_of_each_month():
    freq, last = daily_in_buckets("M", int(to_day_numbers(np.array([np.datetime64("2024-02-29")]))[0]))
    calendar = _calendar("type,item_id,category,start,end,name,discount,price\n"
                         "promotion,A,,2024-02-27,2024-03-02,,,\n")  # 3 days of February (29), 2 of March (31)
    dates = pd.DatetimeIndex(freq.dates(np.arange(last + 1, last + 2)))
    frame = calendar.known_future(ITEM, dates, freq, view=True).frame.set_index("date")["promo"]
    assert frame[pd.Timestamp("2024-02-01")] == pytest.approx(3 / 29)
    assert frame[pd.Timestamp("2024-03-01")] == pytest.approx(2 / 31)


def test_a_daily_covariates_file_in_a_weekly_view_is_the_mean_of_its_weeks_rows():
    days = pd.date_range("2024-05-06", periods=14)
    file = KnownFuture.from_frame(pd.DataFrame({"item_id": "A", "date": days,
                                                "promo": [0, 1, 1, 1, 0, 0, 0] + [1] * 7}))
    weekly = file.in_buckets(Frequency("W", 0)).frame.set_index("date")["promo"]
    assert weekly.to_dict() == {pd.Timestamp("2024-05-06"): pytest.approx(3 / 7), pd.Timestamp("2024-05-13"): 1.0}


# --- through the service and the batch jobs -----------------------------------------------------------------

def _promo_world(db_url, days: int = 1092):
    """Daily sales, tripled on promotion days (a random third of the weeks, 1 to 7 days each); the calendar holds
    those promotions and two planned weeks: one with 7 promotion days, one without any."""
    services = build_services(db_url)
    data = services.data
    client = data.create_client("Weeks").client_id
    rng = np.random.default_rng(5)
    dates = pd.date_range("2021-05-03", periods=days)  # a Monday; the last day a Sunday
    rows, on = [], np.zeros(days, dtype=bool)
    for week in range(0, days, 7):
        if rng.random() < 0.35:
            length = int(rng.integers(1, 8))
            start = week + int(rng.integers(0, 8 - length))
            on[start:start + length] = True
            rows.append(f"promotion,,cat,{dates[start]:%Y-%m-%d},{dates[start + length - 1]:%Y-%m-%d},,0.1,")
    frames = [pd.DataFrame({"item_id": item, "date": dates,
                            "quantity": rng.poisson(np.where(on, 3 * level, level)).astype(float)})
              for item, level in (("P0", 4.0), ("P1", 9.0), ("P2", 6.0), ("P3", 12.0))]
    data.import_sales(client, pd.concat(frames, ignore_index=True))
    data.import_inventory(client, inventory_frame(ITEMS))  # every item in category "cat"
    as_of = dates[-1]
    planned = as_of + pd.Timedelta(days=8)  # Monday to Sunday of the second forecast week
    rows.append(f"promotion,,cat,{planned:%Y-%m-%d},{planned + pd.Timedelta(days=6):%Y-%m-%d},,0.1,")
    data.import_calendar(client, ("type,item_id,category,start,end,name,discount,price\n" + "\n".join(rows)
                                  + "\n").encode())
    return services, client, dates, on


def test_a_weekly_view_gives_lgbm_the_calendar_in_weeks_and_says_so(db_url, tmp_path):
    services, client, dates, on = _promo_world(db_url)
    view = services.forecasts.view(client, "W")
    snapshot = services.data.history_snapshot(client, ITEMS)
    history, future = _with_calendar(snapshot, [ModelFactory.create("lgbm")], 4, view=view)
    # the summed history's weeks carry the share of their days on promotion (and the mean discount)
    share = pd.Series(on, index=dates).groupby(np.arange(len(dates)) // 7).mean().to_numpy()
    got = history[history["item_id"] == "P0"].sort_values("date")
    np.testing.assert_allclose(got["promo"].to_numpy(), share)
    np.testing.assert_allclose(got["discount"].to_numpy(), 0.1 * share)
    assert history.attrs["freq"] == view.bucket.alias
    planned = future.set_index(["item_id", "date"])["promo"]
    first = dates[-1] + pd.Timedelta(days=1)
    assert planned[("P1", first)] == 0 and planned[("P1", first + pd.Timedelta(days=7))] == 1

    outcome = services.forecasts.forecast(client, ITEMS, "lgbm", 4, bucket="W")
    assert outcome.covariates == ("discount", "promo")
    weeks = outcome.forecast.pivot(index="date", columns="item_id", values="forecast")
    assert list(weeks.index) == [first + pd.Timedelta(days=7 * k) for k in range(4)]
    assert (weeks.iloc[1] > 1.8 * weeks.drop(weeks.index[1]).mean()).all()  # the planned week of 7 promotion days
    # a statistical model ignores it and names none
    assert services.forecasts.forecast(client, ITEMS, "ma7", 4, bucket="W").covariates == ()
    # the batch job (CLI --bucket W in database mode) gives lgbm the same weeks: the same forecast
    out = tmp_path / "weeks.csv"
    run_database_job(services, client, BatchJob("forecast", ("lgbm",), 4, (0.5,)), output=out, bucket="W")
    batch = pd.read_csv(out, parse_dates=["date"]).pivot(index="date", columns="item_id", values="forecast")
    np.testing.assert_allclose(batch.to_numpy(), weeks.to_numpy(), rtol=1e-6)  # the CSV has 6 decimals
    assert set(pd.read_csv(out)["covariates"]) == {"discount;promo"}


def test_a_weekly_view_gives_chronos2_the_planned_weeks_as_future_covariates(db_url, tiny_chronos_dir, monkeypatch):
    import forecasting.modes.ml.chronos2 as chronos2
    from forecasting.modes.ml.loading import reset_pipeline

    services, client, _, _ = _promo_world(db_url)
    seen = []
    build = chronos2.build_inputs

    def spy(*args, **kwargs):
        seen.append(build(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(chronos2, "build_inputs", spy)
    reset_pipeline()
    try:
        outcome = services.forecasts.forecast(client, ITEMS, "chronos-2", 4, bucket="W")
    finally:
        reset_pipeline()
    assert outcome.covariates == ("discount", "promo")
    inputs = seen[-1]
    assert inputs.n_future == 2  # promo and discount, each item's 4 forecast weeks: the second one planned
    rows = inputs.future[:, -2:, :]
    np.testing.assert_allclose(np.sort(rows, axis=1), np.broadcast_to([[0, 0.1, 0, 0], [0, 1, 0, 0]], rows.shape),
                               rtol=1e-6)


def test_no_day_after_the_as_of_date_reaches_a_views_history(data):
    client = data.create_client("Leak").client_id
    data.import_sales(client, sales_frame({"A": 5, "B": 3}, days=74, start="2024-01-01"))  # to Thu 2024-03-14
    data.import_inventory(client, inventory_frame(["A", "B"]))
    # a promotion on the as-of date and the 3 days after it; then the same without the days after
    base = "type,item_id,category,start,end,name\npromotion,A,,2024-03-14,{end},\n"
    snapshots = []
    for end in ("2024-03-17", "2024-03-14"):
        data.import_calendar(client, base.format(end=end).encode())
        snapshots.append(data.history_snapshot(client, ["A", "B"]))
    lgbm = [ModelFactory.create("lgbm")]
    for code, cut in (("W", pd.Timestamp("2024-03-08")), ("M", pd.Timestamp("2024-03-01"))):
        view = client_view(data.get_client(client), code)
        (long, long_future), (short, short_future) = (_with_calendar(s, lgbm, 2, held_out=2, view=view)
                                                      for s in snapshots)
        pd.testing.assert_frame_equal(long, short)  # the history is the same whatever follows the as-of date
        assert pd.to_datetime(long["date"]).max() < pd.Timestamp("2024-03-15")
        a = long[long["item_id"] == "A"].set_index("date")["promo"]
        if code == "W":  # weeks Friday to Thursday: the as-of week holds the as-of date's promotion, 1 day of 7
            assert a[cut] == pytest.approx(1 / 7) and a.drop(cut).eq(0).all()
        else:  # March is not over: it is the first forecast month, not history
            assert a.eq(0).all() and cut not in a.index
        # the days after the as-of date are known-future: only the forecast buckets differ
        later = long_future.set_index(["item_id", "date"])["promo"]
        earlier = short_future.set_index(["item_id", "date"])["promo"]
        first = cut + (pd.Timedelta(days=7) if code == "W" else pd.Timedelta(0))
        assert later[("A", first)] > earlier[("A", first)]
        assert later.drop(("A", first)).equals(earlier.drop(("A", first)))


def test_a_file_job_in_weeks_averages_a_daily_calendar_file(tmp_path):
    sales = sales_frame({"A": 5, "B": 3}, days=1092, start="2021-05-03")
    sales.to_csv(tmp_path / "sales.csv", index=False)
    days = pd.date_range("2021-05-03", periods=1092 + 28)
    promo = KnownFuture.from_frame(pd.DataFrame({"item_id": np.repeat(["A", "B"], len(days)),
                                                 "date": np.tile(days, 2), "promo": (np.arange(2 * len(days)) % 3 == 0
                                                                                     ).astype(float)}))
    out = tmp_path / "out.csv"
    run_file_job(BatchJob("forecast", ("lgbm",), 4, (0.5,)), tmp_path / "sales.csv", out, bucket="W", calendar=promo)
    frame = pd.read_csv(out)
    assert set(frame["covariates"]) == {"promo"} and len(frame) == 8


# --- the item's category --------------------------------------------------------------------------------------

def test_items_of_one_category_share_a_code_that_reaches_lgbms_training(monkeypatch):
    import mlforecast

    assert category_code("pasta") == category_code(" pasta ") != category_code("sauce")
    assert category_code("") == category_code(None) == 0
    sales = sales_frame({"A": 5, "B": 6, "C": 2, "D": 1}, days=200)
    frame = with_category(sales, {"A": "pasta", "B": "pasta", "C": "sauce"})  # D: none
    codes = frame.groupby("item_id")[CATEGORY].agg(["min", "max"])
    assert (codes["min"] == codes["max"]).all()
    assert codes.loc["A", "min"] == codes.loc["B", "min"] == category_code("pasta") != codes.loc["C", "min"]
    assert codes.loc["D", "min"] == 0
    seen = []
    fit = mlforecast.MLForecast.fit

    def spy(self, df, *args, **kwargs):
        seen.append(df)
        return fit(self, df, *args, **kwargs)

    monkeypatch.setattr(mlforecast.MLForecast, "fit", spy)
    model = LightGBMGlobal()
    model.fit(prepare_history(frame), 7)
    assert CATEGORY in model.last_fit.features
    trained = seen[-1].groupby("unique_id")[CATEGORY].unique()
    assert trained["A"].tolist() == trained["B"].tolist() == [category_code("pasta")]
    assert trained["D"].tolist() == [0]


def test_the_service_gives_lgbm_the_stored_category_and_a_new_category_is_new_data(data, service):
    client = data.create_client("Cats").client_id
    data.import_sales(client, sales_frame({"A": 5, "B": 6, "C": 2}, days=200))
    inventory = inventory_frame(["A", "B", "C"])
    inventory["category"] = ["pasta", "pasta", "sauce"]
    data.import_inventory(client, inventory)
    snapshot = data.history_snapshot(client, ["A", "B", "C"])
    history, _ = _with_calendar(snapshot, [ModelFactory.create("lgbm")], 7)
    codes = history.groupby("item_id")[CATEGORY].unique().map(list).to_dict()
    assert codes == {"A": [category_code("pasta")], "B": [category_code("pasta")], "C": [category_code("sauce")]}
    plain, _ = _with_calendar(snapshot, [ModelFactory.create("ma7")], 7)  # a statistical model: no column
    assert CATEGORY not in plain
    first = service.forecast(client, ["A", "B", "C"], "lgbm", 7)
    assert first.covariates == (CATEGORY,)
    assert service.forecast(client, ["A", "B", "C"], "ma7", 7).covariates == ()
    assert service.forecast(client, ["A", "B", "C"], "lgbm", 7).cached
    inventory["category"] = ["pasta", "sauce", "sauce"]  # B moves: the data lgbm learns from changed
    data.import_inventory(client, inventory)
    assert not service.forecast(client, ["A", "B", "C"], "lgbm", 7).cached
