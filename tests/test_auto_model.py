"""auto: per-item choice on a rolling-origin validation inside the history, ensembles, fallback, Chronos-2."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.quality.calculator import OVERALL, QualityCalculator
from forecasting.modes.auto import (
    ENSEMBLE,
    FALLBACK_MODEL,
    MIN_ORIGINS,
    NO_DEMAND,
    SCORE_LEVELS,
    AutoModel,
    Validation,
    default_pool,
)
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.baselines import MovingAverage7, SeasonalNaive
from forecasting.modes.statistical.empirical import flat

PASTA = Path(__file__).resolve().parents[2] / "shared/data/pasta/sales.csv.gz"


@pytest.fixture(scope="module")
def pasta() -> pd.DataFrame:
    if not PASTA.exists():
        pytest.skip(f"pasta data not found at {PASTA}")
    sales = pd.read_csv(PASTA, parse_dates=["date"])
    return sales[sales["item_id"].isin(sorted(sales["item_id"].unique())[:24])]


def test_each_item_is_forecast_by_the_model_it_was_given(pasta):
    new = pd.DataFrame({"item_id": "NEW", "date": pd.date_range(end=pasta["date"].max(), periods=30), "quantity": 2.0})
    history = pd.concat([pasta, new], ignore_index=True)
    out = AutoModel(global_model=None).forecast(history, 14, [0.1, 0.9])  # the global stage: tests below
    assert list(out.columns) == ["item_id", "date", "model", "forecast", "q0.1", "q0.9", "chosen_model", "choice"]
    chosen = out.groupby("item_id")[["chosen_model", "choice"]].first()
    assert chosen.loc["NEW", "chosen_model"] == FALLBACK_MODEL
    assert chosen.loc["NEW", "choice"].startswith("fallback: history too short to validate")
    assert chosen.drop(index="NEW")["choice"].str.startswith("validated").all()
    pool = default_pool()
    # every model forecasts each item from that item's history alone, so one run over all items serves
    alone = {m.name: m.forecast(history, 14, [0.1, 0.9]) for m in [*pool, ModelFactory.create(FALLBACK_MODEL)]}
    for item, (model, _) in chosen.iterrows():
        got = out[out["item_id"] == item]
        if model == ENSEMBLE:  # the median of every pool model's forecast, day by day
            own = [f.loc[f["item_id"] == item, "forecast"].to_numpy() for name, f in alone.items()
                   if name in {m.name for m in pool}]
            np.testing.assert_allclose(got["forecast"], np.median(own, axis=0), atol=1e-12)
        else:  # a single model: its very numbers, bands included
            own = alone[model][alone[model]["item_id"] == item]
            np.testing.assert_allclose(got[["forecast", "q0.1", "q0.9"]], own[["forecast", "q0.1", "q0.9"]])
    assert (chosen["chosen_model"] == ENSEMBLE).sum() > len(chosen) / 2


def test_a_model_that_is_clearly_right_for_an_item_is_chosen_over_the_ensemble():
    # a strong weekly pattern with little noise: a weekday model beats the flat majority of the pool by far
    days = pd.date_range("2023-01-01", periods=500)
    pattern = np.array([2.0, 2.0, 3.0, 3.0, 8.0, 20.0, 1.0])[days.dayofweek]
    noise = np.random.default_rng(5).poisson(0.3, len(days))
    history = pd.DataFrame({"item_id": "weekly", "date": days, "quantity": pattern + noise})
    [choice] = AutoModel(challenger=None, global_model=None).choose(history, 14)
    assert choice.model.startswith(("seasonal-ses", "seasonal-naive")), choice
    assert "lower score than the ensemble" in choice.reason


def test_the_validation_score_is_wape_plus_wql_over_rolling_origins_by_hand():
    rng = np.random.default_rng(3)
    y = rng.poisson(4, (2, 120)).astype(float)
    y[1, :80] = np.nan  # a shorter item
    level = np.full(y.shape, 3.5)
    fit = flat(level, y, horizon=5)
    validation = Validation(fit.y, 5)
    got = validation.score(fit)
    for i in range(2):
        width = fit.y.shape[1]
        errors, actuals = [], []
        for k in range(26):
            origin = width - 1 - 5 - 14 * k
            if origin < 0 or np.isnan(fit.y[i, : origin + 1]).sum() > origin - 6:  # needs 7 days of history
                continue
            actuals.append(fit.y[i, origin + 1 : origin + 6])
            errors.append(actuals[-1] - 3.5)
        errors, actuals = np.array(errors), np.array(actuals)
        wape = np.abs(errors).sum() / actuals.sum()
        losses = []
        for q in SCORE_LEVELS:
            band = 3.5 + np.quantile(errors, q, axis=0)  # each step's band from that step's errors
            losses.append(2 * np.maximum(q * (actuals - band), (q - 1) * (actuals - band)).sum() / actuals.sum())
        assert got[i] == pytest.approx(wape + np.mean(losses), rel=1e-12)
    assert validation.n_origins.tolist() == [8, 3]


def test_too_short_a_history_falls_back_and_says_so():
    # origins are the days T-1-14-14k with 7 days of history behind them: 62 days give 3, 63 give 4
    days = pd.date_range("2024-01-01", periods=14 + 7 + 14 * (MIN_ORIGINS - 1) - 1)
    history = pd.DataFrame({"item_id": "x", "date": days, "quantity": np.arange(len(days)) % 5.0})
    choice = AutoModel().choose(history, 14)
    assert choice[0].model == FALLBACK_MODEL and f"(3 of {MIN_ORIGINS} origins)" in choice[0].reason
    longer = pd.concat([history, pd.DataFrame({"item_id": "x", "date": [days[-1] + pd.Timedelta(days=1)],
                                               "quantity": [1.0]})])
    assert AutoModel().choose(longer, 14)[0].reason.startswith("validated")


def test_a_dead_item_gets_no_demand_with_zero_bands_and_an_active_one_keeps_its_bands():
    days = pd.date_range("2024-01-01", periods=627)
    rng = np.random.default_rng(3)
    dead = np.r_[rng.poisson(3.0, 400), np.zeros(227)]  # sold ~3 a day, then nothing for 227 days
    active = rng.poisson(3.0, len(days)).astype(float)
    history = pd.concat([pd.DataFrame({"item_id": "dead", "date": days, "quantity": dead}),
                         pd.DataFrame({"item_id": "active", "date": days, "quantity": active})])
    model = AutoModel(challenger=None)
    out = model.forecast(history, 14, [0.1, 0.5, 0.9]).set_index("item_id")
    gone = out.loc["dead"]
    assert (gone[["forecast", "q0.1", "q0.5", "q0.9"]].to_numpy() == 0.0).all()
    assert set(gone["chosen_model"]) == {NO_DEMAND}
    assert set(gone["choice"]) == {"no recent demand: no sale in the last 227 days"}
    assert ModelFactory.label(NO_DEMAND) == "No demand (dead item)"
    alive = out.loc["active"]
    assert NO_DEMAND not in set(alive["chosen_model"]) and (alive["q0.9"] - alive["q0.1"] >= 2.0).all()
    paths = model.sample_paths(history, 14, n_paths=50, seed=1)
    by_item = dict(zip(paths.item_ids, paths.values))
    assert np.nansum(by_item["dead"]) == 0.0 and np.nansum(by_item["active"]) > 0.0


def test_auto_never_sees_the_days_a_backtest_scores(pasta):
    result = QualityCalculator.backtest(pasta, ["auto"], horizon=14, windows=2, quantiles=[0.1, 0.9])
    cutoff = pasta["date"].max() - pd.Timedelta(days=14)
    window = result.forecasts[result.forecasts["window"] == 1]
    seen = ModelFactory.create("auto").forecast(pasta[pasta["date"] <= cutoff], 14, [0.1, 0.9])
    np.testing.assert_allclose(window["forecast"], seen["forecast"])
    assert window["chosen_model"].tolist() == seen["chosen_model"].tolist()
    # changing the scored days changes nothing the model saw
    changed = pasta.assign(quantity=np.where(pasta["date"] > cutoff, 999.0, pasta["quantity"]))
    again = QualityCalculator.backtest(changed, ["auto"], horizon=14, windows=1, quantiles=[0.1, 0.9]).forecasts
    np.testing.assert_allclose(again["forecast"], window["forecast"])


def test_a_smaller_pool_and_its_version(pasta):
    small = AutoModel(pool=[MovingAverage7(), SeasonalNaive()], challenger=None, global_model=None)
    assert small.version != AutoModel(challenger=None).version
    out = small.forecast(pasta, 7)
    assert set(out["chosen_model"]) <= {ENSEMBLE, "ma7", "seasonal-naive"}
    assert set(out["choice"]) >= {"validated: median of the 2 pool models"}


def test_pasta_auto_beats_statsforecasts_best_intermittent_peer_on_wape(pasta):
    from statsforecast.models import CrostonSBA

    sales = pd.read_csv(PASTA, parse_dates=["date"])
    result = QualityCalculator.backtest(sales, ["auto"], horizon=28, windows=4, quantiles=[0.1, 0.5, 0.9])
    auto = result.metrics.set_index("item_id").loc[OVERALL]
    fc = result.forecasts
    peer = []
    from forecasting.core.history import prepare_history

    y = prepare_history(sales).tail_matrix()
    actual = []
    for w in (1, 2, 3, 4):
        cut = y.shape[1] - 28 * w
        peer.append(np.array([CrostonSBA().forecast(row[:cut], 28)["mean"] for row in y]))
        actual.append(y[:, cut : cut + 28])
    actual, croston = np.concatenate(actual, axis=1), np.concatenate(peer, axis=1)
    croston_wape = 100 * np.abs(actual - croston).sum() / actual.sum()
    assert auto["wape"] < croston_wape - 2  # a clear margin, not noise
    assert 0.7 <= auto["coverage"] <= 0.9
    assert len(fc) == 118 * 28 * 4


class _Overshoot(MovingAverage7):
    """A deliberately poor pool member (ten times MA7), so that the challenger has items to win."""

    name = "overshoot"

    def fit(self, y, horizon):
        fit = super().fit(y, horizon)
        level = fit.forecasts(1) * 10.0
        return flat_tail(fit.y, level)


def flat_tail(y, level):
    from forecasting.modes.statistical.empirical import Fit

    return Fit(y, lambda h: level, period=1)


def test_chronos2_challenges_the_statistical_choice_and_its_items_get_its_own_forecast(pasta, tiny_chronos_dir):
    auto = AutoModel(pool=[_Overshoot()], global_model=None)
    assert auto.version != AutoModel(pool=[_Overshoot()], challenger=None, global_model=None).version
    out = auto.forecast(pasta, 14, [0.1, 0.5, 0.9])
    chosen = out.groupby("item_id")[["chosen_model", "choice"]].first()
    won = chosen.index[chosen["chosen_model"] == "chronos-2"]
    assert len(won) and chosen.loc[won, "choice"].str.startswith("validated on 2 origins against").all()
    own = ModelFactory.create("chronos-2").forecast(pasta[pasta["item_id"].isin(won)], 14, [0.1, 0.5, 0.9])
    mine = out[out["item_id"].isin(won)]
    np.testing.assert_allclose(mine[["forecast", "q0.1", "q0.9"]], own[["forecast", "q0.1", "q0.9"]])
    paths = auto.sample_paths(pasta[pasta["item_id"].isin(won[:2])], 14, n_paths=50)
    assert paths.values.shape == (2, 50, 14) and (paths.values >= 0).all()  # Chronos' own daily draws
    # outside Chronos-2's levels (0.01-0.99) it does not challenge
    assert "chronos-2" not in set(auto.forecast(pasta, 7, [0.001, 0.5])["chosen_model"])


def payday_sales(n_items: int = 8, days: int = 400, seed: int = 2) -> pd.DataFrame:
    """Items that sell ~1 a day and 30 on the first two days of every month: a day-of-month pattern.

    No statistical pool model knows the day of the month (the weekly ones know the weekday), the
    global model has it as a feature and sees it in every item.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days)
    frames = []
    for i in range(n_items):
        level = 1.0 + 0.5 * i
        qty = rng.poisson(np.where(dates.day <= 2, 30.0 * level, level)).astype(float)
        frames.append(pd.DataFrame({"item_id": f"M{i}", "date": dates, "quantity": qty}))
    return pd.concat(frames, ignore_index=True)


