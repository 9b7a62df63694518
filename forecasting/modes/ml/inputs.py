"""Chronos-2 model inputs from a prepared history: target, covariates, batches.

Rows per item: the target (quantity), then past-only covariates, then
known-future covariates (the order Chronos-2 expects). A covariate is an extra
numeric column of the history; one that never changes within an item (a text
column read as zeros, an item attribute such as a category code) says nothing
about time and is left out, so a history without real covariates gives the
model the target alone. A covariate also given in the ``future_covariates``
frame (:mod:`forecasting.core.covariates`) for the forecast dates is known-future; forecast days the frame does not
cover are unknown (NaN) to the model.

Batches are built from flat arrays with one fancy-indexing step; only the list
of per-item dicts that the chronos API takes is made item by item.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecasting.core.covariates import future_values
from forecasting.core.history import PreparedHistory

@dataclass
class ModelInputs:
    """Everything the model sees, item rows in ``history`` order."""

    values: np.ndarray  # [rows, history rows] float32: target, past-only, known-future covariates
    future: np.ndarray  # [items, rows, horizon] float32, NaN where not known
    n_future: int  # how many trailing rows are known-future covariates
    starts: np.ndarray
    lengths: np.ndarray
    context_limit: int

    @property
    def n_items(self) -> int:
        return len(self.starts)

    @property
    def n_rows(self) -> int:
        return self.values.shape[0]

    def batch(self, items: np.ndarray) -> list[dict[str, Any]]:
        """Chronos ``PreparedInput`` dicts for ``items``: their last ``context_limit`` days, NaN-padded left."""
        import torch

        starts = self.starts[items]
        ends = starts + self.lengths[items]
        width = int(min(self.lengths[items].max(), self.context_limit))
        cols = ends[:, None] - width + np.arange(width)[None, :]
        context = self.values[:, np.maximum(cols, 0)].transpose(1, 0, 2)  # [batch, rows, width]
        context = np.where((cols >= starts[:, None])[:, None, :], context, np.float32(np.nan))
        context_t = torch.from_numpy(np.ascontiguousarray(context))
        future_t = torch.from_numpy(np.ascontiguousarray(self.future[items]))
        n_cov = self.n_rows - 1
        return [
            {
                "context": context_t[i],
                "future_covariates": future_t[i],
                "n_targets": 1,
                "n_covariates": n_cov,
                "n_future_covariates": self.n_future,
            }
            for i in range(len(items))
        ]


def build_inputs(
    history: PreparedHistory, horizon: int, future_covariates: pd.DataFrame | None, context_limit: int
) -> ModelInputs:
    """Target and covariate rows for every item; see the module docstring for which columns count."""
    known = future_values(future_covariates, history, horizon) if future_covariates is not None else {}
    names = [
        name
        for name, past in history.covariates.items()
        if _varies_within_an_item(past, history.starts, known.get(name))
    ]
    past_only = [n for n in names if n not in known]
    future_names = [n for n in names if n in known]
    ordered = [history.quantity] + [history.covariates[n] for n in past_only + future_names]
    values = np.stack(ordered).astype(np.float32)
    future = np.full((history.n_items, len(ordered), horizon), np.nan, dtype=np.float32)
    for j, name in enumerate(future_names, start=1 + len(past_only)):
        future[:, j, :] = known[name]
    return ModelInputs(values, future, len(future_names), history.starts, history.lengths, context_limit)


def _varies_within_an_item(past: np.ndarray, starts: np.ndarray, future: np.ndarray | None) -> bool:
    """Whether some item's past (and given future) values of a covariate are not all equal."""
    high, low = np.maximum.reduceat(past, starts), np.minimum.reduceat(past, starts)
    if future is not None:  # fmax/fmin skip the NaN of days without a value
        high, low = np.fmax(high, np.fmax.reduce(future, axis=1)), np.fmin(low, np.fmin.reduce(future, axis=1))
    return bool((high > low).any())
