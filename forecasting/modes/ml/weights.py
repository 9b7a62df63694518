"""Where the Chronos-2 weights are, and whether they look usable, without importing torch.

``CHRONOS_MODEL`` names a local folder or a Hugging Face hub id (default: the
folder ``data/models/chronos-2`` under the repository root). Everything here
answers in milliseconds: a folder is checked on disk, a hub id is looked up in
the local Hugging Face cache, and the hub itself is asked only when it is
configured, not switched off (``HF_HUB_OFFLINE``) and the model is not cached,
with a short timeout. Loading the model to answer "can it run?" would cost 5-10
seconds of imports, and asking an unreachable hub 20-50 seconds of retries.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import forecasting

REPO_ROOT = Path(forecasting.__file__).resolve().parents[1]
DEFAULT_FOLDER = REPO_ROOT / "data" / "models" / "chronos-2"
HUB_ID = "amazon/chronos-2"
PIPELINE_CLASS = "Chronos2Pipeline"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
#: seconds to wait for the hub before calling it unreachable (availability answers within about a second)
PROBE_TIMEOUT_S = 1.0
#: a probe's answer is reused this long, so that pages listing the models do not wait on every rerun
PROBE_TTL_S = 60.0
DOWNLOAD_HINT = (
    "set CHRONOS_MODEL to a local folder, or run `python -m forecasting download-model` where the hub is reachable"
)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_probes: dict[tuple[str, str], tuple[float, str]] = {}


@dataclass(frozen=True)
class WeightsLocation:
    """The configured weights: a local ``folder`` or a hub ``repo_id`` to fetch; ``problem``: why unusable."""

    configured: str
    folder: Path | None = None
    repo_id: str | None = None
    problem: str = ""


def configured_location() -> str:
    """``CHRONOS_MODEL``, or the default folder when it is not set."""
    return os.environ.get("CHRONOS_MODEL", "").strip() or str(DEFAULT_FOLDER)


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off (read now, not when huggingface_hub was imported)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"


def is_hub_id(value: str) -> bool:
    """``org/name`` that is not an existing path (the same rule transformers applies)."""
    return bool(_REPO_ID.match(value)) and not Path(value).expanduser().exists()


def display_path(path: Path) -> str:
    """A path relative to the repository root when it lies inside it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def locate(probe_hub: bool = True) -> WeightsLocation:
    """Resolve ``CHRONOS_MODEL`` to a checked local folder or a reachable hub id."""
    value = configured_location()
    path = Path(value).expanduser()
    if path.is_dir():
        return WeightsLocation(value, folder=path, problem=check_folder(path))
    if not is_hub_id(value):
        return WeightsLocation(value, problem=f"no Chronos-2 weights at {display_path(path)}; {DOWNLOAD_HINT}")
    cached = cached_snapshot(value)
    if cached is not None:
        return WeightsLocation(value, folder=cached, problem=check_folder(cached))
    if hub_offline():
        return WeightsLocation(
            value,
            problem=f"CHRONOS_MODEL={value} is not a local folder and not in the Hugging Face cache, "
            "and the hub is switched off (HF_HUB_OFFLINE); set CHRONOS_MODEL to a local folder with the weights",
        )
    problem = _probe_memoised(value) if probe_hub else ""
    return WeightsLocation(value, repo_id=value, problem=problem)


def check_folder(folder: Path) -> str:
    """Why ``folder`` cannot hold Chronos-2 weights ('' when config and weight files look right)."""
    where = display_path(folder)
    config_file = folder / "config.json"
    if not config_file.is_file():
        return f"no Chronos-2 weights at {where} (no config.json there); {DOWNLOAD_HINT}"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{where}/config.json cannot be read as JSON ({exc}); {DOWNLOAD_HINT}"
    if not isinstance(config, dict) or not isinstance(config.get("chronos_config"), dict):
        return f"{where}/config.json is not a Chronos config (no chronos_config); {DOWNLOAD_HINT}"
    pipeline = config.get("chronos_pipeline_class")
    if pipeline != PIPELINE_CLASS:
        kind = pipeline or "Chronos (v1)"
        return f"{where} holds a {kind} model, not Chronos-2 ({PIPELINE_CLASS}); {DOWNLOAD_HINT}"
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return f"{where} has config.json but no weights ({' or '.join(WEIGHT_FILES)}); {DOWNLOAD_HINT}"
    return ""


def fingerprint(folder: Path) -> str:
    """Short hash of the folder's path, config content and files' sizes and times.

    Identifies the weights without reading them (478 MB): any copy, download
    or edit changes it, so caches keyed on it are never stale.
    """
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for entry in sorted(folder.iterdir()):
        if entry.is_file():
            stat = entry.stat()
            digest.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    digest.update((folder / "config.json").read_bytes())
    return digest.hexdigest()[:16]


def cached_snapshot(repo_id: str) -> Path | None:
    """The hub model's folder in the local Hugging Face cache (``HF_HUB_CACHE`` honoured), if there."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    return Path(found).parent if isinstance(found, str) else None


def probe_hub(repo_id: str, timeout_s: float) -> str:
    """Ask the hub for ``repo_id`` once, with a short timeout: '' when reachable, else why not."""
    from huggingface_hub import HfApi

    endpoint = hub_endpoint()
    try:
        HfApi(endpoint=endpoint).repo_info(repo_id, timeout=timeout_s)
    except Exception as exc:  # network failures come as httpx, OSError and hub error types alike
        return (
            f"the Hugging Face hub ({endpoint}) cannot be reached from here to fetch {repo_id} "
            f"({type(exc).__name__}: {exc}); {DOWNLOAD_HINT}"
        )
    return ""


def forget_probes() -> None:
    _probes.clear()


def _probe_memoised(repo_id: str) -> str:
    key = (hub_endpoint(), repo_id)
    now = time.monotonic()
    if key not in _probes or now - _probes[key][0] > PROBE_TTL_S:
        _probes[key] = (now, probe_hub(repo_id, PROBE_TIMEOUT_S))
    return _probes[key][1]
