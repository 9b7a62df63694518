"""``auto``: the best model for each item, chosen on a rolling-origin validation inside its own history.

For every item and every model of the pool, the model (fitted to the history it
is given) is replayed at weekly origins over the last year of that history
(:data:`VALIDATION_ORIGINS` origins, the latest H days before the history's
end), and each origin's next H days are scored:

    score = WAPE / 100 + WQL        (both over all origins and steps of the item)

WAPE is the point forecast's absolute error per unit sold; WQL is the weighted
quantile loss at levels 0.1, 0.5 and 0.9 of the model's empirical bands (the
quantiles of its step-h errors at those same origins). Both are errors per unit
sold, so they weigh alike. The item gets its lowest-scoring model, or the
median of its three best models when that ensemble scores lower still. The held
out days of a backtest are never seen: auto only ever looks at the history it
is given.

An item with fewer than :data:`MIN_ORIGINS` origins to validate on (a short
history) gets :data:`FALLBACK_MODEL`, and its choice says so. Chronos-2 joins
the pool where it can run (see :mod:`forecasting.modes.ml.chronos2`); its
validation is the last :data:`CHRONOS_ORIGINS` origins only (each costs a
forward pass of every item), where it challenges the best statistical choice
on exactly those origins.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.core.history import PreparedHistory
from forecasting.core.models.base import BaseForecastModel, Prediction
from forecasting.modes.statistical.empirical import (
    EmpiricalModel,
    Fit,
    paths_from_fit,
    predict_from_fit,
    row_quantiles,
)

#: weekly origins over a year: the validation's origins (fewer where the history is shorter)
VALIDATION_ORIGINS = 52
ORIGIN_SPACING = 7
#: an item needs at least this many origins to be validated, else it gets the fallback model
MIN_ORIGINS = 4
FALLBACK_MODEL = "ma7"
#: the quantile levels of the validation's WQL
SCORE_LEVELS = (0.1, 0.5, 0.9)
#: how many of an item's best models its median ensemble combines
ENSEMBLE_SIZE = 3
#: items are chosen for in blocks of this many (bounded memory; every item's choice is its own)
BLOCK_ITEMS = 4096
#: the registered models of the pool (Holt is left out: statsforecast's ETS fit is ~100x slower than the rest)
POOL = ("ma7", "seasonal-naive", "ses", "weekly-ses", "croston-sba", "tsb", "adida", "imapa")
#: fixed smoothing weights added to the pool: the slow weights suit forecasts weeks ahead, which the
#: one-step error that fits ``ses`` and ``weekly-ses`` tends to miss
SES_WEIGHTS = (0.01, 0.03, 0.1)
WEEKLY_WEIGHTS = (0.03, 0.1, 0.3)


def default_pool() -> list[EmpiricalModel]:
    """POOL plus SES and weekly SES with the fixed weights above."""
    from forecasting.modes.factory import ModelFactory
    from forecasting.modes.statistical.exponential import SimpleExponentialSmoothing, WeeklyExponentialSmoothing

    return [
        *(ModelFactory.create(name) for name in POOL),  # type: ignore[misc]
        *(SimpleExponentialSmoothing(a) for a in SES_WEIGHTS),
        *(WeeklyExponentialSmoothing(a) for a in WEEKLY_WEIGHTS),
    ]


@dataclass(frozen=True)
class Choice:
    """What auto chose for an item: a model name (or ``ensemble:a+b+c``) and why."""

    model: str
    reason: str


class AutoModel(BaseForecastModel):
    name = "auto"
    label = "Auto (best per item)"
    description = "chooses per item the model (or median of the best three) with the lowest WAPE/100 + WQL " \
                  "on weekly rolling origins over the item's last year; empirical bands"

    def __init__(self, pool: Sequence[EmpiricalModel] | None = None):
        self.pool = None if pool is None else tuple(pool)

    @property
    def version(self) -> str:  # type: ignore[override]
        """Changes with the pool and with any member's version (part of the forecast cache key)."""
        members = ",".join(f"{m.name}={m.version}" for m in self._members())
        return "1:" + hashlib.sha256(members.encode()).hexdigest()[:12]

    def _members(self) -> list[EmpiricalModel]:
        return list(self.pool) if self.pool is not None else default_pool()

    # --- the interface -------------------------------------------------------------------------

    def choose(self, history: PreparedHistory | pd.DataFrame, horizon: int) -> list[Choice]:
        """Each item's choice (what :meth:`forecast` would use), in the history's item order."""
        prepared = self.prepare(history)
        y = prepared.tail_matrix()
        out: list[Choice] = []
        for start in range(0, len(y), BLOCK_ITEMS):
            out += self._block(y[start : start + BLOCK_ITEMS], horizon)[1]
        return out

    def _predict(self, history, horizon, levels, future_covariates, progress) -> Prediction:
        y = history.tail_matrix()
        points, quantiles, choices = [], [], []
        for start in range(0, len(y), BLOCK_ITEMS):
            block = y[start : start + BLOCK_ITEMS]
            fits, chosen = self._block(block, horizon)
            point = np.empty((len(block), horizon))
            q = np.empty((len(block), horizon, len(levels)))
            for fit, rows in fits:
                pred = predict_from_fit(fit, horizon, levels)
                point[rows], q[rows] = pred.point, pred.quantiles
            points.append(point)
            quantiles.append(q)
            choices += chosen
            if progress:
                progress(min(start + BLOCK_ITEMS, len(y)), len(y))
        columns = {"chosen_model": np.array([c.model for c in choices], dtype=object),
                   "choice": np.array([c.reason for c in choices], dtype=object)}
        return Prediction(np.concatenate(points), np.concatenate(quantiles), columns)

    def _sample_paths(self, history, horizon, n_paths, seed, progress) -> np.ndarray:
        y = history.tail_matrix()
        parts = []
        for start in range(0, len(y), BLOCK_ITEMS):
            block = y[start : start + BLOCK_ITEMS]
            fits, _ = self._block(block, horizon)
            pieces = [(rows, paths_from_fit(fit, horizon)) for fit, rows in fits]
            width = max(p.shape[1] for _, p in pieces)
            values = np.full((len(block), width, horizon), np.nan)
            for rows, p in pieces:
                values[rows, : p.shape[1]] = p
            parts.append(values)
        width = max(p.shape[1] for p in parts)
        return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=np.nan)
                               for p in parts])

    # --- choosing ---------------------------------------------------------------------------------

    def _block(self, y: np.ndarray, horizon: int) -> tuple[list[tuple[Fit, np.ndarray]], list[Choice]]:
        """The fits to forecast each item with (fit, its rows) and every item's choice."""
        members = self._members()
        fits = [m.fit(y, horizon) for m in members]
        validation = Validation(fits[0].y, horizon)
        scores = np.stack([validation.score(f) for f in fits], axis=1)  # [items, models]
        ranked = np.where(np.isnan(scores), np.inf, scores)
        best = np.argmin(ranked, axis=1)
        best_score = ranked[np.arange(len(y)), best]

        # the median of each item's three best models, where that scores lower still
        top = np.sort(np.argsort(ranked, axis=1, kind="stable")[:, :ENSEMBLE_SIZE], axis=1)
        ensembles: dict[tuple[int, ...], np.ndarray] = {}
        if len(members) >= ENSEMBLE_SIZE:
            for combo in {tuple(row) for row in top.tolist()}:
                rows = np.flatnonzero((top == combo).all(axis=1))
                score = validation.take(rows).score(median_fit([take(fits[k], rows) for k in combo]))
                ensembles[combo] = rows[score < best_score[rows]]
        fallback = validation.n_origins < MIN_ORIGINS
        use_ensemble = np.zeros(len(y), dtype=bool)
        for combo in ensembles:
            ensembles[combo] = ensembles[combo][~fallback[ensembles[combo]]]
            use_ensemble[ensembles[combo]] = True

        names = [m.name for m in members]
        choices = [
            Choice(FALLBACK_MODEL, f"fallback: history too short to validate ({validation.n_origins[i]} of "
                                   f"{MIN_ORIGINS} weekly origins)") if fallback[i]
            else Choice("ensemble:" + "+".join(names[k] for k in top[i]), "validated") if use_ensemble[i]
            else Choice(names[best[i]], "validated")
            for i in range(len(y))
        ]
        groups: list[tuple[Fit, np.ndarray]] = []
        for k, fit in enumerate(fits):
            rows = np.flatnonzero((best == k) & ~use_ensemble & ~fallback)
            if len(rows):
                groups.append((take(fit, rows), rows))
        if fallback.any():
            from forecasting.modes.factory import ModelFactory

            rows = np.flatnonzero(fallback)
            groups.append((ModelFactory.create(FALLBACK_MODEL).fit(y[rows], horizon), rows))  # type: ignore[attr-defined]
        for combo, rows in ensembles.items():
            if len(rows):
                groups.append((median_fit([take(fits[k], rows) for k in combo]), rows))
        return groups, choices


