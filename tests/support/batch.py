"""A model for batch tests whose worker fails on chosen items: a real exception in a real worker, counted.

It is MA7 otherwise. Every attempt at a chunk that holds one of ``fail_items``
appends a line to ``attempts`` (a file, so that Ray workers in other
processes count too) and raises, on the first ``failures`` attempts only
(None: always). It lives in an importable module so that Ray workers can
unpickle it.
"""
from __future__ import annotations

from pathlib import Path

from forecasting.modes.statistical.baselines import MovingAverage7

NAME = "failing-test-model"


class FailingModel(MovingAverage7):
    name = NAME
    label = "Failing (test)"

    def __init__(self, attempts: Path, fail_items: tuple[str, ...], failures: int | None = None):
        self.attempts, self.fail_items, self.failures = Path(attempts), fail_items, failures

    def _predict(self, history, horizon, levels, future_covariates, progress):
        hit = sorted(set(map(str, history.item_ids)) & set(self.fail_items))
        if hit:
            with self.attempts.open("a") as handle:
                handle.write(f"{hit[0]}\n")
            tried = len(self.attempts.read_text().splitlines())
            if self.failures is None or tried <= self.failures:
                raise RuntimeError(f"worker failure on {hit[0]} (attempt {tried})")
        return super()._predict(history, horizon, levels, future_covariates, progress)
