"""Writing an output file (``--output``): complete or not at all, regular files only.

The data goes to a temporary copy beside the target (``.<name>.<random>.tmp``,
created with the usual mode: 0666 less the umask, so 0644 with the common
umask 022) which is renamed over the target only when complete: a failed or
killed job never leaves a file that looks complete (:mod:`forecasting.io.scratch`
removes a killed job's copy). The target must be a regular file or not exist:
a symbolic link, a folder, a FIFO or a device is refused before anything is
written, as is a missing folder, with a :class:`OutputPathError` (exit code 2
on the command line).
"""
from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forecasting.core.errors import ForecastingError
from forecasting.io import scratch


class OutputPathError(ForecastingError):
    """The output path cannot be written: no such folder, or something other than a regular file is there."""


def check_output_path(target: Path) -> None:
    """Raise OutputPathError unless ``target`` is a regular file or absent, in an existing folder."""
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputPathError(f"cannot write {target}: the folder {folder} {what}")
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        return
    kind = ("a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    raise OutputPathError(f"cannot write {target}: it is {kind}; outputs replace regular files only")


@contextmanager
def output_file(target: str | Path) -> Iterator[Path]:
    """``with output_file(path) as temp:`` write ``temp``; it replaces ``path`` if the block succeeds."""
    target = Path(target)
    check_output_path(target)
    temp = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
    with scratch.registered(temp):  # before the file exists: a kill at any point leaves nothing unrecorded
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except PermissionError:
            raise OutputPathError(f"cannot write {target}: permission denied in {target.parent}") from None
        try:
            yield temp
            check_output_path(target)  # again: something may have been put there while the job ran
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
