"""Chronos-2 loaded once per process: settings from the environment, device, dtype and a lock.

Environment (read when used, so a changed value takes effect on the next forecast):

- ``CHRONOS_MODEL``: local folder or hub id (default ``data/models/chronos-2``)
- ``CHRONOS_DEVICE``: ``auto`` (default: CUDA, then Apple MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``
- ``CHRONOS_DTYPE``: ``float32`` (default) or ``bfloat16``
- ``CHRONOS_THREADS``: torch CPU threads (default: torch's own choice)
- ``CHRONOS_BATCH_SIZE``: items per forward pass (default 64)

The Streamlit app serves every user from one process, so loading sits behind
a lock: concurrent first forecasts wait for one load instead of loading the
120M-parameter model several times. The loaded pipeline is kept under a key of
(weights fingerprint, device, dtype); when the configuration or the files
change, the next call loads again. A failed load is remembered under the same
key so that ``availability()`` can say why without trying again.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from forecasting.core.errors import ModelUnavailableError
from forecasting.modes.ml.weights import (
    DEFAULT_FOLDER,
    HUB_ID,
    check_folder,
    display_path,
    fingerprint,
    forget_probes,
    hub_endpoint,
    hub_offline,
    is_hub_id,
    locate,
    probe_hub,
)

if TYPE_CHECKING:
    from chronos import Chronos2Pipeline

DEFAULT_BATCH_SIZE = 64
#: items per forward pass with cross-learning: the group size Chronos-2 was pretrained with (about 100,
#: chronos' ``predict`` docstring and technical report); its forecasts depend on the batch they share
CROSS_LEARNING_BATCH_SIZE = 100
DTYPES = ("float32", "bfloat16")
#: the download command may wait a little longer than availability, but not for minutes
DOWNLOAD_PROBE_TIMEOUT_S = 10.0
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

_lock = threading.Lock()
_loaded: tuple[tuple[str, ...], Chronos2Pipeline] | None = None
_failed: tuple[tuple[str, ...], str] | None = None


@dataclass(frozen=True)
class Settings:
    """The ``CHRONOS_*`` runtime settings, validated."""

    device: str
    dtype: str
    threads: int | None
    batch_size: int
    #: CHRONOS_CROSS_LEARNING: the items of a batch are forecast jointly (group attention across them)
    cross_learning: bool = False


def read_settings() -> Settings:
    """The current ``CHRONOS_*`` values; a bad one raises ModelUnavailableError naming it."""
    device = os.environ.get("CHRONOS_DEVICE", "").strip().lower() or "auto"
    if not _DEVICE.match(device):
        raise ModelUnavailableError(f"CHRONOS_DEVICE must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    dtype = os.environ.get("CHRONOS_DTYPE", "").strip().lower() or "float32"
    if dtype not in DTYPES:
        raise ModelUnavailableError(f"CHRONOS_DTYPE must be float32 or bfloat16, got {dtype!r}")
    threads = _positive_int("CHRONOS_THREADS")
    cross = os.environ.get("CHRONOS_CROSS_LEARNING", "").strip().lower() or "0"
    if cross not in ("0", "1", "true", "false", "yes", "no"):
        raise ModelUnavailableError(f"CHRONOS_CROSS_LEARNING must be 1/0 (or true/false, yes/no), got {cross!r}")
    cross_learning = cross in ("1", "true", "yes")
    default_batch = CROSS_LEARNING_BATCH_SIZE if cross_learning else DEFAULT_BATCH_SIZE
    return Settings(device, dtype, threads, _positive_int("CHRONOS_BATCH_SIZE") or default_batch, cross_learning)


def _positive_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ModelUnavailableError(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)


def availability_problem() -> str:
    """Why Chronos-2 cannot run here ('' when it can); never imports torch."""
    try:
        settings = read_settings()
    except ModelUnavailableError as exc:
        return str(exc)
    where = locate()
    if where.problem:
        return where.problem
    failed = _failed
    if where.folder is not None and failed is not None and failed[0] == _key(where.folder, settings):
        return failed[1]
    return ""


@cache
def chronos_version() -> str:
    return importlib.metadata.version("chronos-forecasting")


def weights_version() -> str:
    """Identifies the numbers the model would produce: library version, weights fingerprint, dtype."""
    try:
        dtype = read_settings().dtype
    except ModelUnavailableError:
        dtype = "invalid settings"
    where = locate(probe_hub=False)
    weights = "unavailable" if where.folder is None or where.problem else fingerprint(where.folder)
    return f"chronos-forecasting {chronos_version()}; weights {weights}; {dtype}"


def get_pipeline() -> Chronos2Pipeline:
    """The process-wide pipeline for the current settings, loaded on first use (thread-safe)."""
    global _loaded, _failed
    settings = read_settings()
    where = locate()
    if where.problem:
        raise ModelUnavailableError(where.problem)
    with _lock:
        folder = where.folder if where.folder is not None else _download_to_cache(str(where.repo_id))
        key = _key(folder, settings)
        if _loaded is not None and _loaded[0] == key:
            return _loaded[1]
        if _failed is not None and _failed[0] == key:
            raise ModelUnavailableError(_failed[1])
        _loaded = None  # let the previous model go before loading another
        try:
            pipeline = _load(folder, settings, hub_configured=is_hub_id(where.configured))
        except ModelUnavailableError as exc:
            _failed = (key, str(exc))
            raise
        _loaded, _failed = (key, pipeline), None
        return pipeline


def reset_pipeline() -> None:
    """Forget the loaded pipeline, a remembered load failure and hub probes.

    The next forecast reads ``CHRONOS_*`` again and loads from scratch. Tests
    call it around changes of ``CHRONOS_MODEL``; an operator never needs to
    (changed settings or files are picked up anyway, see the module docstring).
    """
    global _loaded, _failed
    with _lock:
        _loaded, _failed = None, None
    forget_probes()


def download_model(to: str | Path | None = None, repo_id: str = HUB_ID) -> Path:
    """Fetch ``repo_id`` from the Hugging Face hub into ``to`` (default ``data/models/chronos-2``).

    Fails within seconds, with ModelUnavailableError, where the hub cannot be
    reached (offline mode, no network): the download itself is ~480 MB.
    """
    target = Path(to).expanduser() if to else DEFAULT_FOLDER
    if hub_offline():
        raise ModelUnavailableError(
            f"the Hugging Face hub is switched off here (HF_HUB_OFFLINE), so {repo_id} cannot be downloaded; "
            "run `python -m forecasting download-model --to DIR` where the hub is reachable, "
            "copy DIR here and set CHRONOS_MODEL=DIR"
        )
    problem = probe_hub(repo_id, DOWNLOAD_PROBE_TIMEOUT_S)
    if problem:
        raise ModelUnavailableError(problem)
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(
            repo_id, local_dir=target, endpoint=hub_endpoint(), etag_timeout=DOWNLOAD_PROBE_TIMEOUT_S
        )
    except Exception as exc:  # network and disk failures come as httpx, OSError and hub error types alike
        raise ModelUnavailableError(
            f"downloading {repo_id} to {display_path(target)} failed ({type(exc).__name__}: {exc})"
        ) from exc
    problem = check_folder(target)
    if problem:
        raise ModelUnavailableError(problem)
    return target


def _key(folder: Path, settings: Settings) -> tuple[str, ...]:
    return (fingerprint(folder), settings.device, settings.dtype)


def _download_to_cache(repo_id: str) -> Path:
    """A hub id that is not cached yet: fetch it into the Hugging Face cache once."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(
            repo_id,
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,
            endpoint=hub_endpoint(),
            etag_timeout=DOWNLOAD_PROBE_TIMEOUT_S,
        )
    except Exception as exc:  # see download_model
        raise ModelUnavailableError(f"downloading {repo_id} failed ({type(exc).__name__}: {exc})") from exc
    folder = Path(path)
    problem = check_folder(folder)
    if problem:
        raise ModelUnavailableError(problem)
    return folder


