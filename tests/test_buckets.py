"""Weekly and monthly data (issue 17): the bucket detected or declared, dates in buckets, every model in the bucket's season.

Point forecasts are checked against statsforecast with the same season
(52 weeks, 12 months) on the real pasta data aggregated to weeks and months.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsforecast import models as sf

from forecasting.core.calendar import DAILY, Frequency, detect_frequency, horizon_bounds
from forecasting.core.errors import ForecastingError, InvalidInputError
from forecasting.core.history import prepare_history, to_day_numbers
from forecasting.core.models.base import quantile_column
from forecasting.modes.factory import ModelFactory

PASTA = Path(__file__).resolve().parents[2] / "shared/data/pasta/sales.csv.gz"
LEVELS = [0.1, 0.5, 0.9]


def _days(*dates: str) -> np.ndarray:
    return np.array(dates, dtype="datetime64[D]").astype(np.int64)


# --- the bucket of the data -------------------------------------------------------------------------------


def test_dates_seven_days_apart_on_one_weekday_are_weekly_with_that_anchor():
    days = np.arange(np.datetime64("2024-01-05"), np.datetime64("2024-04-01"), 7).astype(np.int64)  # Fridays
    freq = detect_frequency(days)
    assert (freq.code, freq.anchor, freq.alias, freq.season) == ("W", 4, "W-FRI", 52)
    assert str(freq.dates(freq.periods(days[-1:]) + 1)[0])[:10] == "2024-04-05"


@pytest.mark.parametrize("dates, anchor, following", [
    (("2024-01-01", "2024-02-01", "2024-03-01"), 0, "2024-04-01"),
    (("2024-01-31", "2024-02-29", "2024-03-31"), -1, "2024-04-30"),
])
def test_dates_on_the_first_or_on_month_ends_are_monthly_and_keep_their_anchor(dates, anchor, following):
    freq = detect_frequency(_days(*dates))
    assert (freq.code, freq.anchor, freq.season) == ("M", anchor, 12)
    assert str(freq.dates(freq.periods(_days(dates[-1])) + 1)[0])[:10] == following


def test_other_dates_are_daily_and_day_numbers_are_their_own_periods():
    days = np.arange(19000, 19040)
    assert detect_frequency(days) == DAILY
    np.testing.assert_array_equal(DAILY.periods(days), days)


def test_a_monthly_file_with_a_mid_month_date_is_refused_naming_the_row():
    days = np.concatenate([_days("2024-01-01", "2024-02-01", "2024-03-15"),
                           np.arange(np.datetime64("2024-04", "M"), np.datetime64("2025-04", "M"))
                           .astype("datetime64[D]").astype(np.int64)])
    with pytest.raises(InvalidInputError) as err:
        detect_frequency(days, np.arange(2, 2 + len(days)))
    text = str(err.value)
    assert "mixes buckets" in text and "monthly (1st)" in text and "not on the 1st of a month at row 4" in text


def test_a_few_sparse_daily_rows_are_daily():
    assert detect_frequency(_days("2024-03-01", "2024-03-10", "2024-03-08")) == DAILY


def test_a_declared_weekly_bucket_on_daily_dates_is_refused():
    with pytest.raises(InvalidInputError, match=r"declared weekly .*--freq W.*not on a"):
        detect_frequency(np.arange(19000, 19030), declared="W")


def test_horizon_bounds_and_lead_time_conversion_per_bucket():
    assert horizon_bounds("D") == (1, 365) and horizon_bounds("W") == (1, 104) and horizon_bounds("M") == (1, 36)
    assert Frequency("W").periods_covering(10) == pytest.approx(10 / 7)
    assert Frequency("M").periods_covering(365.25 / 12) == pytest.approx(1.0)
    assert DAILY.periods_covering(10) == 10


# --- forecasts dated in the data's buckets ----------------------------------------------------------------


def _weekly_frame(weekday_start: str = "2024-01-05", weeks: int = 30) -> pd.DataFrame:
    dates = pd.date_range(weekday_start, periods=weeks, freq="7D")
    rows = [pd.DataFrame({"item_id": item, "date": dates, "quantity": np.arange(weeks) % 5 + k})
            for k, item in enumerate(["a", "b"])]
    frame = pd.concat(rows, ignore_index=True)
    return frame.drop(index=[3, 40])  # a missing week is a zero bucket


def test_a_weekly_file_on_fridays_is_forecast_on_fridays_from_the_week_after_the_as_of_week():
    frame = _weekly_frame()
    out = ModelFactory.create("seasonal-naive").forecast(frame, 4, LEVELS)
    as_of = frame["date"].max()
    expected = pd.date_range(as_of + pd.Timedelta(days=7), periods=4, freq="7D")
    for _, part in out.groupby("item_id"):
        assert list(part["date"]) == list(expected)
    assert (out["date"].dt.dayofweek == 4).all()


def test_a_missing_week_is_a_zero_bucket():
    prepared = prepare_history(_weekly_frame())
    assert prepared.freq == Frequency("W", 4)
    assert prepared.lengths.tolist() == [30, 30] and prepared.quantity[3] == 0.0


def test_a_weekly_horizon_is_bounded_in_weeks():
    with pytest.raises(ForecastingError, match="between 1 and 104 weeks"):
        ModelFactory.create("ma7").forecast(_weekly_frame(), 105)


@pytest.mark.parametrize("start, anchor", [("2021-01-01", "MS"), ("2021-01-31", "ME")])
def test_monthly_forecasts_keep_the_anchor(start, anchor):
    dates = pd.date_range(start, periods=24, freq=anchor)
    frame = pd.DataFrame({"item_id": "a", "date": dates, "quantity": np.arange(24.0) % 12})
    out = ModelFactory.create("seasonal-naive").forecast(frame, 3)
    assert list(out["date"]) == list(pd.date_range(dates[-1], periods=4, freq=anchor)[1:])
    # a season of 12 months: the last year repeated
    np.testing.assert_allclose(out["forecast"], [0.0, 1.0, 2.0])


def test_daily_data_is_unchanged_by_buckets():
    days = pd.date_range("2024-01-01", periods=40)
    frame = pd.DataFrame({"item_id": "a", "date": days, "quantity": np.arange(40.0) % 7})
    out = ModelFactory.create("seasonal-naive").forecast(frame, 3)
    assert list(out["date"]) == list(pd.date_range("2024-02-10", periods=3))
    np.testing.assert_allclose(out["forecast"], [5.0, 6.0, 0.0])


# --- every model in every bucket, against statsforecast ----------------------------------------------------


def _aggregate(sales: pd.DataFrame, freq: Frequency) -> pd.DataFrame:
    periods = freq.periods(to_day_numbers(sales["date"]))
    out = (sales.assign(date=freq.dates(periods)).groupby(["item_id", "date"], as_index=False)["quantity"].sum())
    sizes = out.groupby("item_id")["date"].transform("size")
    return out[sizes >= 7].reset_index(drop=True)


@pytest.fixture(scope="module", params=[Frequency("W", 0), Frequency("M", 0)], ids=["weekly", "monthly"])
def bucketed(request) -> tuple[Frequency, pd.DataFrame]:
    """Pasta aggregated to weeks (Mondays) or months (the 1st), items starting on different dates."""
    if not PASTA.exists():
        pytest.skip(f"pasta data not found at {PASTA}")
    sales = pd.read_csv(PASTA, parse_dates=["date"])
    rng = np.random.default_rng(5)
    first = {item: sales["date"].min() + pd.Timedelta(days=int(rng.integers(0, 1200)))
             for item in sales["item_id"].unique()}
    sales = sales[sales["date"] >= sales["item_id"].map(first)]
    return request.param, _aggregate(sales, request.param)


def _horizon(freq: Frequency) -> int:
    return 13 if freq.code == "W" else 6


REFERENCES = {
    "ses": lambda m: sf.SimpleExponentialSmoothingOptimized(),
    "seasonal-ses": lambda m: sf.SeasonalExponentialSmoothingOptimized(season_length=m),
    "seasonal-naive": lambda m: sf.SeasonalNaive(season_length=m),
    "croston-sba": lambda m: sf.CrostonSBA(),
    "tsb": lambda m: sf.TSB(alpha_d=0.1, alpha_p=0.1),
    "adida": lambda m: sf.ADIDA(),
    "imapa": lambda m: sf.IMAPA(),
    "holt": lambda m: sf.AutoETS(model="AAN", damped=True),
    "theta": lambda m: sf.Theta(season_length=m),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_point_forecasts_equal_statsforecast_with_the_buckets_season(bucketed, name):
    freq, history = bucketed
    if name == "holt":  # statsforecast's ETS fit is slow: a sample of items
        history = history[history["item_id"].isin(sorted(history["item_id"].unique())[::6])]
    horizon = _horizon(freq)
    prepared = prepare_history(history)
    assert prepared.freq == freq
    ours = ModelFactory.create(name).forecast(prepared, horizon)
    got = ours.pivot(index="item_id", columns="date", values="forecast").loc[prepared.item_ids].to_numpy()
    y = prepared.tail_matrix()
    seasonal = name.startswith("seasonal")
    rows = [row[~np.isnan(row)] for row in y]
    full = np.array([len(r) >= freq.season for r in rows]) if seasonal else np.ones(len(rows), dtype=bool)
    assert full.sum() >= 5
    expected = np.asarray([REFERENCES[name](freq.season).forecast(r, horizon)["mean"]
                           for r, ok in zip(rows, full) if ok])
    np.testing.assert_allclose(got[full], np.maximum(expected, 0.0), rtol=0, atol=1e-6)
    if seasonal and (~full).any():  # less than a season: the non-seasonal model (naive, SES)
        short = [r for r, ok in zip(rows, full) if not ok]
        make = sf.Naive if name == "seasonal-naive" else sf.SimpleExponentialSmoothingOptimized
        fallback = np.asarray([make().forecast(r, horizon)["mean"] for r in short])
        np.testing.assert_allclose(got[~full], np.maximum(fallback, 0.0), rtol=0, atol=1e-6)


def test_theta_forecasts_each_past_origin_from_the_data_up_to_it(bucketed):
    # the bands and auto's validation use these: statsforecast's Theta on the history cut at the origin (its
    # seasonality test, decomposition and trend line), with the weight and initial level fitted on the whole
    from statsforecast.theta import auto_theta, forecast_theta

    from forecasting.core.calendar import in_bucket

    freq, history = bucketed
    prepared = prepare_history(history[history["item_id"].isin(sorted(history["item_id"].unique())[::8])])
    horizon, m = _horizon(freq), freq.season
    y = prepared.tail_matrix()
    with in_bucket(freq):
        fit = ModelFactory.create("theta").fit(y, horizon)
    width = fit.y.shape[1]
    got, expected = [], []
    for i, row in enumerate(y):
        series = row[~np.isnan(row)]
        par = auto_theta(series, m, model="STM")["par"]
        for back in (1, 4, 2 * horizon + 1, width - horizon - 1):
            n = len(series) - back
            if n > 3:
                past = auto_theta(series[:n], m, model="STM", initial_smoothed=par["initial_smoothed"],
                                  alpha=par["alpha"])
                expected.append(forecast_theta(past, horizon)["mean"])
                got.append([fit.forecasts(h)[i, width - 1 - back] for h in range(1, horizon + 1)])
    assert len(got) >= 3 * len(y)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_weekly_bands_are_the_weibull_quantiles_of_the_past_errors():
    # 104 weekly origins: the band at level q is the point plus the errors' quantile at position q (n + 1),
    # so that the 10-90% band holds a new error 80% of the time (numpy's default: 80% x 103 / 105)
    y = np.random.default_rng(3).gamma(4.0, 5.0, 150).round()
    dates = pd.date_range("2021-01-04", periods=len(y), freq="W-MON")
    history = pd.DataFrame({"item_id": "x", "date": dates, "quantity": y})
    levels = [0.05, 0.1, 0.5, 0.9]
    out = ModelFactory.create("ma7").forecast(history, 2, levels)
    for h in (1, 2):
        origins = range(len(y) - 1 - h - 103, len(y) - h)  # the last 104 origins with an observed target
        errors = [y[t + h] - y[t - 6 : t + 1].mean() for t in origins]
        expected = y[-7:].mean() + np.quantile(errors, levels, method="weibull")
        got = out.iloc[h - 1][[quantile_column(q) for q in levels]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, np.maximum(expected, 0.0), rtol=1e-12)


@pytest.mark.parametrize("name", ["seasonal-ses", "croston-sba", "ma7", "theta", "auto"])
def test_bands_in_buckets_never_decrease_and_are_never_negative(bucketed, name):
    freq, history = bucketed
    out = ModelFactory.create(name).forecast(history, _horizon(freq), LEVELS)
    bands = out[[quantile_column(q) for q in LEVELS]].to_numpy()
    assert np.isfinite(bands).all() and (bands >= 0).all() and (out["forecast"] >= 0).all()
    assert (np.diff(bands, axis=1) >= 0).all()
    assert freq.fits(to_day_numbers(out["date"])).all()


@pytest.mark.parametrize("name", ["seasonal-naive", "tsb", "auto"])
def test_sample_paths_in_buckets(bucketed, name):
    freq, history = bucketed
    items = sorted(history["item_id"].unique())[:10]
    horizon = _horizon(freq)
    paths = ModelFactory.create(name).sample_paths(history[history["item_id"].isin(items)], horizon)
    assert paths.values.shape[0] == 10 and paths.values.shape[2] == horizon and paths.freq == freq
    values = paths.values[~np.isnan(paths.values).any(axis=2)]
    assert len(values) and (values >= 0).all()
    assert freq.fits(to_day_numbers(paths.first_date)).all()


# --- reorder on weekly and monthly paths: lead time and review period stay in days --------------------------

FRIDAY = np.datetime64("2024-03-01")  # a Friday: the first forecast week; the as-of week is 2024-02-23


def _paths(values: np.ndarray, freq: Frequency, ids: list[str]):
    from forecasting.core.models.base import SamplePaths

    return SamplePaths(np.array(ids, dtype=object), np.full(len(ids), FRIDAY, dtype="datetime64[ns]"),
                       np.asarray(values, dtype=np.float64), freq)


def _inventory(**columns) -> pd.DataFrame:
    n = len(columns["item_id"])
    base = {"on_hand": 0.0, "on_order": 0.0, "service_level": 0.95}
    base.update(columns)
    return pd.DataFrame({k: (v if isinstance(v, list) else [v] * n) for k, v in base.items()})


def test_a_ten_day_lead_time_on_weekly_constant_demand_covers_ten_sevenths_of_a_week():
    from forecasting.applications.inventory.calculator import InventoryCalculator

    weekly = Frequency("W", 4)
    paths = _paths(np.full((2, 20, 8), 70.0), weekly, ["a", "b"])
    inv = _inventory(item_id=["a", "b"], lead_time_days=[10, 7], review_period_days=[4, 0], on_hand=[150.0, 0.0])
    table = InventoryCalculator.from_paths(paths, inv, "test").set_index("item_id")
    # 10 days = 1 week + 3/7 of the next: 70 + 3/7 * 70 = 100; 14 days = 2 weeks = 140
    assert table.loc["a", "lead_time_demand"] == pytest.approx(100.0)
    assert table.loc["a", "reorder_point"] == pytest.approx(100.0)
    assert table.loc["a", "order_up_to"] == pytest.approx(140.0)
    assert table.loc["a", "safety_stock"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["b", "reorder_point"] == pytest.approx(70.0)
    # 150 on hand: 80 left after week 1, 10 after week 2, short in week 3 (dated 2024-03-15), 21 days after the
    # as-of week's date 2024-02-23
    assert table.loc["a", "stockout_date"] == pd.Timestamp("2024-03-15")
    assert table.loc["a", "days_of_cover"] == 21.0


def test_weekly_normal_demand_reorder_point_is_the_quantile_of_the_pro_rata_total():
    from statistics import NormalDist

    from forecasting.applications.inventory.calculator import InventoryCalculator

    rng = np.random.default_rng(3)
    mean, sd = 700.0, 50.0
    paths = _paths(rng.normal(mean, sd, size=(1, 20000, 4)), Frequency("W", 4), ["a"])
    inv = _inventory(item_id=["a"], lead_time_days=10, review_period_days=0)
    row = InventoryCalculator.from_paths(paths, inv, "test").iloc[0]
    # W1 + 3/7 W2 with independent weeks: mean 1000, sd 50 * sqrt(1 + (3/7)^2)
    expected = mean * 10 / 7 + NormalDist().inv_cdf(0.95) * sd * np.sqrt(1 + (3 / 7) ** 2)
    assert row["lead_time_demand"] == pytest.approx(1000.0, rel=0.002)
    assert row["reorder_point"] == pytest.approx(expected, rel=0.003)


def test_a_lead_time_on_monthly_data_is_counted_in_mean_months():
    from forecasting.applications.inventory.calculator import InventoryCalculator

    monthly = Frequency("M", 0)
    paths = _paths(np.full((1, 10, 4), 300.0), monthly, ["a"])
    paths.first_date[:] = np.datetime64("2024-03-01")
    inv = _inventory(item_id=["a"], lead_time_days=45, review_period_days=0)
    row = InventoryCalculator.from_paths(paths, inv, "test").iloc[0]
    assert row["reorder_point"] == pytest.approx(300.0 * 45 / (365.25 / 12))
    assert InventoryCalculator.required_horizon(inv, monthly) == 2  # max(28, 45) days: 1.48 months -> 2


# --- the command line -----------------------------------------------------------------------------------------


def _write(path: Path, dates, items=("A", "B")) -> Path:
    rows = [f"{item},{pd.Timestamp(d):%Y-%m-%d},{k % 5 + 1}" for item in items for k, d in enumerate(dates)]
    path.write_text("item_id,date,quantity\n" + "\n".join(rows) + "\n")
    return path


def _cli(args, capsys):
    from forecasting.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_forecasts_a_weekly_file_on_its_fridays_and_says_so(tmp_path, capsys):
    path = _write(tmp_path / "weekly.csv", pd.date_range("2023-01-06", periods=60, freq="7D"))
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "auto", "--horizon", "4"], capsys)
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out), parse_dates=["date"])
    assert sorted(frame["date"].unique()) == list(pd.date_range("2024-03-01", periods=4, freq="7D"))
    assert "weekly (Fridays)" in err


@pytest.mark.parametrize("dates, freq, expected", [
    (list(pd.date_range("2022-01-01", periods=20, freq="MS")[:-1]) + [pd.Timestamp("2023-08-15")], None,
     "mixes buckets: most dates are monthly (1st)"),
    (list(pd.date_range("2023-01-06", periods=20, freq="7D")) + list(pd.date_range("2023-06-01", periods=2)),
     None, "mixes buckets: most dates are weekly (Fridays)"),
    (list(pd.date_range("2024-01-01", periods=40)), "W", "declared weekly"),
])
def test_cli_refuses_dates_off_the_bucket_with_one_line_and_exit_2(tmp_path, capsys, dates, freq, expected):
    path = _write(tmp_path / "bad.csv", dates, items=("A",))
    args = ["forecast", "--input", str(path), "--model", "ma7", "--horizon", "3"] + (["--freq", freq] if freq else [])
    code, out, err = _cli(args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and expected in err
    assert "nothing imported" in err


def test_cli_refuses_weekly_items_beside_monthly_items_naming_the_monthly_rows(tmp_path, capsys):
    """Neither bucket alone makes the majority of rows, but together they do: one file, two buckets."""
    weekly = _write(tmp_path / "w.csv", pd.date_range("2023-01-06", periods=60, freq="7D"), items=("W1", "W2"))
    monthly = _write(tmp_path / "m.csv", pd.date_range("2022-01-01", periods=30, freq="MS"), items=("M1", "M2"))
    path = tmp_path / "mixed.csv"
    path.write_text(weekly.read_text() + "".join(monthly.read_text().splitlines(keepends=True)[1:]))
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "3"], capsys)
    assert code == 2 and out == ""
    assert "mixes buckets: most dates are weekly (Fridays)" in err and "nothing imported" in err
    # the first monthly row is line 122 (header, 120 weekly rows); 2022-04-01 is the first 1st on a Friday
    first_row = 122 + next(k for k, d in enumerate(pd.date_range("2022-01-01", periods=30, freq="MS"))
                           if d.weekday() != 4)
    assert f"not on a Friday at rows {first_row}," in err


@pytest.mark.parametrize("dates", [("2024-01-01", "2024-01-02"), ("2024-01-01", "2024-01-09", "2024-01-16")])
def test_a_few_daily_dates_on_a_1st_and_one_weekday_are_daily_not_mixed(dates):
    assert detect_frequency(_days(*dates)) == DAILY


def test_daily_data_whose_sales_fall_on_sparse_days_stays_daily():
    """Items selling every few days (a tenth of the rows on the 1st, a seventh on each weekday) are daily."""
    rng = np.random.default_rng(3)
    days = np.concatenate([np.sort(rng.choice(np.arange(19000, 19730), 60, replace=False)) for _ in range(50)])
    assert detect_frequency(days) == DAILY


def test_cli_freq_d_reads_a_monthly_file_as_daily_as_asked(tmp_path, capsys):
    path = _write(tmp_path / "monthly.csv", pd.date_range("2022-01-01", periods=20, freq="MS"))
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "2", "--freq", "D"],
                          capsys)
    assert code == 0, err
    assert out.splitlines()[1].startswith("A,2023-08-02,")  # the day after the last date


@pytest.mark.parametrize("name", ["ma7", "seasonal-naive", "ses", "seasonal-ses", "croston-sba", "tsb", "adida",
                                  "imapa", "holt", "theta", "auto"])
def test_a_weekly_history_shorter_than_a_season_is_forecast_by_every_model(name):
    out = ModelFactory.create(name).forecast(_weekly_frame(weeks=30), 6, LEVELS)
    values = out[["forecast", *[quantile_column(q) for q in LEVELS]]].to_numpy()
    assert len(out) == 12 and np.isfinite(values).all() and (values >= 0).all()


def test_a_monthly_backtest_scores_windows_of_months():
    from forecasting.applications.quality.calculator import QualityCalculator

    dates = pd.date_range("2021-01-31", periods=30, freq="ME")
    frame = pd.DataFrame({"item_id": "a", "date": dates, "quantity": np.arange(30.0) % 12 + 1})
    result = QualityCalculator.backtest(frame, ["seasonal-naive"], 3, windows=2)
    scored = result.forecasts
    assert sorted(scored["date"]) == list(dates[-6:])
    # a 12-month season on a series with a 12-month cycle: every point right
    np.testing.assert_allclose(scored["forecast"], scored["actual"])
    with pytest.raises(ForecastingError, match="between 1 and 36 months"):
        QualityCalculator.backtest(frame, ["ma7"], 40)


# --- daily data planned in weeks or months (--bucket) ---------------------------------------------------------


def _daily_file(path: Path, end: str, days: int = 120, per_day: float = 2.0) -> Path:
    dates = pd.date_range(end=end, periods=days)
    path.write_text("item_id,date,quantity\n" + "\n".join(f"A,{d:%Y-%m-%d},{per_day}" for d in dates) + "\n")
    return path


def test_daily_sales_summed_to_weeks_end_on_the_as_of_date_and_to_whole_months():
    from forecasting.core.history import aggregate_history

    dates = pd.date_range(end="2024-03-13", periods=70)  # a Wednesday
    frame = pd.DataFrame({"item_id": "A", "date": dates, "quantity": 2.0})
    weeks = aggregate_history(frame, "W")
    assert weeks.attrs["freq"] == "W-THU" and (weeks["quantity"] == 14.0).all() and len(weeks) == 10
    assert weeks["date"].iloc[-1] == pd.Timestamp("2024-03-07")  # 7 to 13 March
    months = aggregate_history(frame, "M")  # 4 January to 13 March: March unfinished, left out
    assert list(months["date"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    assert list(months["quantity"]) == [56.0, 58.0]  # 28 days of January (from the 4th); 29 of February


def test_cli_bucket_w_forecasts_weekly_totals_from_models_fitted_on_them(tmp_path, capsys):
    path = _daily_file(tmp_path / "daily.csv", "2024-03-13")
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "3", "--bucket", "W"],
                          capsys)
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out), parse_dates=["date"])
    assert list(frame["date"]) == list(pd.date_range("2024-03-14", periods=3, freq="7D"))
    np.testing.assert_allclose(frame["forecast"], 14.0)
    assert "daily, in weeks Thursday to Wednesday" in err


def test_cli_bucket_m_forecasts_from_the_last_whole_month(tmp_path, capsys):
    path = _daily_file(tmp_path / "daily.csv", "2024-03-13", days=400, per_day=1.0)
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "2", "--bucket", "M"],
                          capsys)
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out), parse_dates=["date"])
    assert list(frame["date"]) == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")]


def test_cli_bucket_on_weekly_data_is_refused(tmp_path, capsys):
    path = _write(tmp_path / "weekly.csv", pd.date_range("2023-01-06", periods=30, freq="7D"))
    code, out, err = _cli(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "3", "--bucket", "M"],
                          capsys)
    assert code == 2 and "--bucket M plans daily data" in err and err.count("\n") == 1
