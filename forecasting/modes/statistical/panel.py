"""Many series of different lengths laid out for fast recursions over time.

The models' history is a right-aligned matrix ``y`` [items, T]: every item
ends in the last column (the data's as-of date) and is NaN before its first
day. Recursions such as exponential smoothing run one time step at a time over
all items at once; :class:`Panel` keeps the values transposed (a time step is
one contiguous row) with the items sorted by their first day, so that the items
already started at step t are always the first ``started[t]`` of them and no
step needs a mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Panel:
    """``values`` [T, items] (items in ``order``, earliest start first) and how many have started by each step."""

    values: np.ndarray
    #: started[t] = number of items (in panel order) observed at step t
    started: np.ndarray
    #: panel position -> row of the original matrix
    order: np.ndarray
    #: first observed step of each item, in panel order
    starts: np.ndarray

    @classmethod
    def from_matrix(cls, y: np.ndarray) -> Panel:
        """From a right-aligned matrix [items, T], NaN before each item's first value (and nowhere after it)."""
        observed = ~np.isnan(y)
        starts = np.where(observed.any(axis=1), observed.argmax(axis=1), y.shape[1])
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        started = np.searchsorted(sorted_starts, np.arange(y.shape[1]), side="right")
        return cls(np.ascontiguousarray(y[order].T), started, order, sorted_starts)

    @property
    def n_items(self) -> int:
        return self.values.shape[1]

    @property
    def n_steps(self) -> int:
        return self.values.shape[0]

    def per_item(self, values: np.ndarray) -> np.ndarray:
        """Values given in original item order, put in panel order (axis 0)."""
        return np.asarray(values)[self.order]

    def to_items(self, values: np.ndarray) -> np.ndarray:
        """Per-item results in panel order (axis 0) back to the original item order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def lengths(self) -> np.ndarray:
        """Observed steps per item, in panel order."""
        return self.n_steps - self.starts


def to_matrix(panel: Panel, by_step: np.ndarray) -> np.ndarray:
    """Panel-ordered values [T, items] back to a right-aligned matrix [items, T] in original item order."""
    return panel.to_items(np.ascontiguousarray(by_step.T))