class Validation:
    """The validation origins of a block of items and the actuals after each: shared by every model's fit.

    Origins are the days T-1-H, T-1-H-7, ... (VALIDATION_ORIGINS of them) of the
    fits' window; an origin counts for an item that had 7 days of history by then.
    """

    def __init__(self, y: np.ndarray, horizon: int, columns: np.ndarray | None = None,
                 usable: np.ndarray | None = None, actuals: np.ndarray | None = None):
        self.horizon = horizon
        if columns is None:
            width = y.shape[1]
            columns = width - 1 - horizon - ORIGIN_SPACING * np.arange(VALIDATION_ORIGINS)
            columns = columns[columns >= 0]
            first = np.where((~np.isnan(y)).any(axis=1), np.argmax(~np.isnan(y), axis=1), width)
            usable = columns[None, :] >= first[:, None] + 6
            actuals = y[:, columns[:, None] + np.arange(1, horizon + 1)[None, :]]  # [items, origins, horizon]
            actuals[~usable] = np.nan
        self.columns, self.usable, self.actuals = columns, usable, actuals
        self.n_origins = usable.sum(axis=1)

    def take(self, rows: np.ndarray) -> Validation:
        return Validation(None, self.horizon, self.columns, self.usable[rows], self.actuals[rows])  # type: ignore[arg-type]

    def errors(self, fit: Fit) -> np.ndarray:
        """actual - forecast [items, origins, horizon] at the validation origins (NaN where unusable)."""
        forecasts = fit.step_forecasts()
        if fit.same_for_every_step:
            return self.actuals - forecasts(1)[:, self.columns][:, :, None]
        return np.stack([self.actuals[:, :, h - 1] - forecasts(h)[:, self.columns]
                         for h in range(1, self.horizon + 1)], axis=2)

    def score(self, fit: Fit) -> np.ndarray:
        """WAPE/100 + WQL per item over its validation origins (NaN without any)."""
        errors = self.errors(fit)
        scale = np.maximum(np.nansum(self.actuals, axis=(1, 2)), 1.0)  # an item that sold nothing: in units
        levels = np.asarray(SCORE_LEVELS)
        # each step's band: the quantiles of that step's errors over the origins, around the forecast
        shift = row_quantiles(np.moveaxis(errors, 1, 2), levels)  # [items, horizon, levels]
        errors = np.nan_to_num(errors)  # unusable origins add nothing (their quantile shift is then irrelevant)
        loss = np.zeros(len(errors))
        for j, level in enumerate(levels):
            residual = errors - shift[:, None, :, j]  # y - (f + q) = error - q
            residual[~self.usable] = 0.0
            loss += np.maximum(level * residual, (level - 1.0) * residual).sum(axis=(1, 2))
        wql = 2.0 * loss / len(levels) / scale
        score = np.abs(errors).sum(axis=(1, 2)) / scale + wql
        return np.where(self.n_origins > 0, score, np.nan)


def take(fit: Fit, rows: np.ndarray) -> Fit:
    """The fit of some items only."""
    forecasts = fit.step_forecasts()
    return Fit(fit.y[rows], lambda h: forecasts(h)[rows], fit.same_for_every_step)


def median_fit(fits: list[Fit]) -> Fit:
    """The median ensemble: at every origin and step, the median of the members' forecasts."""
    members = [f.step_forecasts() for f in fits]
    same = all(f.same_for_every_step for f in fits)
    return Fit(fits[0].y, lambda h: np.median(np.stack([m(h) for m in members]), axis=0), same)