def test_auto_gives_the_global_model_the_items_where_it_validates_better():
    from forecasting.modes.auto_global import BLEND, GLOBAL_ORIGINS

    history = payday_sales()
    auto = AutoModel(challenger=None)
    out = auto.forecast(history, 28, [0.1, 0.5, 0.9])
    chosen = out.groupby("item_id")[["chosen_model", "choice"]].first()
    taken = chosen[chosen["chosen_model"] == "lgbm"]
    assert len(taken) >= 6, chosen
    assert taken["choice"].str.startswith(f"validated on {GLOBAL_ORIGINS} origins").all()
    assert taken["choice"].str.endswith("(sales only)").all()
    # its items get the global model's own numbers (one model trained on all items, as lgbm alone)
    own = ModelFactory.create("lgbm").forecast(history, 28, [0.1, 0.5, 0.9])
    mine, theirs = out[out["item_id"].isin(taken.index)], own[own["item_id"].isin(taken.index)]
    np.testing.assert_allclose(mine[["forecast", "q0.1", "q0.9"]], theirs[["forecast", "q0.1", "q0.9"]])
    # and it forecast the paydays: the first two days of the month far above the rest
    first = mine["date"].dt.day <= 2
    assert mine.loc[first, "forecast"].mean() > 5 * mine.loc[~first, "forecast"].mean()
    assert ModelFactory.label(BLEND) == "Blend with LightGBM (global)"
    # without the global model, the statistical pool keeps them
    plain = AutoModel(challenger=None, global_model=None).forecast(history, 28)
    assert "lgbm" not in set(plain["chosen_model"]) and auto.version != AutoModel(global_model=None).version
    paths = auto.sample_paths(history, 28, n_paths=50)
    assert paths.values.shape[0] == 8 and paths.values.shape[2] == 28 and (np.nan_to_num(paths.values) >= 0).all()
    assert not np.isnan(paths.values[:, :20]).any()  # every item has its paths, the global model's too


