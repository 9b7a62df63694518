"""Chronos-2's cross-learning option on the tiny random-weight model: items of a batch forecast jointly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.core.errors import ModelUnavailableError
from forecasting.modes.ml.chronos2 import Chronos2Model
from forecasting.modes.ml.loading import CROSS_LEARNING_BATCH_SIZE, read_settings, reset_pipeline


def sales(n_items: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end="2024-04-29", periods=60)
    return pd.concat([pd.DataFrame({"item_id": f"SKU{i}", "date": dates,
                                    "quantity": rng.poisson(5 + 10 * i, 60).astype(float)}) for i in range(n_items)],
                     ignore_index=True)


@pytest.fixture
def tiny(tiny_chronos_dir):
    reset_pipeline()
    yield
    reset_pipeline()


def first_item(frame: pd.DataFrame) -> np.ndarray:
    return frame.loc[frame["item_id"] == "SKU0", ["forecast", "q0.1", "q0.9"]].to_numpy()


def test_with_cross_learning_an_items_forecast_depends_on_the_items_beside_it(tiny):
    history = sales()
    alone = history[history["item_id"] == "SKU0"]
    levels = (0.1, 0.9)
    independent = Chronos2Model(cross_learning=False)
    # (batching changes only the last bits of float arithmetic)
    np.testing.assert_allclose(first_item(independent.forecast(history, 7, levels)),
                               first_item(independent.forecast(alone, 7, levels)), rtol=1e-5)
    joint = Chronos2Model(cross_learning=True)
    together = first_item(joint.forecast(history, 7, levels))
    assert not np.allclose(together, first_item(joint.forecast(alone, 7, levels)), rtol=1e-3)
    # alone, there is nothing to learn across: the same numbers as without the option
    np.testing.assert_allclose(first_item(joint.forecast(alone, 7, levels)),
                               first_item(independent.forecast(alone, 7, levels)), rtol=1e-5)
    assert joint.version != independent.version


def test_the_environment_switches_cross_learning_on_with_its_batch_size(tiny, monkeypatch):
    monkeypatch.setenv("CHRONOS_CROSS_LEARNING", "1")
    settings = read_settings()
    assert settings.cross_learning and settings.batch_size == CROSS_LEARNING_BATCH_SIZE
    assert Chronos2Model().uses_cross_learning()
    history = sales()
    np.testing.assert_array_equal(first_item(Chronos2Model().forecast(history, 7, (0.1, 0.9))),
                                  first_item(Chronos2Model(cross_learning=True).forecast(history, 7, (0.1, 0.9))))
    monkeypatch.setenv("CHRONOS_CROSS_LEARNING", "maybe")
    with pytest.raises(ModelUnavailableError, match="CHRONOS_CROSS_LEARNING"):
        read_settings()
    assert not Chronos2Model().availability().available


def test_a_calendar_reaches_chronos2_as_known_future_covariates(tiny):
    from forecasting.core.covariates import KnownFuture
    from forecasting.core.history import prepare_history

    history = sales()
    rng = np.random.default_rng(5)
    days = pd.date_range(history["date"].min(), history["date"].max() + pd.Timedelta(days=7))
    calendar = pd.DataFrame({"item_id": np.repeat(history["item_id"].unique(), len(days)),
                             "date": np.tile(days, 4), "promo": (rng.random(4 * len(days)) < 0.3).astype(float)})
    known = KnownFuture.from_frame(calendar)
    model = Chronos2Model()
    # the calendar gives the history its past values and the forecast days their future ones
    with_calendar = model.forecast(known.add_past(prepare_history(history)), 7, (0.1, 0.9), known.frame)
    merged = history.merge(calendar, on=["item_id", "date"])
    future = calendar[calendar["date"] > history["date"].max()]
    np.testing.assert_array_equal(with_calendar[["forecast", "q0.1", "q0.9"]].to_numpy(),
                                  model.forecast(merged, 7, (0.1, 0.9), future)[["forecast", "q0.1", "q0.9"]].to_numpy())
    without = model.forecast(history, 7, (0.1, 0.9))
    assert not np.allclose(with_calendar["forecast"], without["forecast"], rtol=1e-4)
