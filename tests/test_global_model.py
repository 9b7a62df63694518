"""The global LightGBM model (``lgbm``): its features on hand-made data, no look past the as-of date, its bands."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.core.calendar import Frequency
from forecasting.core.covariates import KnownFuture, future_values
from forecasting.core.errors import InvalidInputError
from forecasting.core.history import prepare_history
from forecasting.modes.factory import ModelFactory
from forecasting.modes.ml.features import DAILY, ID, TARGET, TIME, feature_frame, spec_for
from forecasting.modes.ml.lightgbm import LightGBMGlobal


def ramp(n_items: int = 2, days: int = 60) -> pd.DataFrame:
    """Item i sells 100 * i + t on its t-th day: every value says which day it is."""
    dates = pd.date_range("2024-01-01", periods=days)
    return pd.DataFrame({
        ID: np.repeat([f"I{i}" for i in range(n_items)], days),
        TIME: np.tile(dates, n_items),
        TARGET: np.concatenate([100.0 * i + np.arange(days) for i in range(n_items)]),
    })


def test_a_lag_is_the_value_k_days_back_and_rolling_means_average_the_days_before():
    frame = ramp()
    out = feature_frame(frame)
    assert len(out) and set(out[ID]) == {"I0", "I1"}
    for lag in DAILY.lags:
        # y is 100 i + t, so the value k days back is y - k on every row
        np.testing.assert_array_equal(out[f"lag{lag}"], out[TARGET] - lag)
    # the 7 days ending one day back: t-7..t-1, mean t-4; ending 7 back: t-13..t-7, mean t-10
    np.testing.assert_allclose(out["rolling_mean_lag1_window_size7"], out[TARGET] - 4)
    np.testing.assert_allclose(out["rolling_mean_lag1_window_size28"], out[TARGET] - 14.5)
    np.testing.assert_allclose(out["rolling_mean_lag7_window_size28"], out[TARGET] - 20.5)
    assert (out["dayofweek"] == out[TIME].dt.dayofweek).all()
    assert (out["day"] == out[TIME].dt.day).all() and (out["month"] == out[TIME].dt.month).all()
    # rows whose features would reach before the first day are not training rows
    assert out[TIME].min() == frame[TIME].min() + pd.Timedelta(days=DAILY.longest_lag)


def test_the_bucket_picks_the_features_from_its_frequency():
    assert spec_for("D") == DAILY and spec_for("W").season == 52 and spec_for("M").season == 12
    weekly = spec_for(Frequency("W", 4))
    assert weekly.freq == "W-FRI" and weekly.lags == Frequency("W", 4).lags == (1, 2, 4, 52)
    assert spec_for("ME").freq == "ME" and spec_for("MS").date_features == ("month",)
    with pytest.raises(ValueError):
        spec_for("H")


def test_weekly_features_are_weeks_back_and_the_forecast_is_dated_on_the_weeks():
    fridays = pd.date_range("2021-01-01", periods=120, freq="7D")
    frame = pd.DataFrame({ID: "I0", TIME: fridays, TARGET: np.arange(120.0)})
    out = feature_frame(frame, spec_for(Frequency("W", 4)))
    for lag in (1, 2, 4, 52):  # the value k weeks back is y - k
        np.testing.assert_array_equal(out[f"lag{lag}"], out[TARGET] - lag)
    np.testing.assert_allclose(out["rolling_mean_lag1_window_size4"], out[TARGET] - 2.5)
    assert (out["dayofyear"] == out[TIME].dt.dayofyear).all() and out[TIME].min() == fridays[52]
    rng = np.random.default_rng(0)
    history = pd.concat([pd.DataFrame({"item_id": f"S{i}", "date": fridays,
                                       "quantity": rng.poisson(10 + 5 * i, 120).astype(float)}) for i in range(4)])
    model = LightGBMGlobal()
    forecast = model.forecast(history, 6, (0.1, 0.9))
    assert sorted(forecast["date"].unique()) == list(pd.date_range(fridays[-1] + pd.Timedelta(weeks=1), periods=6,
                                                                   freq="7D"))
    assert model.last_fit.trained_to == Frequency("W", 4).periods(
        np.array([(fridays[-1] - pd.Timestamp("1970-01-01")).days]))[0] - 6
    level = history.groupby("item_id")["quantity"].mean()
    point = forecast.groupby("item_id")["forecast"].mean()
    assert np.allclose(point, level.reindex(point.index), rtol=0.35)  # weekly totals, not days


def weekly_sales(n_items: int = 12, days: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days)
    rows = []
    for i in range(n_items):
        level = 5 + 3 * i
        pattern = 1 + 0.5 * (dates.dayofweek >= 5)
        rows.append(pd.DataFrame({"item_id": f"SKU{i}", "date": dates,
                                  "quantity": rng.poisson(level * pattern).astype(float)}))
    return pd.concat(rows, ignore_index=True)


def test_lgbm_is_registered_and_forecasts_the_contract_frame():
    model = ModelFactory.create("lgbm")
    assert ModelFactory.label("lgbm") == "LightGBM (global)"
    history = weekly_sales()
    out = model.forecast(history, 14, (0.1, 0.5, 0.9))
    assert len(out) == 12 * 14 and (out["model"] == "lgbm").all()
    assert (out["q0.1"] <= out["q0.5"]).all() and (out["q0.5"] <= out["q0.9"]).all()
    # it learnt the weekend: weekend forecasts above weekday ones for the big items
    big = out[out["item_id"] == "SKU11"]
    weekend = big["date"].dt.dayofweek >= 5
    assert big.loc[weekend, "forecast"].mean() > 1.2 * big.loc[~weekend, "forecast"].mean()


def test_a_model_trained_up_to_the_as_of_date_never_sees_later_days():
    history = weekly_sales()
    cut = pd.Timestamp("2024-06-01")
    later = history["date"] > cut
    spiked = history.copy()
    spiked.loc[later, "quantity"] *= 50  # what the held-out days hold must not change anything
    model = LightGBMGlobal()
    # the model sees the full spiked history first (it is cached), then the history up to the as-of date
    model.forecast(prepare_history(spiked), 14)
    full = prepare_history(spiked)
    as_of = np.full(full.n_items, (cut - pd.Timestamp("1970-01-01")).days)
    seen = model.forecast(full.truncate(as_of), 14, (0.1, 0.9))
    fresh = LightGBMGlobal().forecast(history[~later], 14, (0.1, 0.9))
    pd.testing.assert_frame_equal(seen, fresh)
    assert seen["date"].min() == cut + pd.Timedelta(days=1)
    assert seen["forecast"].max() < 5 * history.loc[~later, "quantity"].max()
    # trained on the days up to the as-of date minus the horizon: those last days calibrate the bands
    assert model.last_fit.trained_to == (cut - pd.Timestamp("1970-01-01")).days - 14


def test_one_validation_model_serves_every_origin_and_never_sees_a_day_after_one():
    # auto's check of the global model: one training up to the earliest origin minus the horizon forecasts
    # from every origin; what the days after an origin hold must not change that origin's forecast or bands
    history = prepare_history(weekly_sales(days=240))
    last, horizon = int(history.last_day.max()), 14
    early, late = last - 2 * horizon - 7, last - horizon  # 21 days apart: more than a horizon
    model = LightGBMGlobal()
    fits = model.validate(history, horizon, [late, early])
    assert set(fits) == {early, late} and fits[early].trained_to == fits[late].trained_to == early - horizon
    assert model.validate(history, horizon, [early, late]) is fits  # cached, as a fit is
    # the earliest origin's forecast and bands are what lgbm itself makes for the history up to that origin
    own = LightGBMGlobal().fit(history.truncate(np.full(history.n_items, early), min_days=1), horizon)
    np.testing.assert_allclose(fits[early].point, own.point)
    np.testing.assert_allclose(fits[early].errors, own.errors)
    # the latest origin's bands come from the earliest origin's errors on the days up to it
    actual = history.tail_matrix()[:, -(last - early) : -(last - early) + horizon]
    np.testing.assert_allclose(fits[late].errors, actual - fits[early].point)
    for origin in (early, late):
        spiked = history.quantity.copy()
        spiked[history.days > origin] *= 50
        other = LightGBMGlobal().validate(replace(history, quantity=spiked), horizon, [early, late])
        for day in (d for d in (early, late) if d <= origin):
            np.testing.assert_array_equal(other[day].point, fits[day].point)
            np.testing.assert_array_equal(other[day].errors, fits[day].errors)
    with pytest.raises(ValueError, match="at least a horizon"):
        model.validate(history, horizon, [late, late - horizon + 1])


def test_concurrent_requests_for_one_fit_train_it_once(monkeypatch):
    # auto's threads and a plain lgbm request in the app may ask for the same fit at once: one trains, the
    # others wait for it
    trained = []
    original = LightGBMGlobal._pipeline

    def counting(self, *args):
        trained.append(1)
        return original(self, *args)

    monkeypatch.setattr(LightGBMGlobal, "_pipeline", counting)
    model, history = LightGBMGlobal(), prepare_history(weekly_sales(seed=4))
    with ThreadPoolExecutor(max_workers=3) as pool:
        fits = list(pool.map(lambda _: model.fit(history, 7), range(3)))
    assert len(trained) == 1 and fits[0] is fits[1] is fits[2]


def test_one_fit_serves_the_forecast_and_the_sample_paths():
    history = prepare_history(weekly_sales())
    model = LightGBMGlobal()
    model.forecast(history, 7)
    first = model.last_fit
    paths = model.sample_paths(history, 7, n_paths=50)
    assert model.last_fit is first
    assert paths.values.shape == (12, 50, 7) and (paths.values >= 0).all()


def promo_sales(n_items: int = 10, days: int = 240, seed: int = 3) -> pd.DataFrame:
    """Demand triples on promotion days (a 0/1 ``promo`` column, about one day in five)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days)
    frames = []
    for i in range(n_items):
        promo = (rng.random(days) < 0.2).astype(float)
        qty = rng.poisson((4 + 2 * i) * (1 + 2 * promo)).astype(float)
        frames.append(pd.DataFrame({"item_id": f"P{i}", "date": dates, "quantity": qty, "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def test_a_planned_promotion_raises_the_forecast_on_its_days_only():
    history = promo_sales()
    start = history["date"].max() + pd.Timedelta(days=1)
    days = pd.date_range(start, periods=14)
    planned = {3, 4, 10}  # steps (0-based) with a promotion
    calendar = KnownFuture.from_frame(pd.DataFrame({
        "item_id": np.repeat(history["item_id"].unique(), 14),
        "date": np.tile(days, 10),
        "promo": np.tile([1.0 if s in planned else 0.0 for s in range(14)], 10),
    }))
    out = LightGBMGlobal().forecast(history, 14, (0.1, 0.9), calendar.frame)
    step = (out["date"] - start).dt.days
    on = step.isin(planned)
    ratio = out[on].groupby("item_id")["forecast"].mean() / out[~on].groupby("item_id")["forecast"].mean()
    assert (ratio > 1.8).all(), ratio
    # the same model without the calendar: no day stands out like that
    plain = LightGBMGlobal().forecast(history.drop(columns="promo"), 14)
    flat = plain[on.to_numpy()].groupby("item_id")["forecast"].mean() / \
        plain[~on.to_numpy()].groupby("item_id")["forecast"].mean()
    assert (flat < 1.5).all(), flat


def test_known_future_covariates_align_with_the_horizon_and_name_missing_rows():
    history = prepare_history(promo_sales(n_items=2, days=30))
    last = history.frame["date"].max()
    calendar = KnownFuture.from_frame(pd.DataFrame({
        "item_id": ["P0", "P0", "P1", "OTHER"],
        "date": [last + pd.Timedelta(days=1), last + pd.Timedelta(days=3), last + pd.Timedelta(days=2), last],
        "promo": [1, 0, 1, 1],
    }))
    values = future_values(calendar, history, 3)["promo"]
    np.testing.assert_array_equal(values, [[1.0, np.nan, 0.0], [np.nan, 1.0, np.nan]])
    missing = calendar.missing(history, 3)
    assert list(zip(missing["item_id"], (missing["date"] - last).dt.days)) == [("P0", 2), ("P1", 1), ("P1", 3)]


def test_a_bad_known_future_frame_is_rejected_with_every_problem_listed():
    with pytest.raises(InvalidInputError) as caught:
        KnownFuture.from_frame(pd.DataFrame({
            "item_id": ["A", "A", "B", "C"],
            "date": ["2024-01-01", "2024-01-01", "not a date", "2024-01-02"],
            "price": [1.0, 2.0, 3.0, "cheap"],
        }))
    rows = {(p.row, p.problem) for p in caught.value.problems}
    assert rows == {(3, "repeated (item_id, date) pair"), (4, "unparsable date"), (5, "non-numeric price")}


def test_the_calendar_gives_the_history_its_past_values():
    sales = promo_sales(n_items=1, days=5).drop(columns="promo")
    calendar = KnownFuture.from_frame(pd.DataFrame({"item_id": ["P0"], "date": ["2024-01-03"], "promo": [1]}))
    joined = calendar.join_history(sales)
    assert joined["promo"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_the_cli_takes_a_calendar_for_the_forecast_and_the_backtest(tmp_path, capsys):
    from forecasting.cli import main

    history = promo_sales(n_items=6)
    history.drop(columns="promo").to_csv(tmp_path / "sales.csv", index=False)
    start = history["date"].max() + pd.Timedelta(days=1)
    future = pd.DataFrame({"item_id": np.repeat(history["item_id"].unique(), 7),
                           "date": np.tile(pd.date_range(start, periods=7), 6),
                           "promo": np.tile([0, 0, 1, 0, 0, 0, 0], 6)})
    pd.concat([history[["item_id", "date", "promo"]], future]).to_csv(tmp_path / "calendar.csv", index=False)
    out = tmp_path / "forecast.csv"
    assert main(["forecast", "--input", str(tmp_path / "sales.csv"), "--model", "lgbm", "--horizon", "7",
                 "--calendar", str(tmp_path / "calendar.csv"), "--output", str(out)]) == 0
    forecast = pd.read_csv(out, parse_dates=["date"])
    assert set(forecast["covariates"]) == {"promo"}  # the output names the covariates the model used
    on = forecast["date"] == start + pd.Timedelta(days=2)
    assert forecast.loc[on, "forecast"].sum() > 1.8 * forecast.loc[~on, "forecast"].sum() / 6
    scores = tmp_path / "scores.csv"
    assert main(["backtest", "--input", str(tmp_path / "sales.csv"), "--model", "lgbm,ma7", "--horizon", "7",
                 "--calendar", str(tmp_path / "calendar.csv"), "--output", str(scores)]) == 0
    assert set(pd.read_csv(scores)["model"]) >= {"lgbm", "ma7"}
    capsys.readouterr()
    assert main(["forecast", "--input", str(tmp_path / "sales.csv"), "--model", "lgbm", "--horizon", "7",
                 "--calendar", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: calendar file not found")


def test_band_shifts_are_the_wider_of_the_items_own_and_the_pooled_normalised_errors():
    from forecasting.modes.ml.lightgbm import band_shifts

    errors = np.array([[-1.0, 0, 1, 2], [0, 0, 0, 4], [np.nan] * 4])  # mean absolute errors 1, 1, none
    point = np.array([[2.0] * 4, [2.0] * 4, [4.0] * 4])
    # own quantiles at 0.25/0.75: (-0.25, 1.25) and (0, 1); pooled errors / MAE: -1,0,0,0,0,1,2,4 -> (0, 1.25);
    # the third item: scale = median MAE per unit forecast (0.5) x its forecast 4 = 2 -> (0, 2.5)
    np.testing.assert_allclose(band_shifts(errors, point, (0.25, 0.75)), [[-0.25, 1.25], [0, 1.25], [0, 2.5]])