def _load(folder: Path, settings: Settings, hub_configured: bool) -> Chronos2Pipeline:
    if not hub_configured:
        # before the first transformers import: a local folder must never wait on hub retries
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from chronos import BaseChronosPipeline, Chronos2Pipeline
    from safetensors import SafetensorError
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar per load is noise in CLI and app logs
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = _pick_device(settings.device)
    try:
        pipeline = BaseChronosPipeline.from_pretrained(
            str(folder), device_map=device, dtype=getattr(torch, settings.dtype), local_files_only=True
        )
    # what transformers, chronos and safetensors raise for a folder they cannot load
    except (OSError, ValueError, AssertionError, RuntimeError, SafetensorError) as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelUnavailableError(
            f"the Chronos-2 weights at {display_path(folder)} cannot be loaded "
            f"({type(exc).__name__}: {detail}); replace the folder or set CHRONOS_MODEL to another one"
        ) from exc
    if not isinstance(pipeline, Chronos2Pipeline):
        raise ModelUnavailableError(f"{display_path(folder)} does not hold a Chronos-2 model")
    return pipeline


def _pick_device(requested: str) -> str:
    import torch

    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda") and not cuda:
        raise ModelUnavailableError(f"CHRONOS_DEVICE={requested} but PyTorch sees no CUDA GPU here")
    if requested == "mps" and not mps:
        raise ModelUnavailableError("CHRONOS_DEVICE=mps but Apple MPS is not available here")
    return requested
