"""Temporary files of this product, named after their owner so that what a killed process left can be removed.

Two kinds live in the scratch folder (``$FORECASTING_BATCH_DIR``, else the
system's temporary folder), each named ``forecasting-<kind>-<pid>-<start>-<host>-<random>``:

* ``batch``: a batch job's work folder (the staged sales file, result parts);
* ``out``: a marker holding the path of an output file's temporary copy, which
  is written beside the target (``.<name>.<random>.tmp``) and renamed over it
  when complete (:mod:`forecasting.io.output_file`).

A process removes its own on the way out; ``kill -9`` leaves them. :func:`sweep`
(run when any command, the app or the API starts) removes those whose owner
ran on this host and has ended; a live job's files, and another host's, are left alone.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forecasting.core.process import Owner, is_gone, this_process

#: the environment variable naming the scratch folder (a file system every Ray node sees, for a cluster)
WORK_DIR_ENV = "FORECASTING_BATCH_DIR"
_NAME = re.compile(r"forecasting-(batch|out)-(\d+)-(\d+)-(.+)-[A-Za-z0-9_]+")
#: an output's temporary copy: what a marker may name (anything else is left alone)
TEMP_OUTPUT = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")


def scratch_root() -> Path:
    """``$FORECASTING_BATCH_DIR`` (created if missing), else the system's temporary folder."""
    root = os.environ.get(WORK_DIR_ENV)
    if root:
        Path(root).mkdir(parents=True, exist_ok=True)
        return Path(root)
    return Path(tempfile.gettempdir())


def _prefix(kind: str) -> str:
    return f"forecasting-{kind}-{this_process().tag('-')}-"


@contextmanager
def work_dir() -> Iterator[Path]:
    """A batch job's temporary folder in the scratch folder, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=_prefix("batch"), dir=scratch_root()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def registered(temp: Path) -> Iterator[None]:
    """Record ``temp`` (an output's temporary copy) in a marker while it exists, for :func:`sweep`."""
    fd, marker = tempfile.mkstemp(prefix=_prefix("out"), dir=scratch_root())
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(str(temp.resolve()))
        yield
    finally:
        Path(marker).unlink(missing_ok=True)


def sweep() -> int:
    """Remove the scratch files of processes of this host that have ended; how many were removed."""
    root = scratch_root()
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    removed = 0
    for name in names:
        match = _NAME.fullmatch(name)
        if match is None or not is_gone(Owner(match[4], int(match[2]), int(match[3]))):
            continue
        path = root / name
        if match[1] == "batch":
            shutil.rmtree(path, ignore_errors=True)
        else:
            _remove_temp_output(path)
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def _remove_temp_output(marker: Path) -> None:
    """Remove the regular file a marker names, if it is an output's temporary copy."""
    try:
        temp = Path(marker.read_text(encoding="utf-8").strip())
        if TEMP_OUTPUT.fullmatch(temp.name) and temp.is_file() and not temp.is_symlink():
            temp.unlink()
    except OSError:
        pass
