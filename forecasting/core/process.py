"""Who owns a run or a temporary file: this process, named by host, pid and start time.

A batch job or a computation killed outright (``kill -9``, a lost machine)
cannot clean up after itself; what it left is recognised later by its owner
being gone. On the same host that is exact: the pid no longer runs, or it
now belongs to a younger process (the start time differs, on Linux). On
another host it cannot be checked, and a run's lease (:mod:`forecasting.
services.run_recovery`) decides instead.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from functools import cache

#: what a host name is reduced to in an owner tag (also used in file names)
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


@dataclass(frozen=True)
class Owner:
    """A process: host name, pid, and start time in clock ticks since boot (0 where unknown)."""

    host: str
    pid: int
    started: int

    def tag(self, separator: str = ":") -> str:
        """``host:pid:started`` (a run row's owner); with ``-``, a file-name part ``pid-started-host``."""
        if separator == ":":
            return f"{self.host}:{self.pid}:{self.started}"
        return f"{self.pid}{separator}{self.started}{separator}{self.host}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner of a ``host:pid:started`` tag; None for anything else."""
        match = re.fullmatch(r"(.+):(\d+):(\d+)", text or "")
        return None if match is None else cls(match[1], int(match[2]), int(match[3]))


def this_host() -> str:
    return _HOST_UNSAFE.sub("_", socket.gethostname())[:100] or "localhost"


def this_process() -> Owner:
    """The current process (computed per call: a forked worker is another owner)."""
    return _owner(os.getpid())


@cache
def _owner(pid: int) -> Owner:
    return Owner(this_host(), pid, _start_time(pid) or 0)


def is_gone(owner: Owner) -> bool:
    """Whether ``owner`` ran on this host and has ended (False where that cannot be known: another host)."""
    if owner.host != this_host():
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = _start_time(owner.pid)
    return bool(owner.started and started is not None and started != owner.started)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``); None elsewhere or if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3
