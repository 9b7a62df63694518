"""The statistical model library against statsforecast (the reference), on the real pasta data and edge cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsforecast import models as sf

from forecasting.core.history import prepare_history
from forecasting.core.models.base import quantile_column
from forecasting.modes.factory import ModelFactory
from forecasting.modes.statistical.exponential import SimpleExponentialSmoothing, WeeklyExponentialSmoothing

PASTA = Path(__file__).resolve().parents[2] / "shared/data/pasta/sales.csv.gz"
HORIZON = 30
#: our model -> the statsforecast model whose point forecasts it must equal
REFERENCES = {
    "ses": lambda: sf.SimpleExponentialSmoothingOptimized(),
    "weekly-ses": lambda: sf.SeasonalExponentialSmoothingOptimized(season_length=7),
    "croston-sba": lambda: sf.CrostonSBA(),
    "tsb": lambda: sf.TSB(alpha_d=0.1, alpha_p=0.1),
    "adida": lambda: sf.ADIDA(),
    "imapa": lambda: sf.IMAPA(),
    "holt": lambda: sf.AutoETS(model="AAN", damped=True),
    "theta": lambda: sf.Theta(season_length=7),
}
LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


@pytest.fixture(scope="module")
def pasta() -> pd.DataFrame:
    """The pasta sales with ragged starts (items launched on different days) and three edge-case items."""
    if not PASTA.exists():
        pytest.skip(f"pasta data not found at {PASTA}")
    sales = pd.read_csv(PASTA, parse_dates=["date"])
    rng = np.random.default_rng(11)
    first = {item: sales["date"].min() + pd.Timedelta(days=int(rng.integers(0, 1600)))
             for item in sales["item_id"].unique()}
    sales = sales[sales["date"] >= sales["item_id"].map(first)]
    days = pd.date_range(end=sales["date"].max(), periods=200)
    extra = pd.concat([
        pd.DataFrame({"item_id": "never-sold", "date": days, "quantity": 0.0}),
        pd.DataFrame({"item_id": "constant", "date": days, "quantity": 3.25}),
        pd.DataFrame({"item_id": "one-late-sale", "date": days, "quantity": [0.0] * 199 + [8.0]}),
    ])
    return pd.concat([sales, extra], ignore_index=True)


def _reference(history: pd.DataFrame, make, horizon: int = HORIZON) -> pd.DataFrame:
    prepared = prepare_history(history)
    y = prepared.tail_matrix()
    rows = [make().forecast(row[~np.isnan(row)], horizon)["mean"] for row in y]
    return pd.DataFrame(np.asarray(rows), index=prepared.item_ids)


@pytest.mark.parametrize("name", [n for n in REFERENCES if n != "holt"])
def test_point_forecasts_equal_statsforecast_on_real_data(pasta, name):
    ours = ModelFactory.create(name).forecast(pasta, HORIZON)
    expected = _reference(pasta, REFERENCES[name])
    got = ours.pivot(index="item_id", columns="date", values="forecast").loc[expected.index].to_numpy()
    np.testing.assert_allclose(got, np.maximum(expected.to_numpy(), 0.0), rtol=0, atol=1e-6)


def test_holt_equals_statsforecast_autoets_damped(pasta):
    items = sorted(pasta["item_id"].unique())[::6]  # statsforecast's ETS fit is slow: a sample of items
    history = pasta[pasta["item_id"].isin(items)]
    ours = ModelFactory.create("holt").forecast(history, HORIZON)
    expected = _reference(history, REFERENCES["holt"])
    got = ours.pivot(index="item_id", columns="date", values="forecast").loc[expected.index].to_numpy()
    np.testing.assert_allclose(got, np.maximum(expected.to_numpy(), 0.0), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "model, reference",
    [
        (SimpleExponentialSmoothing(0.03), lambda: sf.SimpleExponentialSmoothing(alpha=0.03)),
        (WeeklyExponentialSmoothing(0.1), lambda: sf.SeasonalExponentialSmoothing(season_length=7, alpha=0.1)),
    ],
)
def test_fixed_weight_smoothing_equals_statsforecast(pasta, model, reference):
    ours = model.forecast(pasta, HORIZON)
    expected = _reference(pasta, reference)
    got = ours.pivot(index="item_id", columns="date", values="forecast").loc[expected.index].to_numpy()
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=1e-6)
    assert model.name == f"{type(model).name}(alpha={model.alpha:g})"


@pytest.mark.parametrize("name", ["ses", "weekly-ses", "croston-sba", "tsb", "adida", "imapa", "ma7", "auto"])
def test_bands_never_decrease_in_the_level_and_are_never_negative(pasta, name):
    out = ModelFactory.create(name).forecast(pasta, 14, LEVELS)
    bands = out[[quantile_column(q) for q in LEVELS]].to_numpy()
    assert np.isfinite(bands).all() and (bands >= 0).all() and (out["forecast"] >= 0).all()
    assert (np.diff(bands, axis=1) >= 0).all()
    assert out.loc[out.item_id == "never-sold", ["forecast", *[quantile_column(q) for q in LEVELS]]].eq(0).all().all()


@pytest.mark.parametrize("name", ["weekly-ses", "croston-sba", "imapa", "auto"])
def test_sample_paths_are_joint_non_negative_and_centred_on_the_bands(pasta, name, monkeypatch):
    # auto's global-model items draw their paths day by day from their bands (tests/test_auto_model.py)
    monkeypatch.setenv("AUTO_GLOBAL_MODEL", "none")
    items = sorted(pasta["item_id"].unique())[:12]
    history = pasta[pasta["item_id"].isin(items)]
    model = ModelFactory.create(name)
    paths = model.sample_paths(history, 21)
    assert paths.values.shape[0] == 12 and paths.values.shape[2] == 21
    values = paths.values[~np.isnan(paths.values).any(axis=2)]
    assert len(values) and (values >= 0).all()
    median = model.forecast(history, 21, [0.5]).pivot(index="item_id", columns="date", values="q0.5")
    from_paths = np.nanmedian(paths.values[:, :, -1], axis=1)
    # the paths are the point forecast plus the past origins' error trajectories; at the last step they are
    # the very errors the band of that step is made of, so their median is the band's median
    np.testing.assert_allclose(from_paths, median.loc[paths.item_ids].to_numpy()[:, -1], atol=1e-9)
