"""QualityCalculator.backtest: windows and cutoffs by hand, no look-ahead, references, the pasta data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from utilsforecast import losses as ufl

from forecasting.core.errors import ForecastingError, InvalidInputError, UnknownModelError
from forecasting.core.history import prepare_history
from forecasting.applications.quality.calculator import METRIC_COLUMNS, OVERALL, QualityCalculator

PASTA = Path(__file__).resolve().parents[1].parent / "shared/data/pasta/sales.csv.gz"


def _series(item: str, start: str, values) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        {"item_id": item, "date": pd.date_range(start, periods=len(values), freq="D"), "quantity": values}
    )


def _two_ramps() -> pd.DataFrame:
    """a: 2024-01-03..01-22 with y = 1..20; b: the same days with y = 2, 4, ..., 40 (the data is as of 01-22)."""
    return pd.concat(
        [_series("a", "2024-01-03", np.arange(1, 21)), _series("b", "2024-01-03", 2 * np.arange(1, 21))],
        ignore_index=True,
    )


def _rows(forecasts: pd.DataFrame, model: str, item: str, window: int) -> pd.DataFrame:
    return forecasts.query("model == @model and item_id == @item and window == @window")


def test_two_windows_have_the_hand_computed_cutoffs_dates_and_values():
    calls = []
    result = QualityCalculator.backtest(
        _two_ramps(), ["ma7", "seasonal-naive"], horizon=3, windows=2, progress=lambda d, t: calls.append((d, t))
    )
    fc = result.forecasts
    assert list(fc.columns) == ["item_id", "model", "window", "cutoff", "date", "actual", "forecast"]
    assert len(fc) == 2 * 2 * 2 * 3  # models x items x windows x horizon
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]

    # item a, window 1: cutoff = as of 01-22 - 3 days = 01-19; scored 01-20..01-22 (y = 18, 19, 20);
    # MA7 saw y = 1..17, so it forecasts mean(11..17) = 14
    w1 = _rows(fc, "ma7", "a", 1)
    assert (w1["cutoff"] == pd.Timestamp("2024-01-19")).all()
    assert list(w1["date"]) == list(pd.date_range("2024-01-20", "2024-01-22"))
    assert list(w1["actual"]) == [18, 19, 20]
    assert list(w1["forecast"]) == pytest.approx([14, 14, 14])
    # window 2: cutoff 01-22 - 6 days = 01-16, scored 01-17..01-19, MA7 = mean(8..14) = 11
    w2 = _rows(fc, "ma7", "a", 2)
    assert (w2["cutoff"] == pd.Timestamp("2024-01-16")).all()
    assert list(w2["date"]) == list(pd.date_range("2024-01-17", "2024-01-19"))
    assert list(w2["actual"]) == [15, 16, 17]
    assert list(w2["forecast"]) == pytest.approx([11, 11, 11])
    # item b has the same cutoffs, 01-19 and 01-16: every item is cut on the same days
    b1, b2 = _rows(fc, "ma7", "b", 1), _rows(fc, "ma7", "b", 2)
    assert (b1["cutoff"] == pd.Timestamp("2024-01-19")).all() and (b2["cutoff"] == pd.Timestamp("2024-01-16")).all()
    assert list(b1["actual"]) == [36, 38, 40] and list(b1["forecast"]) == pytest.approx([28] * 3)  # 2*mean(11..17)
    assert list(b2["actual"]) == [30, 32, 34] and list(b2["forecast"]) == pytest.approx([22] * 3)  # 2*mean(8..14)
    # seasonal naive at cutoff 01-19 repeats the week 01-13..01-19: 01-20 <- 01-13 (y = 11) ...
    assert list(_rows(fc, "seasonal-naive", "a", 1)["forecast"]) == pytest.approx([11, 12, 13])

    m = result.metrics.set_index(["model", "item_id"])
    # a: errors 4, 5, 6 in both windows -> MAE 5; steps of the seen history are all 1 -> s = 1, MASE 5
    assert m.loc[("ma7", "a"), "mae"] == pytest.approx(5.0) and m.loc[("ma7", "a"), "mase"] == pytest.approx(5.0)
    # b: errors 8, 10, 12 -> MAE 10; steps are 2 -> MASE 5
    assert m.loc[("ma7", "b"), "mae"] == pytest.approx(10.0) and m.loc[("ma7", "b"), "mase"] == pytest.approx(5.0)
    assert m.loc[("ma7", "a"), "n_points"] == 6
    # bias of a: sum(f - y) = 3*14 - 57 + 3*11 - 48 = -30 over sum|y| = 105
    assert m.loc[("ma7", "a"), "bias"] == pytest.approx(-3000 / 105)


def test_an_item_that_stopped_selling_is_cut_and_scored_on_the_datas_as_of_date():
    # "gone" sold 4 a day for 30 days and nothing in the 30 days before the data's last day (2024-03-01)
    history = pd.concat([_series("busy", "2024-01-01", np.arange(61.0)), _series("gone", "2024-01-01", [4.0] * 30)])
    fc = QualityCalculator.backtest(history, ["ma7"], horizon=7, windows=2).forecasts
    gone = fc[fc["item_id"] == "gone"]
    # both windows lie in its silent month: cutoffs 02-23 and 02-16, the same as every item's
    assert sorted(gone["cutoff"].unique()) == [pd.Timestamp("2024-02-16"), pd.Timestamp("2024-02-23")]
    assert gone["date"].max() == pd.Timestamp("2024-03-01") and (gone["actual"] == 0).all()
    assert np.allclose(gone["forecast"], 0.0)  # the zero days before each cutoff, not its last sales


def test_metrics_rows_per_model_items_in_history_order_then_overall():
    history = pd.concat([_series("b", "2024-01-01", np.arange(30)), _series("a", "2024-01-01", np.arange(30))])
    result = QualityCalculator.backtest(history, ["seasonal-naive", "ma7"], horizon=5, windows=2)
    assert list(result.metrics.columns) == METRIC_COLUMNS
    assert list(zip(result.metrics["model"], result.metrics["item_id"])) == [
        ("seasonal-naive", "b"), ("seasonal-naive", "a"), ("seasonal-naive", OVERALL),
        ("ma7", "b"), ("ma7", "a"), ("ma7", OVERALL),
    ]


def test_model_never_sees_the_days_after_the_cutoff():
    # 30 days at 10, then 5 days at 1000 right after window 1's cutoff
    history = _series("x", "2024-03-01", [10.0] * 30 + [1000.0] * 5)
    result = QualityCalculator.backtest(history, ["ma7", "seasonal-naive"], horizon=5, windows=2, quantiles=[0.1, 0.9])
    fc = result.forecasts
    w1 = fc[fc["window"] == 1]
    assert (w1["cutoff"] == pd.Timestamp("2024-03-30")).all()
    assert (w1["actual"] == 1000).all()
    # forecasts and bands come from the flat history only (its past errors are all zero)
    assert np.allclose(w1[["forecast", "q0.1", "q0.9"]].to_numpy(), 10.0)
    w2 = fc[fc["window"] == 2]
    assert (w2["actual"] == 10).all() and np.allclose(w2["forecast"], 10.0)
    m = result.metrics.set_index(["model", "item_id"])
    for model in ("ma7", "seasonal-naive"):
        assert m.loc[(model, "x"), "mae"] == pytest.approx(5 * 990 / 10)
        assert m.loc[(model, "x"), "coverage"] == pytest.approx(0.5)  # window 2 inside, window 1 outside
        assert np.isnan(m.loc[(model, "x"), "mase"])  # the history seen was constant in both windows
        assert np.isnan(m.loc[(model, OVERALL), "mase"])


def test_days_missing_from_the_input_are_scored_as_zero_sales():
    full = _series("g", "2024-01-01", np.arange(1, 29))
    history = full[~full["date"].isin([pd.Timestamp("2024-01-25"), pd.Timestamp("2024-01-26")])]
    result = QualityCalculator.backtest(history, ["ma7"], horizon=7, windows=1)
    fc = result.forecasts
    assert list(fc["date"]) == list(pd.date_range("2024-01-22", "2024-01-28"))
    assert list(fc["actual"]) == [22, 23, 24, 0, 0, 27, 28]
    assert result.metrics["n_zero_actuals"].tolist() == [2, 2]


def _random_history(seed: int = 3) -> pd.DataFrame:
    """Four items of different lengths and last dates, with intermittent zeros."""
    rng = np.random.default_rng(seed)
    parts = [
        _series(f"s{i}", start, rng.poisson(lam, n))
        for i, (start, n, lam) in enumerate(
            [("2023-01-01", 80, 4.0), ("2023-01-10", 95, 0.7), ("2022-12-20", 70, 15.0), ("2023-01-05", 88, 2.0)]
        )
    ]
    return pd.concat(parts, ignore_index=True)


def _pad_to_as_of(history: pd.DataFrame) -> pd.DataFrame:
    """Each item on every day from its first date to the last date of all (docs: missing days are zeros), by pandas."""
    as_of = history["date"].max()
    parts = []
    for item, part in history.groupby("item_id"):
        days = pd.date_range(part["date"].min(), as_of, freq="D")
        full = part.set_index("date")["quantity"].reindex(days, fill_value=0.0)
        parts.append(pd.DataFrame({"item_id": item, "date": days, "quantity": full.to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def test_point_forecasts_and_mase_match_independent_computations():
    history = _pad_to_as_of(_random_history())
    result = QualityCalculator.backtest(_random_history(), ["ma7"], horizon=6, windows=3)
    fc = result.forecasts
    # MA7 at each cutoff, recomputed with pandas from the raw history: the mean of the 7 days up to the cutoff
    h = history.sort_values(["item_id", "date"])
    h["ma7"] = h.groupby("item_id")["quantity"].transform(lambda y: y.rolling(7).mean())
    expected = fc.merge(h[["item_id", "date", "ma7"]], left_on=["item_id", "cutoff"], right_on=["item_id", "date"])
    assert len(expected) == len(fc) == 4 * 3 * 6
    np.testing.assert_allclose(expected["forecast"], expected["ma7"], rtol=1e-12)
    # utilsforecast's MASE per (cutoff, item) scales by the history up to that cutoff; mean over windows
    train = history.rename(columns={"item_id": "unique_id", "date": "ds", "quantity": "y"})
    df = fc.rename(columns={"item_id": "unique_id", "date": "ds", "actual": "y", "forecast": "ma7"})
    ref = ufl.mase(df[["unique_id", "ds", "cutoff", "y", "ma7"]], ["ma7"], 1, train, time_col="ds")
    ref = ref.groupby("unique_id")["ma7"].mean()
    ours = result.metrics.set_index("item_id").loc[ref.index, "mase"]
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-9)
    mae_ref = ufl.mae(df[["unique_id", "y", "ma7"]], ["ma7"]).set_index("unique_id")["ma7"]
    np.testing.assert_allclose(result.metrics.set_index("item_id").loc[mae_ref.index, "mae"], mae_ref, rtol=1e-12)


def test_prepared_history_gives_the_same_result_as_a_frame():
    history = _random_history()
    a = QualityCalculator.backtest(history, ["seasonal-naive"], horizon=5, windows=2, quantiles=[0.2, 0.8])
    b = QualityCalculator.backtest(prepare_history(history), ["seasonal-naive"], 5, 2, [0.8, 0.2])
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    assert list(a.forecasts.columns[-3:]) == ["forecast", "q0.2", "q0.8"]


@pytest.mark.parametrize("windows", [0, -1, 1.5, True, "2"])
def test_bad_window_counts_are_refused(windows):
    with pytest.raises(ForecastingError, match="windows"):
        QualityCalculator.backtest(_two_ramps(), ["ma7"], horizon=3, windows=windows)


def test_items_too_short_for_the_windows_are_named():
    history = pd.concat([_series("long", "2024-01-01", np.ones(40)), _series("short", "2024-01-21", np.ones(20))])
    with pytest.raises(InvalidInputError, match=r"at least 37 days.*short \(20 days\)") as err:
        QualityCalculator.backtest(history, ["ma7"], horizon=10, windows=3)
    assert "long" not in str(err.value)


@pytest.mark.parametrize(
    "models, error, message",
    [
        (["ma7", "nope"], UnknownModelError, "unknown model 'nope'"),
        ([], ForecastingError, "no model given"),
        (["ma7", "MA7"], ForecastingError, "more than once"),
    ],
)
def test_bad_model_lists_are_refused(models, error, message):
    with pytest.raises(error, match=message):
        QualityCalculator.backtest(_two_ramps(), models, horizon=3)


def test_bad_horizon_and_quantiles_are_refused():
    with pytest.raises(ForecastingError, match="horizon"):
        QualityCalculator.backtest(_two_ramps(), ["ma7"], horizon=0)
    with pytest.raises(ForecastingError, match="quantile"):
        QualityCalculator.backtest(_two_ramps(), ["ma7"], horizon=3, quantiles=[0.5, 1.0])


def test_pasta_ma7_band_covers_roughly_its_nominal_80_percent():
    if not PASTA.exists():
        pytest.skip(f"pasta data not found at {PASTA}")
    history = pd.read_csv(PASTA)
    result = QualityCalculator.backtest(history, ["ma7", "seasonal-naive"], horizon=28, windows=4, quantiles=[0.1, 0.9])
    overall = result.metrics[result.metrics["item_id"] == OVERALL].set_index("model")
    n_items = history["item_id"].nunique()
    assert (overall["n_points"] == n_items * 28 * 4).all()
    print(f"pasta overall coverage [q0.1, q0.9]: {overall['coverage'].round(4).to_dict()}")
    assert 0.65 <= overall.loc["ma7", "coverage"] <= 0.95
    assert 0.65 <= overall.loc["seasonal-naive", "coverage"] <= 0.95
    # both forecast the same total over whole weeks (4 x last week = 28 x its mean), so their bias agrees
    assert overall.loc["ma7", "bias"] == pytest.approx(overall.loc["seasonal-naive", "bias"])
