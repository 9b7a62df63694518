"""QualityCalculator.metrics: hand-computed values and utilsforecast as an independent reference."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from utilsforecast import losses as ufl

from forecasting.core.errors import ForecastingError
from forecasting.applications.quality.calculator import METRIC_COLUMNS, OVERALL, QualityCalculator

LEVELS = (0.1, 0.9)


def _tiny() -> pd.DataFrame:
    """Three items of one model; every metric below is worked out by hand from these rows."""
    rows = [
        # item, actual, forecast, q0.1, q0.9, scale
        ("a", 4, 5, 3, 6, 2.0),
        ("a", 0, 1, 0, 2, 2.0),
        ("a", 6, 3, 4, 5, 2.0),
        ("a", 10, 10, 8, 12, 2.0),
        ("z", 0, 1, 0, 2, 1.0),  # all actuals zero
        ("z", 0, 2, 0, 3, 1.0),
        ("c", 5, 5, 4, 6, 0.0),  # constant history before the cutoff: scale 0
        ("c", 5, 7, 4, 6, 0.0),
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "actual", "forecast", "q0.1", "q0.9", "scale"])
    return frame.assign(model="m")


def _row(table: pd.DataFrame, item: str, model: str = "m") -> pd.Series:
    hit = table[(table["item_id"] == item) & (table["model"] == model)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_hand_computed_item_with_a_zero_actual():
    out = QualityCalculator.metrics(_tiny(), LEVELS)
    a = _row(out, "a")
    # |y-f| = 1, 1, 3, 0 (sum 5); (y-f)^2 = 1, 1, 9, 0 (sum 11); sum|y| = 20; sum(f-y) = 1+1-3+0 = -1
    assert a["n_points"] == 4 and a["n_zero_actuals"] == 1
    assert a["mae"] == pytest.approx(5 / 4)
    assert a["rmse"] == pytest.approx(math.sqrt(11 / 4))
    # MAPE leaves the zero actual out: (1/4 + 3/6 + 0/10) / 3 = 0.25 -> 25 %
    assert a["mape"] == pytest.approx(25.0)
    # WAPE keeps it: 5 / 20 -> 25 %; bias -1 / 20 -> -5 %
    assert a["wape"] == pytest.approx(25.0)
    assert a["bias"] == pytest.approx(-5.0)
    # one window: MASE = MAE / s = 1.25 / 2
    assert a["mase"] == pytest.approx(0.625)
    # rho_0.1: y-Q = 1, 0, 2, 2 -> 0.1*1 + 0 + 0.1*2 + 0.1*2 = 0.5
    # rho_0.9: y-Q = -2, -2, 1, -2 -> 0.1*2 + 0.1*2 + 0.9*1 + 0.1*2 = 1.5
    # WQL = mean(2*0.5/20, 2*1.5/20) = mean(0.05, 0.15) = 0.1
    assert a["wql"] == pytest.approx(0.1)
    # inside [q0.1, q0.9], ends included: 4 in [3,6] yes, 0 in [0,2] yes (edge), 6 in [4,5] no, 10 in [8,12] yes
    assert a["coverage"] == pytest.approx(0.75)


def test_all_zero_actuals_leave_percentages_empty_not_zero():
    z = _row(QualityCalculator.metrics(_tiny(), LEVELS), "z")
    assert z["n_points"] == 2 and z["n_zero_actuals"] == 2
    assert z["mae"] == pytest.approx(1.5)  # (1 + 2) / 2
    assert z["rmse"] == pytest.approx(math.sqrt(2.5))  # sqrt((1 + 4) / 2)
    assert np.isnan(z["mape"]) and np.isnan(z["wape"]) and np.isnan(z["bias"]) and np.isnan(z["wql"])
    assert z["mase"] == pytest.approx(1.5)  # 1.5 / 1
    assert z["coverage"] == pytest.approx(1.0)  # 0 in [0,2] and [0,3]


def test_constant_history_leaves_mase_empty():
    c = _row(QualityCalculator.metrics(_tiny(), LEVELS), "c")
    assert np.isnan(c["mase"])
    assert c["mae"] == pytest.approx(1.0)  # (0 + 2) / 2
    assert c["mape"] == pytest.approx(20.0)  # (0/5 + 2/5) / 2
    assert c["wape"] == pytest.approx(20.0)  # 2 / 10
    assert c["bias"] == pytest.approx(20.0)  # +2 / 10: over-forecast is positive
    # rho_0.1 = 0.1*1 twice = 0.2, rho_0.9 = 0.1*1 twice = 0.2 -> WQL = 2*0.2/10 = 0.04
    assert c["wql"] == pytest.approx(0.04)
    assert c["coverage"] == pytest.approx(1.0)


def test_overall_row_pools_points_and_averages_finite_mase():
    out = QualityCalculator.metrics(_tiny(), LEVELS)
    o = _row(out, OVERALL)
    assert o["n_points"] == 8 and o["n_zero_actuals"] == 3
    assert o["mae"] == pytest.approx(10 / 8)  # 5 + 3 + 2
    assert o["rmse"] == pytest.approx(math.sqrt(20 / 8))  # 11 + 5 + 4
    # non-zero actuals: 0.25, 0.5, 0 (a) and 0, 0.4 (c) -> 1.15 / 5
    assert o["mape"] == pytest.approx(23.0)
    assert o["wape"] == pytest.approx(100 * 10 / 30)  # sum|y| = 20 + 0 + 10
    assert o["bias"] == pytest.approx(100 * 4 / 30)  # -1 + 3 + 2
    assert o["mase"] == pytest.approx((0.625 + 1.5) / 2)  # c's NaN is left out
    # rho_0.1: 0.5 + 0 + 0.2 = 0.7; rho_0.9: 1.5 + (0.2 + 0.3) + 0.2 = 2.2 -> mean(1.4/30, 4.4/30)
    assert o["wql"] == pytest.approx(5.8 / 60)
    assert o["coverage"] == pytest.approx(7 / 8)  # 3 + 2 + 2


def test_columns_order_and_types():
    out = QualityCalculator.metrics(_tiny(), LEVELS)
    assert list(out.columns) == METRIC_COLUMNS
    assert list(out["item_id"]) == ["a", "z", "c", OVERALL]
    assert out["n_points"].dtype == np.int64 and out["n_zero_actuals"].dtype == np.int64


def test_mase_over_several_windows_ignores_windows_without_scale():
    scored = pd.DataFrame(
        {
            "item_id": "a",
            "model": "m",
            "actual": [10.0, 10.0, 10.0, 10.0, 10.0],
            "forecast": [8.0, 6.0, 14.0, 6.0, 110.0],
            "scale": [2.0, 2.0, 4.0, 4.0, 0.0],  # windows 1, 1, 2, 2, 3
        }
    )
    a = _row(QualityCalculator.metrics(scored, ()), "a")
    # |y-f|/s: 2/2, 4/2, 4/4, 4/4; window 3 (s = 0) is left out -> mean(1, 2, 1, 1)
    assert a["mase"] == pytest.approx(1.25)
    assert a["mae"] == pytest.approx((2 + 4 + 4 + 4 + 100) / 5)


def test_level_counts_decide_wql_and_coverage():
    tiny = _tiny()
    none = QualityCalculator.metrics(tiny, ())
    assert none["wql"].isna().all() and none["coverage"].isna().all()
    # with the median as the point forecast, rho_0.5 = |y-f|/2, so WQL = WAPE / 100
    one = QualityCalculator.metrics(tiny.assign(**{"q0.5": tiny["forecast"]}), [0.5])
    assert one["coverage"].isna().all()
    assert _row(one, "a")["wql"] == pytest.approx(0.25)  # 2 * 2.5 / 20
    assert _row(one, OVERALL)["wql"] == pytest.approx(10 / 30)


def test_models_and_items_keep_first_appearance_order():
    tiny = _tiny()
    scored = pd.concat([tiny.assign(model="x"), tiny.iloc[::-1]], ignore_index=True)
    out = QualityCalculator.metrics(scored, LEVELS)
    assert list(zip(out["model"], out["item_id"])) == [
        ("x", "a"), ("x", "z"), ("x", "c"), ("x", OVERALL),
        ("m", "a"), ("m", "z"), ("m", "c"), ("m", OVERALL),
    ]
    pd.testing.assert_frame_equal(
        out[out["model"] == "m"].reset_index(drop=True),
        out[out["model"] == "x"].reset_index(drop=True).assign(model="m"),
    )


def test_empty_scored_frame_gives_empty_metrics():
    out = QualityCalculator.metrics(_tiny().iloc[:0], LEVELS)
    assert out.empty and list(out.columns) == METRIC_COLUMNS


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.drop(columns="scale"), "missing column"),
        (lambda d: d.drop(columns="q0.9"), "q0.9"),
        (lambda d: d.assign(forecast=[np.nan] + [1.0] * 7), "forecast has 1 missing"),
        (lambda d: d.assign(item_id=OVERALL), "reserved"),
    ],
)
def test_bad_scored_frames_are_refused(change, message):
    with pytest.raises(ForecastingError, match=message):
        QualityCalculator.metrics(change(_tiny()), LEVELS)


def test_bad_level_is_refused():
    with pytest.raises(ForecastingError, match="between 0 and 1"):
        QualityCalculator.metrics(_tiny(), [0.1, 1.5])


def _random_backtest_like(seed: int = 7):
    """History of 5 items and 3 windows of 6 days scored for two models, with zeros in the actuals."""
    rng = np.random.default_rng(seed)
    items, horizon, windows, n_days = ["i0", "i1", "i2", "i3", "i4"], 6, 3, 60
    history = pd.DataFrame(
        {
            "unique_id": np.repeat(items, n_days),
            "ds": np.tile(np.arange(n_days), len(items)),
            "y": rng.poisson(np.repeat([0.8, 3.0, 10.0, 1.5, 25.0], n_days)).astype(float),
        }
    )
    history.loc[history["unique_id"] == "i0", "y"] = 0.0
    history.loc[(history["unique_id"] == "i0") & (history["ds"] % 9 == 0), "y"] = 2.0
    parts = []
    for w in range(1, windows + 1):
        cutoff = n_days - 1 - w * horizon
        seen = history[history["ds"] <= cutoff]
        scale = seen.groupby("unique_id")["y"].apply(lambda y: y.diff().abs().mean())  # per item, this window
        test = history[(history["ds"] > cutoff) & (history["ds"] <= cutoff + horizon)].assign(cutoff=cutoff)
        parts.append(test.assign(scale=test["unique_id"].map(scale)))
    df = pd.concat(parts, ignore_index=True)
    n = len(df)
    for model in ("m1", "m2"):
        df[model] = np.maximum(df["y"] + rng.normal(0, 3, n), 0)
        df[f"{model}-lo-80"] = df[model] - rng.uniform(0, 4, n)
        df[f"{model}-hi-80"] = df[model] + rng.uniform(0, 4, n)
    return history, df


def _ours(df: pd.DataFrame) -> pd.DataFrame:
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "item_id": df["unique_id"],
                    "model": m,
                    "actual": df["y"],
                    "forecast": df[m],
                    "q0.1": df[f"{m}-lo-80"],
                    "q0.9": df[f"{m}-hi-80"],
                    "scale": df["scale"],
                }
            )
            for m in ("m1", "m2")
        ],
        ignore_index=True,
    )
    return QualityCalculator.metrics(long, LEVELS).set_index(["model", "item_id"])


def test_per_item_metrics_match_utilsforecast():
    history, df = _random_backtest_like()
    ours = _ours(df)
    models = ["m1", "m2"]
    flat = df.drop(columns="cutoff")  # per item over all windows
    n = flat.groupby("unique_id").size()
    sum_abs_y = flat.groupby("unique_id")["y"].sum()
    ref = {
        "mae": ufl.mae(flat, models).set_index("unique_id"),
        "rmse": ufl.rmse(flat, models).set_index("unique_id"),
        # utilsforecast: a fraction, and zeros become NaN that the mean skips
        "mape": ufl.mape(flat, models).set_index("unique_id") * 100,
        "wape": ufl.wape(flat, models).set_index("unique_id") * 100,
        # utilsforecast bias is mean(f - y); ours is sum(f - y) / sum|y| in percent
        "bias": ufl.bias(flat, models).set_index("unique_id").mul(100 * n / sum_abs_y, axis=0),
        "coverage": ufl.coverage(flat, models, level=80).set_index("unique_id"),
        # mqloss = mean over levels of mean rho; WQL = mean over levels of 2 * sum rho / sum|y|
        "wql": ufl.mqloss(flat, {m: [f"{m}-lo-80", f"{m}-hi-80"] for m in models}, np.array(LEVELS))
        .set_index("unique_id")
        .mul(2 * n / sum_abs_y, axis=0),
        # MASE per (cutoff, item) with the scale of the history up to that cutoff; each window has
        # the same number of points, so the mean over windows is the mean over points of |y-f|/s
        "mase": ufl.mase(df, models, seasonality=1, train_df=history, time_col="ds")
        .groupby("unique_id")[models]
        .mean(),
    }
    for metric, table in ref.items():
        for m in models:
            expected = table[m].sort_index()
            got = ours.loc[m, metric].loc[expected.index]
            np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=1e-9, err_msg=metric)
    assert ours.loc[("m1", "i0"), "n_zero_actuals"] == int((flat.query("unique_id == 'i0'")["y"] == 0).sum())


def test_overall_metrics_match_utilsforecast_on_pooled_points():
    _, df = _random_backtest_like()
    ours = _ours(df)
    pooled = df.drop(columns="cutoff").assign(unique_id="all")
    for m in ("m1", "m2"):
        o = ours.loc[(m, OVERALL)]
        assert o["mae"] == pytest.approx(ufl.mae(pooled, [m])[m].item())
        assert o["rmse"] == pytest.approx(ufl.rmse(pooled, [m])[m].item())
        assert o["mape"] == pytest.approx(100 * ufl.mape(pooled, [m])[m].item())
        assert o["wape"] == pytest.approx(100 * ufl.wape(pooled, [m])[m].item())
        assert o["coverage"] == pytest.approx(ufl.coverage(pooled, [m], level=80)[m].item())
        items = ours.loc[m].drop(index=OVERALL)
        assert o["mase"] == pytest.approx(items["mase"].mean())
        assert o["n_points"] == len(pooled)