def test_auto_trains_the_global_model_once_to_validate_and_once_to_forecast(monkeypatch):
    from forecasting.core.models.base import training_clock
    from forecasting.modes.ml.lightgbm import LightGBMGlobal

    trained = []
    original = LightGBMGlobal._pipeline

    def counting(self, history, frame, cutoff, statics):
        trained.append(cutoff)
        return original(self, history, frame, cutoff, statics)

    monkeypatch.setattr(LightGBMGlobal, "_pipeline", counting)
    history = payday_sales(days=300, seed=11)  # data no other test trained on (the registry's lgbm caches)
    last = (history["date"].max() - pd.Timestamp("1970-01-01")).days
    with training_clock() as clock:
        AutoModel(challenger=None).forecast(history, 28, [0.1, 0.9])
    # one model up to the earliest origin (last - 56) minus the horizon validates both origins; lgbm's own fit
    # (up to the end minus the horizon) forecasts, trained in a thread beside it and beside the statistical pool
    assert sorted(trained) == [last - 84, last - 28]
    assert clock[0] > 0  # the threads' training time is counted on the caller's clock (the run record)
    ModelFactory.create("lgbm").forecast(history, 28)  # a plain lgbm request is served auto's forecast fit
    assert len(trained) == 2


def test_auto_keeps_the_statistical_choice_where_the_global_model_is_no_better():
    # a strong weekly pattern with little noise in a single item: weekly SES is as good as the global model
    days = pd.date_range("2023-01-01", periods=500)
    pattern = np.array([2.0, 2.0, 3.0, 3.0, 8.0, 20.0, 1.0])[days.dayofweek]
    noise = np.random.default_rng(5).poisson(0.3, len(days))
    history = pd.DataFrame({"item_id": "weekly", "date": days, "quantity": pattern + noise})
    [choice] = AutoModel(challenger=None).choose(history, 14)
    assert choice.model.startswith(("seasonal-ses", "seasonal-naive")), choice


