"""MA7 and seasonal-naive: hand-computed points, empirical bands against a brute-force reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.core.errors import InvalidInputError
from forecasting.core.models.base import quantile_column
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.empirical import ERROR_ORIGINS


def series(values, item="a", start="2024-01-01"):
    return pd.DataFrame(
        {"item_id": item, "date": pd.date_range(start, periods=len(values)), "quantity": np.asarray(values, float)}
    )


def test_ma7_point_is_mean_of_last_seven_days_flat():
    # days 1..10 sell 1..10 units: the last seven are 4..10, mean 7
    out = ModelFactory.create("ma7").forecast(series(range(1, 11)), 5)
    assert out["forecast"].tolist() == [7.0] * 5
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == [f"2024-01-{d}" for d in range(11, 16)]
    assert list(out.columns) == ["item_id", "date", "model", "forecast"]
    assert set(out["model"]) == {"ma7"}


def test_seasonal_naive_repeats_last_week():
    # last week = 4..10 (days 4..10); day 11 is the weekday of day 4
    out = ModelFactory.create("seasonal-naive").forecast(series(range(1, 11)), 9)
    assert out["forecast"].tolist() == [4, 5, 6, 7, 8, 9, 10, 4, 5]


def test_ma7_bands_on_a_trend_hand_computed():
    # y_t = t (t = 1..10). MA7 at origin t (t >= 7) is t - 3, so the step-h error is always h + 3:
    # steps 1, 2, 3 have errors 4, 5, 6 (3, 2, 1 origins); step 4 has no origin and reuses step 3.
    out = ModelFactory.create("ma7").forecast(series(range(1, 11)), 4, [0.1, 0.9])
    assert out["q0.1"].tolist() == [11, 12, 13, 13]
    assert out["q0.9"].tolist() == [11, 12, 13, 13]


def _brute_force_bands(y: np.ndarray, horizon: int, levels, rule) -> np.ndarray:
    """Independent reference: explicit loops over origins, np.quantile per step."""
    out = np.zeros((horizon, len(levels)))
    n = len(y)
    for h in range(1, horizon + 1):
        errs = []
        for t in range(6, n - h):  # origin index t needs y[t-6..t]
            errs.append(y[t + h] - rule(y, t, h))
        errs = errs[-ERROR_ORIGINS:]
        out[h - 1] = np.quantile(errs, levels) if errs else np.nan
    return out


def _ma7(y, t, h):
    return y[t - 6 : t + 1].mean()


def _snaive(y, t, h):
    k = -(-h // 7)
    return y[t + h - 7 * k]


@pytest.mark.parametrize("name,rule", [("ma7", _ma7), ("seasonal-naive", _snaive)])
def test_bands_match_brute_force_reference(name, rule):
    rng = np.random.default_rng(7)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    ya = rng.poisson(20, 500).astype(float)  # longer than ERROR_ORIGINS: only the last origins count
    yb = rng.poisson(3, 60).astype(float)
    b_start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=len(ya) - len(yb))  # both end on the as-of date
    history = pd.concat([series(ya, "a"), series(yb, "b", b_start)])
    horizon = 10
    out = ModelFactory.create(name).forecast(history, horizon, levels)
    for item, y in (("a", ya), ("b", yb)):
        got = out[out.item_id == item]
        point = got["forecast"].to_numpy()
        expected = np.maximum(point[:, None] + _brute_force_bands(y, horizon, levels, rule), 0)
        expected = np.sort(expected, axis=1)
        np.testing.assert_allclose(got[[quantile_column(q) for q in levels]].to_numpy(), expected, atol=1e-9)


def test_quantiles_are_monotone_and_non_negative():
    rng = np.random.default_rng(1)
    history = pd.concat([series(rng.poisson(lam, 200), f"i{lam}") for lam in (0.2, 1, 5, 50)])
    for name in ("ma7", "seasonal-naive"):
        out = ModelFactory.create(name).forecast(history, 28, [0.9, 0.1, 0.5])
        qs = out[["q0.1", "q0.5", "q0.9"]].to_numpy()
        assert (np.diff(qs, axis=1) >= 0).all()
        assert (qs >= 0).all() and (out["forecast"] >= 0).all()


def test_missing_days_count_as_zero_sales():
    full = series([7, 7, 7, 0, 7, 7, 7, 7])
    gappy = full[full.quantity > 0]  # day 4 missing
    model = ModelFactory.create("ma7")
    pd.testing.assert_frame_equal(model.forecast(gappy, 3, [0.5]), model.forecast(full, 3, [0.5]))
    # last seven days: 7,7,0,7,7,7,7 -> 6
    assert model.forecast(gappy, 1)["forecast"].iloc[0] == pytest.approx(6.0)


def test_unsorted_input_gives_the_same_forecast():
    rng = np.random.default_rng(3)
    history = pd.concat([series(rng.poisson(4, 40), "b"), series(rng.poisson(9, 30), "a")])
    shuffled = history.sample(frac=1.0, random_state=0)
    model = ModelFactory.create("seasonal-naive")
    a = model.forecast(history, 5, [0.2, 0.8]).sort_values(["item_id", "date"]).reset_index(drop=True)
    b = model.forecast(shuffled, 5, [0.2, 0.8]).sort_values(["item_id", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_item_with_fewer_than_seven_days_is_reported():
    history = pd.concat([series(range(10), "long"), series([1, 2, 3], "new", "2024-01-08")])  # launched 3 days ago
    with pytest.raises(InvalidInputError, match=r"1 item\(s\) have fewer than 7 days of history: new \(3 days\)"):
        ModelFactory.create("ma7").forecast(history, 3)


def test_every_item_runs_to_the_datas_as_of_date_and_is_forecast_from_the_next_day():
    # "old" sold 10 units a day until 30 days before the data's last day, then nothing
    history = pd.concat([series([5.0] * 60, "busy"), series([10.0] * 30, "old")])
    out = ModelFactory.create("ma7").forecast(history, 3, [0.1, 0.9])
    first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=60)  # the day after the as-of date, for both
    for item in ("busy", "old"):
        assert out[out.item_id == item]["date"].tolist() == list(pd.date_range(first, periods=3))
    old = out[out.item_id == "old"]
    assert old["forecast"].tolist() == [0.0] * 3  # its last week are zero-sale days, not its last sales
    snaive = ModelFactory.create("seasonal-naive").forecast(history, 7)
    assert snaive[snaive.item_id == "old"]["forecast"].tolist() == [0.0] * 7
    with pytest.raises(InvalidInputError, match="after its as-of date"):
        from forecasting.core.history import prepare_history

        prepare_history(history, as_of=pd.Timestamp("2024-02-01"))


def test_constant_series_sample_paths_are_constant():
    paths = ModelFactory.create("ma7").sample_paths(series([5.0] * 100), 10)
    values = paths.values[0]
    complete = values[~np.isnan(values).any(axis=1)]
    # origins 7..90 (1-based) have a full week behind them and ten observed days ahead
    assert complete.shape == (84, 10)
    assert (complete == 5.0).all()


def test_unknown_model_lists_available_names():
    with pytest.raises(ValueError, match="unknown model 'arima'; available: " + ", ".join(ModelFactory.names())):
        ModelFactory.create("arima")


def test_quantile_levels_that_would_share_a_column_are_refused():
    history = series(range(20))
    with pytest.raises(ValueError, match="quantile levels repeat"):
        ModelFactory.create("ma7").forecast(history, 3, [0.1, 0.1000000001])
