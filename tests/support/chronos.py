"""A tiny random-weight Chronos-2 checkpoint for tests (docs/platform-notes.md), built offline in well under a second.

Ask for the fixture in any test (it is registered in tests/conftest.py)::

    def test_something(tiny_chronos_dir): ...   # CHRONOS_MODEL points at the tiny model

The fixture is session-scoped: the folder is built once, and ``CHRONOS_MODEL``
(plus ``HF_HUB_OFFLINE=1``) stay set from its first use to the end of the
session; a test that needs other values overrides them with ``monkeypatch``.
Random weights give meaningless but deterministic numbers (fixed seed) with
unordered quantiles, which is what the model code must cope with.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forecasting.modes.ml.loading import reset_pipeline

NATIVE_QUANTILES = [0.01, 0.05] + [round(0.1 + 0.05 * i, 2) for i in range(18)] + [0.99]
TINY = dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
#: the released amazon/chronos-2 (about 120M parameters), for speed measurements
RELEASED = dict(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)


def build_chronos2(
    path: Path,
    *,
    d_model: int,
    d_kv: int,
    d_ff: int,
    num_layers: int,
    num_heads: int,
    max_output_patches: int = 64,
    initializer_factor: float = 0.05,
    seed: int = 0,
) -> Path:
    """Save a random-weight Chronos-2 of the given size to ``path``; returns ``path``.

    ``initializer_factor`` scales the random weights: the default gives
    quantiles close to the history's level; 0.3 spreads them widely, below
    zero and crossing, for tests of clipping and sorting.
    """
    import torch
    from chronos import Chronos2Model, Chronos2Pipeline
    from chronos.chronos2 import Chronos2CoreConfig

    config = Chronos2CoreConfig(
        d_model=d_model,
        d_kv=d_kv,
        d_ff=d_ff,
        num_layers=num_layers,
        num_heads=num_heads,
        dropout_rate=0.1,
        initializer_factor=initializer_factor,
        chronos_pipeline_class="Chronos2Pipeline",
        chronos_config=dict(
            context_length=8192,
            input_patch_size=16,
            input_patch_stride=16,
            output_patch_size=16,
            max_output_patches=max_output_patches,
            use_reg_token=True,
            use_arcsinh=True,
            time_encoding_scale=8192,
            quantiles=NATIVE_QUANTILES,
        ),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Chronos2Model(config).eval()
    Chronos2Pipeline(model=model).save_pretrained(path)
    return Path(path)


def build_tiny_chronos2(
    path: Path, *, max_output_patches: int = 64, initializer_factor: float = 0.05, seed: int = 0
) -> Path:
    """The test model of docs/platform-notes.md (d_model 32, 2 layers) saved to ``path``; returns ``path``."""
    return build_chronos2(
        path, **TINY, max_output_patches=max_output_patches, initializer_factor=initializer_factor, seed=seed
    )


@pytest.fixture(scope="session")
def tiny_chronos_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Folder of the tiny model, with CHRONOS_MODEL pointing at it and the hub switched off."""
    path = build_tiny_chronos2(tmp_path_factory.mktemp("chronos2-tiny"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHRONOS_MODEL", str(path))
        env.setenv("HF_HUB_OFFLINE", "1")
        reset_pipeline()
        yield path
    reset_pipeline()
