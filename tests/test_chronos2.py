"""Chronos-2 through the public path (ModelFactory -> forecast / sample_paths) on a tiny random-weight model.

Numbers are checked against chronos' own ``Chronos2Pipeline.predict_df`` on
the same weights (loaded separately), the reference implementation of how a
history and its covariates reach the model.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.core.errors import ForecastingError, InvalidInputError, ModelUnavailableError
from forecasting.modes.factory import ModelFactory
from forecasting.modes.ml import loading, weights
from forecasting.modes.ml.loading import download_model, get_pipeline, reset_pipeline
from tests.support.chronos import NATIVE_QUANTILES, build_tiny_chronos2

ROOT = Path(__file__).resolve().parents[1]
LEVELS = [str(q) for q in NATIVE_QUANTILES]


@pytest.fixture
def model(tiny_chronos_dir: Path):
    reset_pipeline()
    yield ModelFactory.create("chronos-2")
    reset_pipeline()


def sales(n_items: int = 6, seed: int = 0, base: float = 20.0, promo: bool = False) -> pd.DataFrame:
    """Items of different lengths (starts), all to the data's last day, weekly pattern; optional 0/1 promo."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_items):
        n = 40 + 13 * i
        dates = pd.date_range(end="2024-04-29", periods=n)
        p = (rng.random(n) < 0.3).astype(float)
        qty = rng.poisson(base * (1 + 0.3 * np.sin(np.arange(n) * 2 * np.pi / 7)) * (1 + p))
        frame = pd.DataFrame({"item_id": f"SKU{i}", "date": dates, "quantity": qty.astype(float)})
        if promo:
            frame["promo"] = p
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def future_promo(history: pd.DataFrame, horizon: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    last = history.groupby("item_id")["date"].max()
    rows = [
        pd.DataFrame({"item_id": item, "date": pd.date_range(day + pd.Timedelta(days=1), periods=horizon)})
        for item, day in last.items()
    ]
    frame = pd.concat(rows, ignore_index=True)
    frame["promo"] = (rng.random(len(frame)) < 0.5).astype(float)
    return frame


def reference(
    folder: Path, history: pd.DataFrame, horizon: int, future_df: pd.DataFrame | None = None
) -> pd.DataFrame:
    """chronos' predict_df on the same weights: native levels sorted and clipped, indexed by (item_id, date)."""
    import torch
    from chronos import BaseChronosPipeline

    pipe = BaseChronosPipeline.from_pretrained(str(folder), device_map="cpu", dtype=torch.float32)
    out = pipe.predict_df(
        history, future_df=future_df, id_column="item_id", timestamp_column="date", target="quantity",
        prediction_length=horizon, quantile_levels=NATIVE_QUANTILES,
    )
    raw = out[LEVELS].to_numpy()
    result = pd.DataFrame(np.maximum(np.sort(raw, axis=1), 0.0), columns=LEVELS)
    result["raw_min"] = raw.min(axis=1)
    result.index = pd.MultiIndex.from_arrays([out["item_id"], out["date"]])
    return result


def aligned(forecast: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    return ref.loc[pd.MultiIndex.from_arrays([forecast["item_id"], forecast["date"]])]


def test_forecast_matches_chronos_predict_df_with_dates_and_median(model, tiny_chronos_dir):
    history = sales()
    fc = model.forecast(history, 14, [0.1, 0.5, 0.9])

    assert list(fc.columns) == ["item_id", "date", "model", "forecast", "q0.1", "q0.5", "q0.9"]
    assert len(fc) == 6 * 14 and set(fc["model"]) == {"chronos-2"}
    last = history.groupby("item_id")["date"].max()
    for item, rows in fc.groupby("item_id"):
        expected = pd.date_range(last[item] + pd.Timedelta(days=1), periods=14)
        assert (rows["date"].to_numpy() == expected.to_numpy()).all()
    ref = aligned(fc, reference(tiny_chronos_dir, history, 14))
    for level in ["0.1", "0.5", "0.9"]:
        np.testing.assert_allclose(fc[f"q{level}"], ref[level], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(fc["forecast"], fc["q0.5"])  # the point forecast is the model's median


def test_quantiles_sorted_and_clipped_where_the_model_crosses_and_goes_negative(model, tmp_path, monkeypatch):
    wide = build_tiny_chronos2(tmp_path / "wide", initializer_factor=0.3)  # raw quantiles < 0 and crossing
    monkeypatch.setenv("CHRONOS_MODEL", str(wide))
    history = sales(base=3.0)
    fc = model.forecast(history, 21, [0.01, 0.05, 0.3, 0.33, 0.5, 0.77, 0.99])
    qs = fc[[c for c in fc.columns if c.startswith("q")]].to_numpy()
    assert (np.diff(qs, axis=1) >= 0).all()
    assert (qs >= 0).all() and (fc["forecast"] >= 0).all()
    ref = aligned(fc, reference(wide, history, 21))
    assert (ref["raw_min"] < 0).mean() > 0.05  # so clipping is exercised
    for level in ["0.01", "0.05", "0.3", "0.5", "0.99"]:
        np.testing.assert_allclose(fc[f"q{level}"], ref[level], rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(fc["forecast"], fc["q0.5"])


def test_other_levels_are_interpolated_linearly_between_native_ones(model):
    fc = model.forecast(sales(base=50.0), 21, [0.3, 0.33, 0.35, 0.75, 0.77, 0.8])
    assert (fc["q0.3"] > 0).all()  # no clipping, so the interpolation is exactly linear
    np.testing.assert_allclose(fc["q0.33"], fc["q0.3"] + 0.6 * (fc["q0.35"] - fc["q0.3"]), rtol=1e-6)
    np.testing.assert_allclose(fc["q0.77"], fc["q0.75"] + 0.4 * (fc["q0.8"] - fc["q0.75"]), rtol=1e-6)


def test_batch_size_does_not_change_the_numbers_and_progress_follows_batches(model, monkeypatch):
    history = sales(n_items=50, seed=3)
    monkeypatch.setenv("CHRONOS_BATCH_SIZE", "50")
    one_batch = model.forecast(history, 10, [0.1, 0.9])
    monkeypatch.setenv("CHRONOS_BATCH_SIZE", "7")
    calls: list[tuple[int, int]] = []
    batches_of_7 = model.forecast(history, 10, [0.1, 0.9], progress=lambda d, t: calls.append((d, t)))

    for column in ["forecast", "q0.1", "q0.9"]:
        np.testing.assert_allclose(one_batch[column], batches_of_7[column], rtol=1e-4, atol=1e-4)
    assert calls == [(min(k, 50), 50) for k in range(7, 57, 7)]


def test_constructor_batch_size_overrides_environment(tiny_chronos_dir, monkeypatch):
    from forecasting.modes.ml.chronos2 import Chronos2Model

    monkeypatch.setenv("CHRONOS_BATCH_SIZE", "1")
    calls: list[tuple[int, int]] = []
    Chronos2Model(batch_size=4).forecast(sales(n_items=6), 5, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(4, 6), (6, 6)]
    for bad in (0, -3, 2.5, True, "8"):
        with pytest.raises(ForecastingError, match="batch_size"):
            Chronos2Model(batch_size=bad)


def test_past_covariates_are_used_like_chronos_does_and_constant_ones_are_not(model, tiny_chronos_dir):
    with_promo = sales(promo=True)
    without = with_promo.drop(columns="promo")
    fc_promo = model.forecast(with_promo, 14, [0.5])
    fc_plain = model.forecast(without, 14, [0.5])

    assert np.abs(fc_promo["forecast"] - fc_plain["forecast"]).max() > 1e-3
    ref = aligned(fc_promo, reference(tiny_chronos_dir, with_promo, 14))
    np.testing.assert_allclose(fc_promo["forecast"], ref["0.5"], rtol=1e-4, atol=1e-4)
    # columns that never change within an item (text read as zeros, item attributes) are not covariates
    constant = without.assign(promo=0.0, region=without["item_id"].str[3:].astype(float))
    np.testing.assert_array_equal(model.forecast(constant, 14, [0.5])["forecast"], fc_plain["forecast"])


def test_future_covariates_are_used_like_chronos_does(model, tiny_chronos_dir):
    history = sales(promo=True)
    future = future_promo(history, 14)
    fc_future = model.forecast(history, 14, [0.5], future_covariates=future)
    fc_past = model.forecast(history, 14, [0.5])

    assert np.abs(fc_future["forecast"] - fc_past["forecast"]).max() > 1e-3
    ref = aligned(fc_future, reference(tiny_chronos_dir, history, 14, future_df=future))
    np.testing.assert_allclose(fc_future["forecast"], ref["0.5"], rtol=1e-4, atol=1e-4)
    # rows for other items or dates are ignored
    extra = pd.DataFrame(
        {"item_id": ["ELSEWHERE", "SKU0"], "date": ["2030-01-01", "2020-01-01"], "promo": [1.0, 1.0]}
    )
    padded = model.forecast(history, 14, [0.5], future_covariates=pd.concat([future, extra]))
    np.testing.assert_array_equal(padded["forecast"], fc_future["forecast"])


def test_bad_future_covariates_are_rejected_with_rows(model):
    history = sales(promo=True)
    future = future_promo(history, 7)
    with pytest.raises(InvalidInputError, match="price.*not in the sales history"):
        model.forecast(history, 7, future_covariates=future.assign(price=1.0))
    with pytest.raises(InvalidInputError, match="missing column"):
        model.forecast(history, 7, future_covariates=future.drop(columns="date"))
    with pytest.raises(InvalidInputError, match=r"repeated \(item_id, date\) pair at row 44"):
        model.forecast(history, 7, future_covariates=pd.concat([future, future.iloc[[0]]], ignore_index=True))
    bad = future.astype({"promo": object})
    bad.loc[2, "promo"] = "yes"
    with pytest.raises(InvalidInputError, match="non-numeric promo at row 4"):
        model.forecast(history, 7, future_covariates=bad)
    with pytest.raises(InvalidInputError, match="unparsable date at row 2"):
        model.forecast(history, 7, future_covariates=future.assign(date=["not a date"] + list(future["date"][1:])))


def test_missing_days_are_filled_with_zero_sales(model):
    history = sales(n_items=3)
    gappy = history.drop(index=[5, 6, 7, 60])  # days inside two items' ranges
    fc = model.forecast(gappy, 7, [0.1, 0.9])
    zero_filled = history.copy()
    zero_filled.loc[[5, 6, 7, 60], "quantity"] = 0.0
    expected = model.forecast(zero_filled, 7, [0.1, 0.9])
    pd.testing.assert_frame_equal(fc, expected)


def test_an_item_without_recent_sales_gets_zero_days_up_to_the_as_of_date(model):
    history = sales(n_items=3)
    stopped = history[~((history["item_id"] == "SKU1") & (history["date"] > "2024-04-19"))]  # no rows for 10 days
    explicit = history.copy()
    explicit.loc[(explicit["item_id"] == "SKU1") & (explicit["date"] > "2024-04-19"), "quantity"] = 0.0
    fc = model.forecast(stopped, 7, [0.1, 0.9])
    assert (fc["date"].min(), fc["date"].max()) == (pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-06"))
    pd.testing.assert_frame_equal(fc, model.forecast(explicit, 7, [0.1, 0.9]))


def test_sample_paths_follow_the_forecast_quantiles(model):
    history = sales(n_items=3, base=40.0)
    paths = model.sample_paths(history, 10, n_paths=4000, seed=1)
    fc = model.forecast(history, 10, [0.1, 0.5, 0.9])

    assert paths.values.shape == (3, 4000, 10) and (paths.values >= 0).all()
    last = history.groupby("item_id")["date"].max()
    assert list(paths.first_date) == list(last[paths.item_ids] + pd.Timedelta(days=1))
    for level in (0.1, 0.5, 0.9):
        got = np.quantile(paths.values, level, axis=1).ravel()
        want = fc[f"q{level}"].to_numpy()
        spread = (fc["q0.9"] - fc["q0.1"]).to_numpy()
        assert np.abs(got - want).max() < 0.1 * spread.max() + 1e-6


def test_quantile_levels_outside_the_native_range_are_refused(model):
    for level in (0.005, 0.995):
        with pytest.raises(ForecastingError, match=r"outside Chronos-2's range 0\.01-0\.99"):
            model.forecast(sales(n_items=2), 7, [level, 0.5])


def test_horizons_beyond_one_pass_are_refused(model, tmp_path, monkeypatch):
    with pytest.raises(ForecastingError, match="horizon must be between 1 and"):
        model.forecast(sales(n_items=2), 1025)
    short = build_tiny_chronos2(tmp_path / "short", max_output_patches=2)  # one pass: 32 days
    monkeypatch.setenv("CHRONOS_MODEL", str(short))
    assert len(model.forecast(sales(n_items=2), 32)) == 64
    with pytest.raises(ForecastingError, match=r"horizon 33 .* one pass \(32 days\)"):
        model.forecast(sales(n_items=2), 33)


def test_missing_weights_say_what_to_set(model, tmp_path, monkeypatch):
    monkeypatch.delenv("CHRONOS_MODEL")
    monkeypatch.setattr(weights, "DEFAULT_FOLDER", tmp_path / "data" / "models" / "chronos-2")
    status = model.availability()
    assert not status.available
    assert status.reason == (
        f"no Chronos-2 weights at {tmp_path / 'data' / 'models' / 'chronos-2'}; set CHRONOS_MODEL to a local "
        "folder, or run `python -m forecasting download-model` where the hub is reachable"
    )
    with pytest.raises(ModelUnavailableError, match="chronos-2 cannot run here: no Chronos-2 weights at"):
        model.forecast(sales(n_items=2), 7)
    with pytest.raises(ModelUnavailableError, match="no Chronos-2 weights at"):
        model.sample_paths(sales(n_items=2), 7)
    assert model.version.endswith("weights unavailable; float32")


def test_availability_in_a_fresh_process_imports_no_torch(tmp_path):
    code = (
        "import sys\n"
        "from forecasting.modes.factory import ModelFactory\n"
        "print(ModelFactory.create('chronos-2').availability().reason)\n"
        "print(sorted({'torch', 'transformers', 'chronos'} & set(sys.modules)))\n"
    )
    env = {**os.environ, "CHRONOS_MODEL": str(tmp_path / "nowhere"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"no Chronos-2 weights at {tmp_path / 'nowhere'}; set CHRONOS_MODEL to a local folder, "
        "or run `python -m forecasting download-model` where the hub is reachable",
        "[]",
    ]


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("empty", r"no Chronos-2 weights at .* \(no config.json there\)"),
        ("not json", r"config.json cannot be read as JSON"),
        ("no chronos_config", r"config.json is not a Chronos config \(no chronos_config\)"),
        ("bolt", r"holds a ChronosBoltPipeline model, not Chronos-2"),
        ("no weights", r"has config.json but no weights \(model.safetensors"),
    ],
)
def test_bad_folders_are_reported_before_loading(model, tiny_chronos_dir, tmp_path, monkeypatch, damage, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    if damage != "empty":
        shutil.copy(tiny_chronos_dir / "model.safetensors", folder)
        config = _config(tiny_chronos_dir)
        if damage == "not json":
            (folder / "config.json").write_text("{ this is not json")
        else:
            if damage == "no chronos_config":
                del config["chronos_config"]
            elif damage == "bolt":
                config["chronos_pipeline_class"] = "ChronosBoltPipeline"
            else:
                (folder / "model.safetensors").unlink()
            (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("CHRONOS_MODEL", str(folder))
    status = model.availability()
    assert not status.available and re.search(message, status.reason), status.reason
    assert "CHRONOS_MODEL" in status.reason
    with pytest.raises(ModelUnavailableError, match=message):
        model.forecast(sales(n_items=2), 7)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("corrupt weights", r"cannot be loaded \(SafetensorError"),
        ("wrong sizes", r"cannot be loaded \(RuntimeError"),
    ],
)
def test_folders_that_fail_to_load_give_a_clear_error_and_availability_remembers(
    model, tiny_chronos_dir, tmp_path, monkeypatch, damage, message
):
    folder = tmp_path / "bad"
    folder.mkdir()
    config = _config(tiny_chronos_dir)
    if damage == "corrupt weights":
        (folder / "model.safetensors").write_bytes(b"\x00garbage" * 64)
    else:
        shutil.copy(tiny_chronos_dir / "model.safetensors", folder)
        config["d_model"] = 64
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("CHRONOS_MODEL", str(folder))
    assert model.availability().available  # nothing wrong on the surface
    with pytest.raises(ModelUnavailableError, match=message):
        model.forecast(sales(n_items=2), 7)
    status = model.availability()
    assert not status.available and re.search(message, status.reason)
    monkeypatch.setenv("CHRONOS_MODEL", str(tiny_chronos_dir))
    assert model.availability().available and len(model.forecast(sales(n_items=2), 7)) == 14


def test_bad_settings_are_reported(model, monkeypatch):
    monkeypatch.setenv("CHRONOS_DTYPE", "fp16")
    assert model.availability().reason == "CHRONOS_DTYPE must be float32 or bfloat16, got 'fp16'"
    monkeypatch.setenv("CHRONOS_DTYPE", "float32")
    monkeypatch.setenv("CHRONOS_BATCH_SIZE", "0")
    assert model.availability().reason == "CHRONOS_BATCH_SIZE must be a whole number >= 1, got '0'"
    monkeypatch.delenv("CHRONOS_BATCH_SIZE")
    monkeypatch.setenv("CHRONOS_DEVICE", "gpu")
    assert "CHRONOS_DEVICE must be auto, cpu, cuda, cuda:N or mps" in model.availability().reason
    with pytest.raises(ModelUnavailableError, match="CHRONOS_DEVICE"):
        model.forecast(sales(n_items=2), 7)


def test_device_that_is_not_there_is_refused(model, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    monkeypatch.setenv("CHRONOS_DEVICE", "cuda")
    with pytest.raises(ModelUnavailableError, match="CHRONOS_DEVICE=cuda but PyTorch sees no CUDA GPU"):
        model.forecast(sales(n_items=2), 7)


def test_bfloat16_loads_in_bfloat16_and_stays_close(model, monkeypatch):
    import torch

    history = sales(n_items=3, base=30.0)
    fp32 = model.forecast(history, 7, [0.5])
    monkeypatch.setenv("CHRONOS_DTYPE", "bfloat16")
    assert get_pipeline().model.dtype == torch.bfloat16
    bf16 = model.forecast(history, 7, [0.5])
    np.testing.assert_allclose(bf16["forecast"], fp32["forecast"], rtol=0.05)


def test_version_identifies_weights_and_dtype(model, tiny_chronos_dir, tmp_path, monkeypatch):
    from forecasting.modes.ml.chronos2 import Chronos2Model

    first = model.version
    assert first == Chronos2Model.version == model.version
    assert first.startswith("chronos-forecasting 2.") and first.endswith("; float32")
    other = build_tiny_chronos2(tmp_path / "other", seed=1)
    monkeypatch.setenv("CHRONOS_MODEL", str(other))
    assert model.version not in (first, "")
    monkeypatch.setenv("CHRONOS_MODEL", str(tiny_chronos_dir))
    monkeypatch.setenv("CHRONOS_DTYPE", "bfloat16")
    assert model.version == first.replace("float32", "bfloat16")


def test_concurrent_first_use_loads_one_pipeline(model):
    reset_pipeline()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(get_pipeline())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(p is got[0] for p in got)


def _fake_hub_cache(cache: Path, repo_id: str, source: Path) -> None:
    """The layout huggingface_hub uses: refs/main -> commit, snapshots/<commit>/files."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(source, repo / "snapshots" / commit)


def test_hub_id_is_served_from_the_local_cache_offline(model, tiny_chronos_dir, tmp_path, monkeypatch):
    expected = model.forecast(sales(n_items=2), 7, [0.5])
    _fake_hub_cache(tmp_path / "hub", "acme/tiny-chronos", tiny_chronos_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("CHRONOS_MODEL", "acme/tiny-chronos")
    assert model.availability().available
    pd.testing.assert_frame_equal(model.forecast(sales(n_items=2), 7, [0.5]), expected)


def test_uncached_hub_id_is_unavailable_offline_and_when_unreachable(model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("CHRONOS_MODEL", "amazon/chronos-2")
    status = model.availability()
    assert not status.available and "not in the Hugging Face cache" in status.reason
    assert "HF_HUB_OFFLINE" in status.reason

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    status = model.availability()
    assert not status.available
    assert status.reason.startswith("the Hugging Face hub (http://127.0.0.1:9) cannot be reached")


def test_download_fails_fast_and_clearly_without_the_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="hub is switched off here \\(HF_HUB_OFFLINE\\)"):
        download_model(tmp_path / "weights")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    unreachable = r"hub \(http://127.0.0.1:9\) cannot be reached from here to fetch amazon/chronos-2"
    with pytest.raises(ModelUnavailableError, match=unreachable):
        download_model(str(tmp_path / "weights"))
    assert not (tmp_path / "weights" / "config.json").exists()
    assert loading.DEFAULT_FOLDER == ROOT / "data" / "models" / "chronos-2"