def test_with_a_calendar_auto_compares_the_global_model_with_and_without_it_and_says_which():
    from forecasting.core.covariates import KnownFuture

    rng = np.random.default_rng(7)
    dates = pd.date_range("2023-01-01", periods=420)
    frames = []
    for i in range(8):
        promo = (rng.random(len(dates)) < 0.15).astype(float)
        qty = rng.poisson((2.0 + i) * (1 + 4 * promo)).astype(float)
        frames.append(pd.DataFrame({"item_id": f"P{i}", "date": dates, "quantity": qty, "promo": promo}))
    history = pd.concat(frames, ignore_index=True)
    horizon = 28
    future_days = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=horizon)
    calendar = KnownFuture.from_frame(pd.concat([
        history[["item_id", "date", "promo"]],
        pd.DataFrame({"item_id": np.repeat(history["item_id"].unique(), horizon), "date": np.tile(future_days, 8),
                      "promo": np.tile((np.arange(horizon) % 5 == 0).astype(float), 8)}),
    ], ignore_index=True))
    out = AutoModel(challenger=None).forecast(history, horizon, [0.1, 0.9], calendar.frame)
    chosen = out.groupby("item_id")[["chosen_model", "choice"]].first()
    taken = chosen[chosen["chosen_model"].isin(["lgbm", "blend"])]
    assert len(taken) >= 6, chosen
    assert taken["choice"].str.contains(r"\(with the calendar: pooled validation score [\d.]+ with the calendar, "
                                        r"[\d.]+ without\)$").all(), taken["choice"].tolist()
    # the planned promotion days (every 5th) are forecast far above the others
    step = (out["date"] - future_days[0]).dt.days
    on = out[(step % 5 == 0) & out["item_id"].isin(taken.index)]["forecast"].mean()
    off = out[(step % 5 != 0) & out["item_id"].isin(taken.index)]["forecast"].mean()
    assert on > 2.5 * off
    # the global model's items forecast its point and bands
    alone = ModelFactory.create("lgbm").forecast(history, horizon, [0.1, 0.9], calendar.frame)
    mine, its = (frame[frame["item_id"].isin(taken.index)].sort_values(["item_id", "date"]).reset_index(drop=True)
                 for frame in (out, alone))
    np.testing.assert_allclose(mine[["forecast", "q0.1", "q0.9"]], its[["forecast", "q0.1", "q0.9"]])


