"""ForecastService: same numbers as the models, cached runs, invalidation, failures, validation (both databases)."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.core.errors import ForecastingError, ModelUnavailableError, NotFoundError, UnknownModelError
from forecasting.core.models.base import Availability
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.baselines import MovingAverage7
from forecasting.applications.quality.calculator import QualityCalculator
from forecasting.services.users import UserService
from tests.support.db import inventory_frame, sales_frame, table_counts

ITEMS = {"A": 5.0, "B": 2.0, "C": 9.0}
QUANTILES = (0.1, 0.5, 0.9)


@pytest.fixture
def client(data):
    client_id = data.create_client("Acme").client_id
    data.import_sales(client_id, sales_frame(ITEMS, days=120, promo=True))
    return client_id


@pytest.fixture
def test_models() -> Iterator[dict[str, type]]:
    """Registers test-only models in the factory for one test and removes them afterwards."""
    added: dict[str, type] = {}

    def register(cls: type) -> None:
        ModelFactory.register(cls)
        added[cls.name] = cls

    yield register  # type: ignore[misc]
    for name in added:
        ModelFactory.unregister(name)


class CountingMA7(MovingAverage7):
    """MA7 that counts how often it computes (to see that a cache hit does not run the model)."""

    name = "counting-ma7"
    calls = 0

    def _predict(self, *args, **kwargs):
        type(self).calls += 1
        return super()._predict(*args, **kwargs)


class ExplodingModel(MovingAverage7):
    """Raises in the middle of a run, after reporting progress."""

    name = "exploding"

    def _predict(self, history, horizon, levels, future_covariates, progress):
        if progress:
            progress(1, 2)
        raise RuntimeError("GPU on fire")


class NaNModel(MovingAverage7):
    """Returns NaN forecasts: the run must fail before anything is stored."""

    name = "nan-model"

    def _predict(self, *args, **kwargs):
        prediction = super()._predict(*args, **kwargs)
        prediction.point[:] = np.nan
        return prediction


class MissingWeights(MovingAverage7):
    name = "missing-weights"

    def availability(self) -> Availability:
        return Availability(False, "weights not found in data/models/x; set X_MODEL")


def _runs(database, client_id):
    with database.read() as conn:
        return conn.execute(
            text("SELECT id, status, cached, source_run_id, error FROM forecast_runs WHERE client_id = :c ORDER BY id"),
            {"c": client_id},
        ).all()


def _result_rows(database, run_id):
    with database.read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM forecast_results WHERE run_id = :r"), {"r": run_id}).scalar_one()


def test_forecast_is_the_models_forecast_of_the_stored_history(service, client):
    response = service.forecast(client, ["C", "A"], "ma7", 14, QUANTILES)
    original = sales_frame(ITEMS, days=120, promo=True)
    expected = MovingAverage7().forecast(original[original.item_id.isin(["A", "C"])], 14, QUANTILES)
    pd.testing.assert_frame_equal(response.forecast, expected)
    assert (response.cached, response.model, response.model_version, response.horizon) == (False, "ma7", "2", 14)
    assert response.item_ids == ("A", "C") and response.source_run_id == response.run_id
    assert response.forecast["date"].min() == pd.Timestamp("2024-01-01") + pd.Timedelta(days=120)


def test_the_same_request_again_comes_from_the_cache_without_running_the_model(
    service, database, client, test_models
):
    test_models(CountingMA7)
    CountingMA7.calls = 0
    first = service.forecast(client, ["A", "B"], "counting-ma7", 10, QUANTILES)
    second = service.forecast(client, ["B", "A", "A"], "counting-ma7", 10, [0.9, 0.1, 0.5])
    assert CountingMA7.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.run_id > first.run_id and second.source_run_id == first.run_id
    pd.testing.assert_frame_equal(second.forecast, first.forecast)

    runs = _runs(database, client)
    assert [(r.status, bool(r.cached), r.source_run_id) for r in runs] == [
        ("succeeded", False, None),
        ("succeeded", True, first.run_id),
    ]
    assert _result_rows(database, first.run_id) == 2 * 10 and _result_rows(database, second.run_id) == 0
    history = service.data.list_runs(client)
    assert history["cached"].tolist() == [True, False] and history["source_run_id"].tolist()[0] == first.run_id


def test_a_forecast_without_quantiles_is_served_from_the_cache(service, client):
    first = service.forecast(client, ["A", "B"], "ma7", 5, ())
    second = service.forecast(client, ["A", "B"], "ma7", 5, ())
    assert (first.cached, second.cached) == (False, True)
    assert list(second.forecast.columns) == ["item_id", "date", "model", "forecast"]
    pd.testing.assert_frame_equal(second.forecast, first.forecast)


@pytest.mark.parametrize(
    "change",
    [
        {"horizon": 11},
        {"quantiles": (0.1, 0.9)},
        {"model": "seasonal-naive"},
        {"items": ["A"]},
    ],
)
def test_any_other_request_is_computed(service, client, change):
    base = {"items": ["A", "B"], "model": "ma7", "horizon": 10, "quantiles": QUANTILES}
    service.forecast(client, base["items"], base["model"], base["horizon"], base["quantiles"])
    other = {**base, **change}
    response = service.forecast(client, other["items"], other["model"], other["horizon"], other["quantiles"])
    assert response.cached is False


def test_new_sales_invalidate_the_cache_only_for_the_items_they_touch(service, data, client):
    ab = service.forecast(client, ["A", "B"], "ma7", 7)
    c = service.forecast(client, ["C"], "ma7", 7)
    last = pd.Timestamp("2024-01-01") + pd.Timedelta(days=119)
    next_day = pd.DataFrame({"item_id": ["A"], "date": [last + pd.Timedelta(days=1)], "quantity": [70.0]})
    data.import_sales(client, next_day, move_as_of=True)  # B and C gain a zero day: confirmed

    again = service.forecast(client, ["A", "B"], "ma7", 7)
    assert again.cached is False and again.run_id != ab.run_id
    a_new = again.forecast[again.forecast.item_id == "A"]
    a_old = ab.forecast[ab.forecast.item_id == "A"]
    assert a_new["date"].min() == a_old["date"].min() + pd.Timedelta(days=1)
    assert a_new["forecast"].iloc[0] > a_old["forecast"].iloc[0]  # the 70 entered the moving average
    # A's new day moved the client's as-of date: C's history gained a zero-sale day, so C is computed again
    c_new = service.forecast(client, ["C"], "ma7", 7)
    assert c_new.cached is False and c_new.forecast["date"].min() == c.forecast["date"].min() + pd.Timedelta(days=1)

    # replacing an old day of C (same dates, same as-of) changes C's data only: A and B stay cached
    data.import_sales(client, pd.DataFrame({"item_id": ["C"], "date": [pd.Timestamp("2024-01-05")], "quantity": [0.0]}))
    assert service.forecast(client, ["C"], "ma7", 7).cached is False
    assert service.forecast(client, ["A", "B"], "ma7", 7).source_run_id == again.run_id


def test_a_model_that_raises_mid_run_leaves_a_failed_run_and_no_results(
    service, database, client, test_models
):
    test_models(ExplodingModel)
    seen = []
    with pytest.raises(ForecastingError, match=r"run \d+ failed: RuntimeError: GPU on fire") as caught:
        service.forecast(client, ["A"], "exploding", 5, progress=lambda done, total: seen.append(done))
    assert isinstance(caught.value.__cause__, RuntimeError) and seen == [1]
    [run] = _runs(database, client)
    assert run.status == "failed" and "GPU on fire" in run.error
    assert _result_rows(database, run.id) == 0

    # a failed run is never a cache source: the same request runs (and fails) again
    with pytest.raises(ForecastingError):
        service.forecast(client, ["A"], "exploding", 5)
    assert [r.status for r in _runs(database, client)] == ["failed", "failed"]
    assert service.forecast(client, ["A"], "ma7", 5).cached is False


def test_non_finite_model_output_fails_the_run_before_anything_is_stored(
    service, database, client, test_models
):
    test_models(NaNModel)
    before = table_counts(database)["forecast_results"]
    with pytest.raises(ForecastingError, match="non-finite"):
        service.forecast(client, ["A", "B"], "nan-model", 5)
    [run] = _runs(database, client)
    assert run.status == "failed" and "non-finite" in run.error
    assert table_counts(database)["forecast_results"] == before


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"horizon": 0}, ForecastingError, "horizon must be between 1 and 365"),
        ({"horizon": 366}, ForecastingError, "horizon must be between 1 and 365"),
        ({"horizon": 2.5}, ForecastingError, "whole number"),
        ({"model": "prophet"}, UnknownModelError, "unknown model 'prophet'"),
        ({"quantiles": (0.5, 1.5)}, ForecastingError, "strictly between 0 and 1"),
        ({"quantiles": (0.5, 0.5)}, ForecastingError, "repeat"),
        ({"items": []}, ForecastingError, "choose at least one item"),
        ({"items": ["A", "NOPE", "ALSO-NOPE"]}, NotFoundError, "unknown item.*ALSO-NOPE, NOPE"),
    ],
)
def test_bad_requests_are_refused_before_any_run_is_recorded(
    service, database, client, kwargs, error, message
):
    request = {"items": ["A"], "model": "ma7", "horizon": 7, "quantiles": QUANTILES, **kwargs}
    with pytest.raises(error, match=message):
        service.forecast(client, request["items"], request["model"], request["horizon"], request["quantiles"])
    assert _runs(database, client) == []


def test_unavailable_models_and_items_without_sales_are_clear_errors(
    service, data, database, client, test_models
):
    test_models(MissingWeights)
    with pytest.raises(ModelUnavailableError, match="weights not found in data/models/x; set X_MODEL"):
        service.forecast(client, ["A"], "missing-weights", 7)
    data.import_inventory(client, inventory_frame(["NO-SALES"]))
    with pytest.raises(ForecastingError, match="no sales history for item.*NO-SALES"):
        service.forecast(client, ["A", "NO-SALES"], "ma7", 7)
    assert _runs(database, client) == []


def test_get_forecast_returns_stored_runs(service, client):
    computed = service.forecast(client, ["A", "B"], "ma7", 6, (0.25, 0.75))
    cached = service.forecast(client, ["A", "B"], "ma7", 6, (0.25, 0.75))
    for response in (computed, cached):
        stored = service.get_forecast(client, response.run_id)
        assert (stored.run_id, stored.cached, stored.quantiles) == (response.run_id, response.cached, (0.25, 0.75))
        pd.testing.assert_frame_equal(stored.forecast, computed.forecast)
    backtest = service.backtest(client, ["A"], ["ma7"], 7)
    with pytest.raises(NotFoundError, match="backtest run"):
        service.get_forecast(client, backtest.run_id)
    with pytest.raises(NotFoundError, match="run 999 not found"):
        service.get_forecast(client, 999)


def test_backtest_is_the_quality_calculators_on_the_stored_history(service, client):
    response = service.backtest(client, ["A", "B"], ["ma7", "seasonal-naive"], 14, windows=2, quantiles=(0.1, 0.9))
    original = sales_frame(ITEMS, days=120, promo=True)
    expected = QualityCalculator.backtest(
        original[original.item_id.isin(["A", "B"])], ["ma7", "seasonal-naive"], 14, 2, (0.1, 0.9)
    )
    pd.testing.assert_frame_equal(response.metrics, expected.metrics)
    pd.testing.assert_frame_equal(response.forecasts, expected.forecasts)
    pd.testing.assert_frame_equal(response.history, service.history(client, ["A", "B"]))
    assert (response.models, response.windows) == (("ma7", "seasonal-naive"), 2)
    run = service.data.get_run(client, response.run_id)
    assert (run.kind, run.model, run.status) == ("backtest", "ma7,seasonal-naive", "succeeded")
    assert run.parameters == {"windows": 2}


def test_reorder_uses_the_stored_parameters_and_positions(service, data, client):
    data.import_inventory(client, inventory_frame(["A", "B"], lead_time_days=4, on_hand=3.0))
    table = service.reorder(client, ["A", "B"])
    history = service.history(client, ["A", "B"])
    expected = InventoryCalculator.reorder(MovingAverage7(), history, inventory_frame(["A", "B"], 4, 3.0))
    pd.testing.assert_frame_equal(table, expected)

    overridden = service.reorder(client, ["A", "B"], service_level=0.8, lead_time_days=0, review_period_days=14)
    inventory = inventory_frame(["A", "B"], 0, 3.0).assign(review_period_days=14)
    pd.testing.assert_frame_equal(overridden, InventoryCalculator.reorder(MovingAverage7(), history, inventory, 0.8))
    assert data.list_items(client, ["A"]).iloc[0]["lead_time_days"] == 4  # overrides are not stored
    run = data.get_run(client, overridden.attrs["run_id"])
    assert run.kind == "reorder"
    assert run.parameters == {"lead_time_days": 0, "review_period_days": 14, "service_level": 0.8}


def test_reorder_of_all_items_skips_those_it_cannot_forecast(service, data, client):
    # SHORT was launched 4 days before the data's as-of date (2024-04-29): too little history for MA7
    data.import_sales(client, sales_frame({"SHORT": 3.0}, days=4, start="2024-04-26"))
    data.import_inventory(client, inventory_frame(["A", "C", "SHORT", "NO-SALES"]))
    table = service.reorder(client)
    assert sorted(table["item_id"]) == ["A", "C"]
    assert sorted(table.attrs["skipped"]) == ["NO-SALES", "SHORT"]
    with pytest.raises(ForecastingError, match="no inventory position for item.*B"):
        service.reorder(client, ["A", "B"])
    with pytest.raises(ForecastingError, match="service level"):
        service.reorder(client, ["A"], service_level=1.2)


def test_runs_record_who_asked_and_how_long_it_took(service, database, client):
    user = UserService(database, bcrypt_rounds=4).create_user(client, "pat", "long-enough-1", "planner")
    service.forecast(client, ["A"], "ma7", 7, user_id=user.user_id)
    service.forecast(client, ["A"], "ma7", 7, user_id=user.user_id)
    runs = service.data.list_runs(client, limit=5)
    assert runs["user"].tolist() == ["pat", "pat"]
    assert runs["items"].tolist() == ["A", "A"] and runs["horizon"].tolist() == [7, 7]
    assert runs["quantiles"].tolist() == ["0.1,0.5,0.9"] * 2
    assert (runs["duration_s"] > 0).all() and runs["status"].tolist() == ["succeeded"] * 2
    assert service.data.list_runs(client, limit=1)["run_id"].tolist() == [runs["run_id"].max()]


def test_repeated_cached_answers_share_one_run_row_without_a_copy_of_the_item_list(service, database, client):
    """A user's repeats of a cached request count on one row (newest time first in the history); the row
    stores no item list, yet the history and the stored run show the items of the computed run."""
    pat, sam = (UserService(database, bcrypt_rounds=4).create_user(client, name, "long-enough-1", "planner")
                for name in ("pat", "sam"))
    first = service.forecast(client, ["A", "B"], "ma7", 7, user_id=pat.user_id)
    repeats = [service.forecast(client, ["B", "A"], "ma7", 7, user_id=pat.user_id) for _ in range(5)]
    other = service.forecast(client, ["A", "B"], "ma7", 7, user_id=sam.user_id)
    last = service.forecast(client, ["A", "B"], "ma7", 7, user_id=pat.user_id)

    assert {r.run_id for r in repeats} == {last.run_id} and other.run_id not in (first.run_id, last.run_id)
    assert all(r.cached and r.source_run_id == first.run_id for r in [*repeats, other, last])
    with database.read() as conn:
        rows = conn.execute(text(
            "SELECT id, cached, times_served, item_ids, n_items FROM forecast_runs WHERE client_id = :c ORDER BY id"
        ), {"c": client}).all()
    assert [tuple(r) for r in rows] == [
        (first.run_id, False, 1, '["A", "B"]', 2), (last.run_id, True, 6, "[]", 2), (other.run_id, True, 1, "[]", 2),
    ]
    history = service.data.list_runs(client)
    assert history["run_id"].tolist() == [last.run_id, other.run_id, first.run_id]
    assert history["user"].tolist() == ["pat", "sam", "pat"] and history["times_served"].tolist() == [6, 1, 1]
    assert history["items"].tolist() == ["A,B"] * 3 and history["created_at"].iloc[0] == last.created_at
    stored = service.get_forecast(client, last.run_id)
    assert stored.cached and stored.item_ids == ("A", "B")
    pd.testing.assert_frame_equal(stored.forecast, first.forecast)


def test_auto_records_each_items_model_stores_it_with_the_run_and_serves_it_from_the_cache(service, data, client):
    first = service.forecast(client, ["A", "B", "C"], "auto", 7)
    assert not first.cached
    chosen = first.forecast.groupby("item_id")[["chosen_model", "choice"]].first()
    assert list(chosen.index) == ["A", "B", "C"] and chosen["choice"].str.startswith("validated").all()
    expected = ModelFactory.create("auto").forecast(data.history(client, ["A", "B", "C"]), 7, QUANTILES)
    pd.testing.assert_frame_equal(first.forecast, expected)

    again = service.forecast(client, ["A", "B", "C"], "auto", 7)
    assert again.cached and again.source_run_id == first.run_id
    pd.testing.assert_frame_equal(again.forecast, first.forecast, check_dtype=False)
    pd.testing.assert_frame_equal(service.get_forecast(client, again.run_id).forecast, first.forecast,
                                  check_dtype=False)
    runs = data.list_runs(client)
    counts = chosen["chosen_model"].value_counts()
    summary = ", ".join(f"{m} {n}" for m, n in sorted(counts.items(), key=lambda p: (-p[1], p[0])))
    assert runs["chosen_models"].tolist()[:2] == [summary, summary]  # the cached run shows its source's choices
    assert service.forecast(client, ["A"], "ma7", 7) and data.list_runs(client)["chosen_models"].iloc[0] == ""


@pytest.mark.parametrize("model", ["auto", "croston-sba", "weekly-ses"])
def test_the_new_models_give_reorder_tables_from_their_sample_paths(service, data, client, model):
    data.import_inventory(client, inventory_frame(["A", "B", "C"], lead_time_days=5))
    table = service.reorder(client, ["A", "B", "C"], model)
    history = data.history(client, ["A", "B", "C"])
    expected = InventoryCalculator.reorder(ModelFactory.create(model), history,
                                           data.inventory(client, ["A", "B", "C"]).drop(columns="as_of"))
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected.reset_index(drop=True))
    assert (table["reorder_point"] >= table["lead_time_demand"]).all()  # a 95% quantile above the mean


def test_a_run_records_the_seconds_its_global_model_spent_training(service, client, monkeypatch):
    from forecasting.modes.ml.lightgbm import LightGBMGlobal

    monkeypatch.setitem(ModelFactory._instances, "lgbm", LightGBMGlobal())  # no fit kept from another test
    trained = service.forecast(client, ["A", "B", "C"], "lgbm", 14)
    plain = service.forecast(client, ["A", "B", "C"], "ma7", 14)
    runs = service.data.list_runs(client).set_index("run_id")
    seconds = runs.loc[trained.run_id, "training_s"]
    assert 0 < seconds <= runs.loc[trained.run_id, "duration_s"]
    assert pd.isna(runs.loc[plain.run_id, "training_s"])  # nothing trained
    assert service.data.get_run(client, trained.run_id).training_s == seconds
    # the same request again is served from the stored run: nothing is trained
    again = service.forecast(client, ["A", "B", "C"], "lgbm", 14)
    assert again.cached and pd.isna(service.data.list_runs(client).set_index("run_id").loc[again.run_id, "training_s"])
