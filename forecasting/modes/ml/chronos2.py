"""Chronos-2 (Amazon's time-series foundation model, zero-shot) as the ``chronos-2`` model.

Items go to the model ``batch_size`` at a time, the longest histories
together so that little left padding is wasted, each with its whole gap-filled
history up to the model's context limit (covariates: see
:mod:`forecasting.modes.ml.inputs`). The model predicts 21 quantile levels,
0.01 to 0.99; they are sorted (weights need not keep them ordered), the point
forecast is their median, and other requested levels are interpolated
linearly between the two neighbouring native levels. Levels outside
0.01-0.99 are refused: the model says nothing about them, and clamping would
put the 0.999 quantile at the 0.99 one.

The pipeline's tensor API is called directly (not ``predict_df``): no frames
are built, validated or re-sorted on the way in or out.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecasting.core.errors import ForecastingError
from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import (
    DISTRIBUTION_LEVELS,
    Availability,
    BaseForecastModel,
    Prediction,
    ProgressCallback,
)
from forecasting.modes.ml.inputs import ModelInputs, build_inputs
from forecasting.modes.ml.loading import (
    CROSS_LEARNING_BATCH_SIZE,
    DEFAULT_BATCH_SIZE,
    availability_problem,
    get_pipeline,
    read_settings,
    weights_version,
)

if TYPE_CHECKING:
    from chronos import Chronos2Pipeline

#: the native levels' range; a Chronos-2 checkpoint predicts DISTRIBUTION_LEVELS
LOWEST_LEVEL, HIGHEST_LEVEL = DISTRIBUTION_LEVELS[0], DISTRIBUTION_LEVELS[-1]
#: longest horizon in one forward pass (64 output patches of 16 days); longer ones unroll slowly
ONE_PASS_HORIZON = 1024


class _WeightsVersion:
    """``version`` that reads the configured weights on each access, on the class and on instances.

    The storage layer keys cached forecasts on ``model.version``, and the
    weights (``CHRONOS_MODEL``, the files, ``CHRONOS_DTYPE``) can change while
    a process runs, so a fixed string would serve stale forecasts.
    """

    def __get__(self, obj: object, owner: type | None = None) -> str:
        cross = obj.uses_cross_learning() if isinstance(obj, Chronos2Model) else read_settings().cross_learning
        return weights_version() + (":cross-learning" if cross else "")


class Chronos2Model(BaseForecastModel):
    name = "chronos-2"
    label = "Chronos-2"
    uses_known_future = True
    uses_past_covariates = True
    version = _WeightsVersion()  # type: ignore[assignment]
    description = "Chronos-2 foundation model (zero-shot): median forecast, 21 quantile levels, numeric covariates"
    max_horizon = ONE_PASS_HORIZON
    #: the quantile levels it predicts (it does not extrapolate beyond them)
    level_range = (LOWEST_LEVEL, HIGHEST_LEVEL)

    def __init__(self, batch_size: int | None = None, cross_learning: bool | None = None):
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ForecastingError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        #: items per forward pass; None: CHRONOS_BATCH_SIZE, else 64 (100 with cross-learning)
        self.batch_size = batch_size
        #: forecast the items of a batch jointly (None: CHRONOS_CROSS_LEARNING); the API can pass it per model
        self.cross_learning = cross_learning

    def uses_cross_learning(self) -> bool:
        """Whether this model forecasts a batch's items jointly (its own setting, else CHRONOS_CROSS_LEARNING)."""
        if self.cross_learning is not None:
            return bool(self.cross_learning)
        try:
            return read_settings().cross_learning
        except ForecastingError:
            return False

    def availability(self) -> Availability:
        problem = availability_problem()
        return Availability(not problem, problem)

    def _predict(
        self,
        history: PreparedHistory,
        horizon: int,
        levels: tuple[float, ...],
        future_covariates: pd.DataFrame | None,
        progress: ProgressCallback | None,
    ) -> Prediction:
        outside = [level for level in levels if not LOWEST_LEVEL <= level <= HIGHEST_LEVEL]
        if outside:
            raise ForecastingError(
                f"quantile level(s) {', '.join(f'{x:g}' for x in outside)} outside Chronos-2's range "
                f"{LOWEST_LEVEL:g}-{HIGHEST_LEVEL:g} (the levels it predicts; it does not extrapolate)"
            )
        settings = read_settings()
        cross = self.uses_cross_learning()
        batch_size = self.batch_size or (
            settings.batch_size if cross == settings.cross_learning else
            (CROSS_LEARNING_BATCH_SIZE if cross else DEFAULT_BATCH_SIZE)
        )
        pipeline = get_pipeline()
        if horizon > pipeline.model_prediction_length:
            raise ForecastingError(
                f"horizon {horizon} is longer than this Chronos-2 model forecasts in one pass "
                f"({pipeline.model_prediction_length} days)"
            )
        inputs = build_inputs(history, horizon, future_covariates, pipeline.model_context_length)
        native = np.asarray(pipeline.quantiles, dtype=np.float64)
        ordered = np.sort(_run(pipeline, inputs, horizon, batch_size, progress, cross), axis=-1)
        point = interpolate_levels(ordered, native, (0.5,))[..., 0]
        return Prediction(point, interpolate_levels(ordered, native, levels))


def _run(
    pipeline: Chronos2Pipeline,
    inputs: ModelInputs,
    horizon: int,
    batch_size: int,
    progress: ProgressCallback | None,
    cross_learning: bool = False,
) -> np.ndarray:
    """Native quantiles [items, horizon, levels], batch by batch, longest histories first.

    With ``cross_learning`` the items of one batch attend to each other (chronos' ``cross_learning``).
    """
    import torch

    n = inputs.n_items
    order = np.argsort(-inputs.lengths, kind="stable")
    out = np.empty((n, horizon, len(pipeline.quantiles)))
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            items = order[start : start + batch_size]
            # the pipeline's batch_size counts rows (target + covariates): one forward pass per call
            preds = pipeline.predict(
                inputs.batch(items), prediction_length=horizon, batch_size=len(items) * inputs.n_rows,
                cross_learning=cross_learning,
            )
            out[items] = torch.stack(preds)[:, 0].transpose(1, 2).numpy()
            if progress:
                progress(min(start + batch_size, n), n)
    return out


def interpolate_levels(ordered: np.ndarray, native: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Values at ``levels`` from sorted values at ``native`` levels (last axis), linear in between.

    A level equal to a native one returns that native value exactly.
    """
    wanted = np.asarray(levels, dtype=np.float64)
    j = np.clip(np.searchsorted(native, wanted, side="right") - 1, 0, len(native) - 2)
    w = np.clip((wanted - native[j]) / (native[j + 1] - native[j]), 0.0, 1.0)
    return ordered[..., j] * (1.0 - w) + ordered[..., j + 1] * w