def test_a_blend_forecasts_the_global_models_point_inside_the_mean_of_both_bands():
    """Noisy weekly-patterned items: the pooled validation blends; the point is lgbm's (the lower WAPE on pasta,
    74.9 against 76.3 for the mean of both points), the band the mean of the item's choice's and lgbm's."""
    rng = np.random.default_rng(7)
    dates = pd.date_range("2023-01-01", periods=420)
    weekly = np.array([1, 1, 1, 1, 2, 3, 0.5])[dates.dayofweek]
    history = pd.concat([pd.DataFrame({"item_id": f"P{i}", "date": dates,
                                       "quantity": rng.poisson((0.5 + 0.3 * i) * weekly).astype(float)})
                         for i in range(12)], ignore_index=True)
    out = AutoModel(challenger=None).forecast(history, 28, [0.1, 0.9]).sort_values(["item_id", "date"])
    assert set(out["chosen_model"]) == {"blend"}
    assert out["choice"].str.contains("lgbm's point with the mean of ").all()
    alone = ModelFactory.create("lgbm").forecast(history, 28, [0.1, 0.9]).sort_values(["item_id", "date"])
    np.testing.assert_allclose(out["forecast"], alone["forecast"])
    assert not np.allclose(out["q0.9"], alone["q0.9"])  # the statistical choice's band is in the mean


# --- weekly and monthly buckets (issue 17) --------------------------------------------------------------------


