"""Limits that keep one request, or one client, from taking the machine (docs/security.md, "Request limits").

- A cost budget per request, checked before any work starts, with an error
  that names the limit: how many values a forecast, backtest or reorder plan
  computes, how many backtest windows, and what its model fits cost to
  compute (cost units, about a millisecond of one CPU each: every model call's
  weight plus items x the model's per-item weight, measured by
  benchmarks/bench_costs.py and kept in forecasting/modes/factory.py).
- Cancellation: a :class:`CancelToken` set by whoever learns that the caller
  is gone (the API when the client disconnects, the app when a run is
  abandoned) stops the computation at its next check (between windows,
  models, blocks of items); the run is recorded as failed, without results.
- Computation slots: at most a few heavy computations at once per process,
  and fewer per client, so that one caller cannot starve the others; a
  request that finds no free slot waits a little and is then refused with
  :class:`BusyError` (the API answers 429 with ``Retry-After``).
- A quota of stored forecast values per client: the newest runs keep their
  results, older ones lose them (the run stays in the history).

The app and the API run with :class:`RequestLimits`; the command line (an
operator's batch job) runs without them. Each limit can be changed with an
environment variable ``FORECAST_LIMIT_<NAME>`` (e.g. ``FORECAST_LIMIT_MAX_QUANTILE_LEVELS=49``).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from time import monotonic

from forecasting.core.errors import ForecastingError

ENV_PREFIX = "FORECAST_LIMIT_"


class LimitExceededError(ForecastingError):
    """A request bigger than this server computes (the message names the limit and how to stay under it)."""


class CancelledError(ForecastingError):
    """The caller went away (or asked to stop): the computation stopped and its run failed without results."""


class CancelToken:
    """Set from any thread (:meth:`cancel`); the computation calls :meth:`check` between steps and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "the request was cancelled") -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` once cancelled."""
        if self._event.is_set():
            raise CancelledError(f"cancelled: {self.reason}")


class BusyError(ForecastingError):
    """No computation slot came free in time; ``retry_after_s`` says when trying again makes sense."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RequestLimits:
    """The limits of interactive callers (app and API); see the module docstring."""

    #: quantile levels per request
    max_quantile_levels: int = 25
    #: items of one request: what bounds its memory (history is loaded whole; benchmarks/results/memory.md)
    max_items: int = 10_000
    #: items x horizon x (levels + 1) of one forecast: the values it returns and stores
    max_forecast_values: int = 500_000
    #: items x windows x horizon x models x (levels + 1) of one backtest
    max_backtest_values: int = 2_000_000
    #: rolling-origin windows of one backtest
    max_backtest_windows: int = 52
    #: what one request's model fits cost (units of about 1 ms of one CPU; see the module docstring)
    max_cost_units: int = 120_000
    #: items x horizon of one reorder plan or exception queue (each item-day is 1,000 sampled paths)
    max_reorder_item_days: int = 50_000
    #: heavy computations at once in one process (one app server or one API worker)
    computations_per_process: int = 2
    #: heavy computations at once for one client in one process
    computations_per_client: int = 1
    #: how long a request waits for a free slot before it is refused
    slot_wait_s: float = 0.0
    #: forecast values (items x days x (levels + 1)) kept per client; older runs' results are removed
    stored_values_per_client: int = 1_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **defaults: float) -> RequestLimits:
        """The limits with ``defaults`` and any ``FORECAST_LIMIT_<NAME>`` variable applied (a bad value is an error)."""
        environ = os.environ if environ is None else environ
        values: dict[str, float] = dict(defaults)
        for field in fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            if raw is None:
                continue
            kind = float if field.type in ("float", float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise ForecastingError(f"{ENV_PREFIX}{field.name.upper()} must be a number, got {raw!r}") from None
            if value < 0 or (value == 0 and kind is int):
                raise ForecastingError(f"{ENV_PREFIX}{field.name.upper()} must be positive, got {raw!r}")
            values[field.name] = value
        return cls(**values)

    def check_levels(self, levels: int) -> None:
        if levels > self.max_quantile_levels:
            raise LimitExceededError(
                f"{levels} quantile levels asked for; this server computes at most {self.max_quantile_levels}"
            )

    def check_items(self, items: int) -> None:
        if items > self.max_items:
            raise LimitExceededError(
                f"{items:,} items asked for; this server computes at most {self.max_items:,} in one request "
                f"(max_items): ask for fewer (or run it as a batch job with `python -m forecasting`)"
            )

    def check_forecast(self, items: int, horizon: int, levels: int) -> None:
        """A forecast of ``items`` x ``horizon`` days with ``levels`` quantile levels."""
        self.check_items(items)
        self.check_levels(levels)
        _check("forecast", items * horizon * (levels + 1), self.max_forecast_values,
               f"{items:,} items x {horizon} days x ({levels} quantile levels + the point forecast)")

    def check_backtest(self, items: int, horizon: int, windows: int, models: int, levels: int) -> None:
        """A backtest of ``models`` on ``windows`` x ``horizon`` days of ``items``."""
        self.check_items(items)
        self.check_levels(levels)
        self.check_windows(windows)
        _check("backtest", items * windows * horizon * models * (levels + 1), self.max_backtest_values,
               f"{items:,} items x {windows} windows x {horizon} days x {models} models x "
               f"({levels} quantile levels + the point forecast)")

    def check_windows(self, windows: int) -> None:
        if windows > self.max_backtest_windows:
            raise LimitExceededError(
                f"{windows} backtest windows asked for; this server computes at most {self.max_backtest_windows}"
            )

    def check_cost(self, kind: str, cost: int, made_of: str) -> None:
        """A ``kind`` request whose model fits cost ``cost`` units (see ModelFactory.cost), ``made_of`` what."""
        if cost > self.max_cost_units:
            raise LimitExceededError(
                f"this {kind} costs too much to compute for one request: {made_of} = {cost:,} cost units, over "
                f"this server's limit of {self.max_cost_units:,} (max_cost_units); ask for fewer items, windows "
                f"or a cheaper model (or run it as a batch job with `python -m forecasting`)"
            )

    def check_reorder(self, items: int, horizon: int) -> None:
        """A reorder plan (or exception queue) of ``items`` projected ``horizon`` days ahead."""
        self.check_items(items)
        _check("reorder plan", items * horizon, self.max_reorder_item_days, f"{items:,} items x {horizon} days")


def _check(kind: str, cost: int, limit: int, made_of: str) -> None:
    if cost > limit:
        raise LimitExceededError(
            f"this {kind} is too big for one request: {made_of} = {cost:,}, over this server's limit of "
            f"{limit:,}; ask for fewer items, days, windows or levels (or run it as a batch job with "
            f"`python -m forecasting`)"
        )


class ComputationSlots:
    """At most ``per_process`` heavy computations at once, and ``per_client`` of one client.

    Shared by every thread of the process (the API's thread pool, the app's
    sessions). :meth:`hold` waits up to ``wait_s`` for a slot, then raises
    :class:`BusyError`.
    """

    RETRY_AFTER_S = 5

    def __init__(self, per_process: int, per_client: int, wait_s: float = 0.0):
        self.per_process = per_process
        self.per_client = per_client
        self.wait_s = wait_s
        self._changed = threading.Condition()
        self._running = 0
        self._of_client: dict[int, int] = {}

    @classmethod
    def for_limits(cls, limits: RequestLimits) -> ComputationSlots:
        return cls(limits.computations_per_process, limits.computations_per_client, limits.slot_wait_s)

    @contextmanager
    def hold(self, client_id: int) -> Iterator[None]:
        """One slot for the duration of the block."""
        deadline = monotonic() + self.wait_s
        with self._changed:
            while not self._free(client_id):
                left = deadline - monotonic()
                if left <= 0 or not self._changed.wait(left):
                    if self._free(client_id):
                        break
                    raise BusyError(self._busy_message(client_id), self.RETRY_AFTER_S)
            self._running += 1
            self._of_client[client_id] = self._of_client.get(client_id, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._of_client[client_id] -= 1
                if not self._of_client[client_id]:
                    del self._of_client[client_id]
                self._changed.notify_all()

    def _free(self, client_id: int) -> bool:
        return self._running < self.per_process and self._of_client.get(client_id, 0) < self.per_client

    def _busy_message(self, client_id: int) -> str:
        if self._of_client.get(client_id, 0) >= self.per_client:
            return (f"your organisation already has {self.per_client} computation(s) running on this server: "
                    f"try again in {self.RETRY_AFTER_S} seconds")
        return f"the server is busy with other computations: try again in {self.RETRY_AFTER_S} seconds"