def test_weekly_and_monthly_pools_have_theta_instead_of_the_seasonal_ses_fitted_per_week_or_month():
    from forecasting.core.calendar import Frequency, in_bucket

    for code, daily in [("D", True), ("W", False), ("M", False)]:
        with in_bucket(Frequency(code)):
            names = [m.name for m in default_pool()]
        assert ("seasonal-ses" in names) is daily, code
        assert ("theta" in names) is not daily, code
        assert len(names) == 14
        assert {"seasonal-ses(alpha=0.03)", "seasonal-ses(alpha=0.1)", "seasonal-ses(alpha=0.3)"} <= set(names)
    dates = pd.date_range("2022-01-07", periods=160, freq="W-FRI")
    history = pd.DataFrame({"item_id": "x", "date": dates,
                            "quantity": np.random.default_rng(2).poisson(30, len(dates)).astype(float)})
    [choice] = AutoModel(challenger=None, global_model=None).choose(history, 8)  # the statistical pool's rule
    assert (choice.model, choice.reason) == (ENSEMBLE, "validated: median of the 14 pool models")


@pytest.mark.parametrize("freq, periods, horizon", [("W-FRI", 150, 8), ("MS", 48, 6), ("D", 500, 14)])
def test_ensemble_bands_are_the_median_of_the_members_bands_in_weeks_and_months(freq, periods, horizon):
    # noise around a level: every item gets the ensemble; its point is the members' median forecast, and in
    # weeks and months its band offsets are the median of the members' band offsets (step by step, level by
    # level), each member's from its own errors; daily data keeps the ensemble's own bands
    from forecasting.core.calendar import Frequency, in_bucket

    dates = pd.date_range("2020-01-03", periods=periods, freq=freq)
    rng = np.random.default_rng(11)
    history = pd.concat([pd.DataFrame({"item_id": f"i{k}", "date": dates,
                                       "quantity": rng.poisson(80 + 20 * k, len(dates)).astype(float)})
                         for k in range(3)], ignore_index=True)
    levels = [0.1, 0.5, 0.9]
    out = AutoModel(challenger=None, global_model=None).forecast(history, horizon, levels)  # the pool's ensemble
    ensemble = out[out["chosen_model"] == ENSEMBLE]
    assert ensemble["item_id"].nunique() >= 2
    with in_bucket(Frequency.parse(freq)):
        pool = default_pool()
    members = [m.forecast(history, horizon, levels) for m in pool]
    offsets = np.stack([f.set_index("item_id").loc[ensemble["item_id"].unique(), [f"q{q}" for q in levels]]
                        .to_numpy() - f.set_index("item_id").loc[ensemble["item_id"].unique(), ["forecast"]]
                        .to_numpy() for f in members])
    points = np.stack([f.set_index("item_id").loc[ensemble["item_id"].unique(), "forecast"].to_numpy()
                       for f in members])
    np.testing.assert_allclose(ensemble["forecast"], np.median(points, axis=0), atol=1e-9)
    own = ensemble[[f"q{q}" for q in levels]].to_numpy() - ensemble[["forecast"]].to_numpy()
    if freq == "D":
        assert not np.allclose(own, np.median(offsets, axis=0))
    else:
        np.testing.assert_allclose(own, np.median(offsets, axis=0), atol=1e-9)


def test_weekly_ensemble_paths_take_their_errors_from_the_members_in_turn():
    from forecasting.core.calendar import Frequency, in_bucket
    from forecasting.modes.auto import ensemble_paths, median_fit
    from forecasting.modes.statistical.empirical import error_trajectories

    rng = np.random.default_rng(4)
    y = rng.poisson(20, (2, 150)).astype(float)
    fits = [flat(np.full(y.shape, level), y, 4) for level in (18.0, 20.0, 23.0)]
    with in_bucket(Frequency("W", 4)):
        ensemble = median_fit(fits)
        paths = ensemble_paths(ensemble, 4)
        trajectories = [error_trajectories(f, 4) for f in fits]
        assert paths.shape == trajectories[0].shape
        for j in range(paths.shape[1]):  # the median's point (20) plus member j mod 3's trajectory j
            np.testing.assert_allclose(paths[:, j], np.maximum(20.0 + trajectories[j % 3][:, j], 0.0))
    with in_bucket(Frequency("D")):  # daily: the ensemble's own errors (those of the level 20)
        np.testing.assert_allclose(ensemble_paths(median_fit(fits), 4),
                                   np.maximum(20.0 + error_trajectories(fits[1], 4), 0.0))
