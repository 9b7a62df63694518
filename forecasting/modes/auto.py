"""``auto``: a model for each item, chosen on a rolling-origin validation inside its own history.

Every model of the pool is fitted to the item's history and replayed at origins
every two weeks over the last year of that history (26 origins on daily data,
every month for monthly data: ``Frequency.validation_origins``; the latest H
buckets before the history's end); each origin's next H days
are scored:

    score = WAPE / 100 + WQL        (over all origins and steps of the item)

WAPE is the point forecast's absolute error per unit sold; WQL the weighted
quantile loss at levels 0.1, 0.5 and 0.9 of the model's empirical bands (the
quantiles of its step-h errors at those origins). Both are errors per unit
sold, so they weigh alike.

The item gets the **median ensemble of the pool** (at every day, the median of
all pool models' forecasts, with its own empirical bands), unless a single
model scores at least :data:`MARGIN` (20%) lower, in which case it gets that
model. Why the ensemble first: on the pasta data over 8 rolling windows of 28
days, giving every item its lowest-scoring model gave a pooled WAPE of 83.9
while the median of the pool gave 80.2 (the best single model 81.2): scores
over a year of a noisy series pick the lucky model as often as the right one,
and a median of many is hard to beat. A model that is clearly right for an
item (a strong weekly pattern, a trend) still wins it.

A dead item (:func:`forecasting.modes.statistical.classification.no_recent_demand`:
no sale for 13 weeks and 4 of its own mean intervals between sales) gets
:data:`NO_DEMAND`: a forecast of zero with zero-width bands and all-zero paths.
Every other model's bands come from its errors over the last year, made while
the item still sold; they would promise sales that the recent regime does not
show (an item dead for 227 days got an 80% band up to 6 units a day).

The held-out days of a backtest are never seen: auto only looks at the history
it is given. An item with fewer than :data:`MIN_ORIGINS` origins to validate on
(a short history) gets :data:`FALLBACK_MODEL`, and its choice says so.
Chronos-2 joins where it can run: it is scored on the latest
:data:`CHRONOS_ORIGINS` origins a horizon apart (each costs a forward pass of
every item) against the item's statistical choice on exactly those origins, and
takes the items where it is at least MARGIN better. The global model (``lgbm``, one model
trained across all items) joins on its own validation origins, alone or blended with an
item's statistical choice: :mod:`forecasting.modes.auto_global`.

Weekly and monthly buckets (issue 17; measured in benchmarks/results/buckets.md):

- The pool leaves out ``seasonal-ses`` with weights fitted per point of the
  season (:data:`FITTED_SEASON_BUCKETS`): a week or month of the year has one
  bucket a year, so its weight is fitted on two to four buckets, the very ones
  the validation then scores, and it looks better there than it forecasts
  (pasta in weeks: chosen for 39 of 118 items, pooled WAPE 51.4 against 48.8
  without it). The fixed-weight seasonal SES stay: nothing of theirs is fitted.
- The pool has ``theta`` (:data:`THETA_BUCKETS`): the trend it extrapolates
  is what none of the others has (US employment, 148 trending monthly series:
  pooled WAPE 1.26 without it, 0.64 with it; pasta and the demo data within
  0.1 point either way).
- The ensemble's bands are the median of its members' bands around its own
  point (:data:`MEMBER_BANDS_BUCKETS`, :func:`ensemble_prediction`). Its own
  past errors are those of a median of 14 forecasts, which follows the past
  more closely than it forecasts the future, and exist only where every member
  has a forecast (a seasonal member needs a whole season first: on 3 years of
  weekly history, 52 of the 104 error origins): on the demo data in weeks its
  own 10-90% bands held 63% of the actuals, the members' median 80%.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.core.calendar import bucket, in_bucket
from forecasting.core.history import MIN_HISTORY_DAYS, PreparedHistory
from forecasting.core.models.base import DISTRIBUTION_LEVELS, BaseForecastModel, Prediction, draw_paths, submit
from forecasting.modes import auto_global
from forecasting.modes.auto_global import GLOBAL_MODEL, GlobalStage
from forecasting.modes.statistical.classification import no_recent_demand
from forecasting.modes.statistical.empirical import (
    MIN_TRAJECTORIES,
    EmpiricalModel,
    Fit,
    error_quantiles,
    error_trajectories,
    paths_from_fit,
    predict_from_fit,
    row_quantiles,
    too_few_trajectories,
)

#: the validation's origins are counted in the data's buckets (Frequency.validation_origins): every two
#: weeks over a year on daily data (26 origins, 14 days apart), every 2 weeks on weekly data, every month
#: over a year on monthly data (12); fewer where the history is shorter
#: an item needs at least this many origins to be validated, else it gets the fallback model
MIN_ORIGINS = 4
FALLBACK_MODEL = "ma7"
#: the quantile levels of the validation's WQL
SCORE_LEVELS = (0.1, 0.5, 0.9)
#: what an item forecast by the pool's median ensemble reports as its chosen model
ENSEMBLE = "ensemble"
#: what a dead item reports as its chosen model: zero demand, zero-width bands
NO_DEMAND = "no-demand"
#: a single model (or the challenger) replaces the ensemble only with a validation score this much lower
MARGIN = 0.2
#: items are chosen for in blocks of this many (bounded memory; every item's choice is its own)
BLOCK_ITEMS = 4096
#: the model that challenges the statistical choice where it can run, and its validation origins
CHALLENGER = "chronos-2"
CHRONOS_ORIGINS = 2
#: the registered models of the pool (Holt is left out: statsforecast's ETS fit is ~100x slower than the rest)
POOL = ("ma7", "seasonal-naive", "ses", "seasonal-ses", "croston-sba", "tsb", "adida", "imapa")
#: auto's global member is named by the environment (AUTO_GLOBAL_MODEL: a registered model, or ``none``)
FROM_ENVIRONMENT = "from the environment"
#: fixed smoothing weights added to the pool: the slow weights suit forecasts weeks ahead, which the
#: one-step error that fits ``ses`` and ``seasonal-ses`` tends to miss
SES_WEIGHTS = (0.01, 0.03, 0.1)
WEEKLY_WEIGHTS = (0.03, 0.1, 0.3)
#: the buckets whose pool keeps ``seasonal-ses`` with weights fitted per point of the season: days, where
#: each weekday has ~52 buckets a year; a week or month of the year has one (see the module's docstring)
FITTED_SEASON_BUCKETS = ("D",)
#: the buckets whose pool has ``theta`` (see the module's docstring); not days, where its per-item fit
#: (statsforecast's optimiser, about 0.5 s an item of 5 years of days) would multiply auto's time
THETA_BUCKETS = ("W", "M")
#: the buckets whose ensemble takes the median of its members' bands (:func:`ensemble_prediction`). Daily
#: data keeps the ensemble's own: the members' would also suit it (pasta, 4 x 28 days: coverage 0.797 instead
#: of 0.773, WQL 0.532 instead of 0.536) but cost 13 more sets of quantiles over a year of daily origins
#: (about 80 s more on 10,000 items, benchmarks/bench_models.py)
MEMBER_BANDS_BUCKETS = ("W", "M")


def default_pool() -> list[EmpiricalModel]:
    """POOL (without the fitted seasonal SES outside FITTED_SEASON_BUCKETS, with theta in THETA_BUCKETS), SES and
    seasonal SES with fixed weights."""
    from forecasting.modes.factory import ModelFactory
    from forecasting.modes.statistical.exponential import SeasonalExponentialSmoothing, SimpleExponentialSmoothing

    code = bucket().code
    names = POOL if code in FITTED_SEASON_BUCKETS else tuple(n for n in POOL if n != "seasonal-ses")
    names += ("theta",) if code in THETA_BUCKETS else ()
    return [
        *(ModelFactory.create(name) for name in names),  # type: ignore[misc]
        *(SimpleExponentialSmoothing(a) for a in SES_WEIGHTS),
        *(SeasonalExponentialSmoothing(a) for a in WEEKLY_WEIGHTS),
    ]


@dataclass(frozen=True)
class Choice:
    """What auto chose for an item: a model name (or ``ensemble:a+b+c``) and why."""

    model: str
    reason: str


class AutoModel(BaseForecastModel):
    name = "auto"
    label = "Auto (best per item)"
    description = "per item: the median of 14 statistical models (in weeks and months with Theta instead of the " \
                  "fitted seasonal SES), or one of them where " \
                  "it is clearly better (WAPE/100 + WQL on rolling origins over the item's last year); the global " \
                  "LightGBM model alone or blended, and Chronos-2, where they validate better"
    #: the global model uses a calendar where it validates better with it (auto_global)
    uses_known_future = True
    #: and the item's category, as lgbm does
    uses_item_attributes = True

    def __init__(self, pool: Sequence[EmpiricalModel] | None = None, challenger: str | None = CHALLENGER,
                 global_model: str | None = FROM_ENVIRONMENT):
        self.pool = None if pool is None else tuple(pool)
        #: a registered model that challenges the statistical choice where it can run (None: none)
        self.challenger = challenger
        #: a registered global model (trained across items) that challenges it too (None: none;
        #: FROM_ENVIRONMENT: AUTO_GLOBAL_MODEL, default GLOBAL_MODEL, read at each use)
        self.global_model = global_model

    @property
    def version(self) -> str:  # type: ignore[override]
        """Changes with the pool, any member's version, the challenger's availability and the rules (the cache key).

        "2:": dead items get NO_DEMAND. "3:": weekly and monthly pools without the fitted seasonal SES, the
        ensemble's bands there the median of its members'. "4:": the global model alone or blended. "5:": theta
        in the weekly and monthly pools; weekly and monthly bands at the Weibull positions (the members' versions too).
        "6:": a second blend, the global model's point inside the mean of both bands.
        """
        members = [f"{m.name}={m.version}" for m in self._members()]
        for extra in (self._challenger(), self._global()):
            if extra is not None:
                members.append(f"{extra.name}={extra.version}")
        return "6:" + hashlib.sha256(",".join(members).encode()).hexdigest()[:12]

    def _members(self) -> list[EmpiricalModel]:
        return list(self.pool) if self.pool is not None else default_pool()

    def _challenger(self, levels: Sequence[float] = (), horizon: int = 1) -> BaseForecastModel | None:
        """The challenger when it can run here for these levels and this horizon."""
        if self.challenger is None:
            return None
        from forecasting.modes.factory import ModelFactory

        model = ModelFactory.create(self.challenger)
        low, high = getattr(model, "level_range", (0.0, 1.0))
        fits = all(low <= q <= high for q in (*levels, *SCORE_LEVELS)) and horizon <= model.max_horizon
        return model if fits and model.availability().available else None

    def _global(self) -> BaseForecastModel | None:
        """The global model when it is installed here."""
        name = self.global_model
        if name == FROM_ENVIRONMENT:
            name = os.environ.get("AUTO_GLOBAL_MODEL", GLOBAL_MODEL).strip().lower()
        if name is None or name in ("", "none"):
            return None
        from forecasting.modes.factory import ModelFactory

        model = ModelFactory.create(name)
        return model if model.availability().available else None

    def _plans(self, history: PreparedHistory, horizon: int, challenger: BaseForecastModel | None,
               future: pd.DataFrame | None, levels: tuple[float, ...] | None
               ) -> tuple[list[tuple[int, PreparedHistory, Plan]], Prediction | None]:
        """Every block's plan, and the global model's forecast at ``levels`` (None: no global model, or no levels).

        The global stage (LightGBM trainings for all items at once, which
        release the GIL) runs in a thread while the statistical pool is fitted
        and validated here block by block; the global challenge follows once
        both are done. On two cores the two overlap: on 10,000 items x 730 days
        the pool takes ~40 s, the global stage longer (benchmarks/results/global.md).
        """
        model = self._global()
        with ThreadPoolExecutor(max_workers=1) as pool:
            staged = None if model is None else submit(pool, _stage_and_final, model, history, horizon, future,
                                                       levels)
            pooled = [(offset, block, self._pool_plan(block, horizon, challenger))
                      for offset, block in _blocks(history)]
            stage, final = (None, None) if staged is None else staged.result()
        if stage is None:
            return [(offset, block, plan) for offset, block, (plan, _, _) in pooled], final
        from forecasting.modes.factory import ModelFactory

        plans = []
        short = ModelFactory.create(FALLBACK_MODEL)
        for offset, block, (plan, validation, fallback) in pooled:
            fallback_fit = short.fit(block.tail_matrix(), horizon)  # type: ignore[attr-defined]
            plans.append((offset, block, auto_global.challenge(plan, stage, validation, block, offset, fallback,
                                                               fallback_fit, MARGIN)))
        return plans, final

    # --- the interface -------------------------------------------------------------------------

    def choose(self, history: PreparedHistory | pd.DataFrame, horizon: int) -> list[Choice]:
        """Each item's choice (what :meth:`forecast` would use), in the history's item order."""
        prepared = self.prepare(history)
        challenger = self._challenger((), horizon)
        with in_bucket(prepared.freq):
            plans, _ = self._plans(prepared, horizon, challenger, None, None)
        return [c for _, _, plan in plans for c in plan.choices]

    def _predict(self, history, horizon, levels, future_covariates, progress) -> Prediction:
        challenger = self._challenger(levels, horizon)
        plans, final = self._plans(history, horizon, challenger, future_covariates, levels)
        points, quantiles, choices = [], [], []
        done = 0
        for offset, block, plan in plans:
            point, q = _block_prediction(block, offset, plan, horizon, levels, challenger, final)
            points.append(point)
            quantiles.append(q)
            choices += plan.choices
            done += block.n_items
            if progress:
                progress(done, history.n_items)
        columns = {"chosen_model": np.array([c.model for c in choices], dtype=object),
                   "choice": np.array([c.reason for c in choices], dtype=object)}
        return Prediction(np.concatenate(points), np.concatenate(quantiles), columns)

    def _sample_paths(self, history, horizon, n_paths, seed, progress) -> np.ndarray:
        challenger = self._challenger((), horizon)
        plans, final = self._plans(history, horizon, challenger, None, DISTRIBUTION_LEVELS)
        parts = []
        for offset, block, plan in plans:
            pieces = [(rows, ensemble_paths(fit, horizon)) for fit, rows in plan.fits]
            if len(plan.zero_rows):
                pieces.append((plan.zero_rows, np.zeros((len(plan.zero_rows), MIN_TRAJECTORIES, horizon))))
            if len(plan.challenger_rows):
                only = _only(block, plan.challenger_rows)
                pieces.append((plan.challenger_rows, challenger._sample_paths(only, horizon, n_paths, seed, None)))
            values = np.full((block.n_items, max((p.shape[1] for _, p in pieces), default=0), horizon), np.nan)
            for rows, p in pieces:
                values[rows, : p.shape[1]] = p
            values[plan.blend_rows] = np.nan  # the global model's items and the blends: drawn from their bands
            few = np.flatnonzero(too_few_trajectories(values))
            if len(few):  # as the statistical models do: independent daily draws from the item's bands
                _, bands = _block_prediction(block, offset, plan, horizon, DISTRIBUTION_LEVELS, challenger, final)
                drawn = draw_paths(block.item_ids[few], bands[few], DISTRIBUTION_LEVELS, bucket().error_origins, seed)
                if values.shape[1] < drawn.shape[1]:
                    values = np.pad(values, ((0, 0), (0, drawn.shape[1] - values.shape[1]), (0, 0)),
                                    constant_values=np.nan)
                values[few] = np.nan
                values[few, : drawn.shape[1]] = drawn
            parts.append(values)
        width = max(p.shape[1] for p in parts)
        return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=np.nan)
                               for p in parts])

    # --- choosing ---------------------------------------------------------------------------------

    def _pool_plan(self, history: PreparedHistory, horizon: int, challenger: BaseForecastModel | None
                   ) -> tuple[Plan, Validation, np.ndarray]:
        """How each item of a block is forecast by the statistical pool (the median ensemble, a single model,
        the fallback) or the challenger; with the block's validation and fallback flags (for the global challenge)."""
        y = history.tail_matrix()
        members = self._members()
        fits = [m.fit(y, horizon) for m in members]
        validation = Validation(fits[0].y, horizon)
        ensemble = median_fit(fits)
        incumbent = validation.score(ensemble)
        scores = np.stack([validation.score(f) for f in fits], axis=1)  # [items, models]
        ranked = np.where(np.isnan(scores), np.inf, scores)
        best = np.argmin(ranked, axis=1)
        best_score = ranked[np.arange(len(y)), best]
        dead, since = no_recent_demand(y)
        fallback = (validation.n_origins < MIN_ORIGINS) & ~dead
        single = clearly_better(best_score, incumbent) & ~fallback & ~dead

        choices = []
        for i in range(len(y)):
            if dead[i]:
                choices.append(Choice(NO_DEMAND, f"no recent demand: no sale in the last {since[i]} days"))
            elif fallback[i]:
                choices.append(Choice(FALLBACK_MODEL, f"fallback: history too short to validate "
                                                      f"({validation.n_origins[i]} of {MIN_ORIGINS} origins)"))
            elif single[i]:
                gain = 1.0 - best_score[i] / incumbent[i]
                choices.append(Choice(members[best[i]].name, f"validated: {gain:.0%} lower score than the ensemble"))
            else:
                choices.append(Choice(ENSEMBLE, f"validated: median of the {len(members)} pool models"))
        groups: list[tuple[Fit, np.ndarray]] = []
        rows = np.flatnonzero(~single & ~fallback & ~dead)
        if len(rows):
            groups.append((take(ensemble, rows), rows))
        for k, fit in enumerate(fits):
            rows = np.flatnonzero(single & (best == k))
            if len(rows):
                groups.append((take(fit, rows), rows))
        if fallback.any():
            from forecasting.modes.factory import ModelFactory

            rows = np.flatnonzero(fallback)
            groups.append((ModelFactory.create(FALLBACK_MODEL).fit(y[rows], horizon), rows))  # type: ignore[attr-defined]
        plan = Plan(groups, np.empty(0, dtype=np.int64), choices, np.flatnonzero(dead))
        if challenger is not None:
            plan = _challenge(plan, challenger, history, validation, horizon)
        return plan, validation, fallback


def _stage_and_final(model: BaseForecastModel, history: PreparedHistory, horizon: int, future: pd.DataFrame | None,
                     levels: tuple[float, ...] | None) -> tuple[GlobalStage | None, Prediction | None]:
    """The global model's validation stage, and its forecast at ``levels`` (None: not wanted)."""
    stage = auto_global.global_stage(model, history, horizon, future, SCORE_LEVELS)
    return stage, None if stage is None or levels is None else stage.final(levels)


def clearly_better(score: np.ndarray, incumbent: np.ndarray) -> np.ndarray:
    """Where ``score`` is at least MARGIN lower than the incumbent's (NaN never is)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(score, nan=np.inf) < (1.0 - MARGIN) * np.nan_to_num(incumbent, nan=np.inf)


@dataclass
class Plan:
    """A block's forecasts: statistical fits with their rows, the challenger's rows, every item's choice."""

    fits: list[tuple[Fit, np.ndarray]]
    challenger_rows: np.ndarray
    choices: list[Choice]
    #: dead items: forecast zero, bands and paths zero (:data:`NO_DEMAND`)
    zero_rows: np.ndarray
    #: items the global model forecasts alone, and items forecast by the mean of their fit's and its forecast
    global_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    blend_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: of the blends, those that forecast the global model's point (the others: the mean of both points)
    global_point_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def _challenge(
    plan: Plan, challenger: BaseForecastModel, history: PreparedHistory, validation: Validation, horizon: int
) -> Plan:
    """Let the challenger take the items where it scores lower than their statistical choice.

    Both are scored on the same CHRONOS_ORIGINS origins (the latest, and one a
    horizon or more before it); the statistical bands keep the quantile shifts of
    the whole validation, the challenger's are its own quantiles.
    """
    picked = validation.challenge_origins(CHRONOS_ORIGINS)
    incumbent = np.full(history.n_items, np.inf)
    for fit, rows in plan.fits:
        incumbent[rows] = validation.take(rows).score(fit, picked)
    contender = validation.score_forecasts(picked, lambda column, rows: challenger._predict(
        _cut(history, rows, validation.day_of(column, history)), horizon, SCORE_LEVELS, None, None))
    wins = np.setdiff1d(np.flatnonzero(clearly_better(contender, incumbent)), plan.zero_rows)
    if not len(wins):
        return plan
    fits = []
    for fit, rows in plan.fits:
        kept = ~np.isin(rows, wins)
        if kept.any():
            fits.append((take(fit, np.flatnonzero(kept)), rows[kept]))
    choices = list(plan.choices)
    for i in wins:
        choices[i] = Choice(challenger.name, f"validated on {len(picked)} origins against {choices[i].model}")
    return Plan(fits, wins, choices, plan.zero_rows)


def _blocks(history: PreparedHistory):
    """The history in blocks of BLOCK_ITEMS items, each with its first item's row (every item's choice is its own)."""
    for start in range(0, history.n_items, BLOCK_ITEMS):
        keep = np.zeros(history.n_items, dtype=bool)
        keep[start : start + BLOCK_ITEMS] = True
        yield start, (history if keep.all() else history.subset(keep))


def _block_prediction(block: PreparedHistory, offset: int, plan: Plan, horizon: int, levels: tuple[float, ...],
                      challenger: BaseForecastModel | None, final: Prediction | None) -> tuple[np.ndarray, np.ndarray]:
    """A block's point forecasts and quantiles as its plan says (``final``: the global model's, all items)."""
    point = np.empty((block.n_items, horizon))
    q = np.empty((block.n_items, horizon, len(levels)))
    for fit, rows in plan.fits:
        pred = ensemble_prediction(fit, horizon, levels)
        point[rows], q[rows] = pred.point, pred.quantiles
    point[plan.zero_rows], q[plan.zero_rows] = 0.0, 0.0
    if len(plan.challenger_rows):
        pred = challenger._predict(_only(block, plan.challenger_rows), horizon, levels, None, None)  # type: ignore[union-attr]
        point[plan.challenger_rows], q[plan.challenger_rows] = pred.point, pred.quantiles
    if final is not None:
        rows = plan.global_rows
        point[rows], q[rows] = final.point[offset + rows], final.quantiles[offset + rows]
        rows = plan.blend_rows
        point[rows] = (point[rows] + final.point[offset + rows]) / 2
        rows = plan.global_point_rows
        point[rows] = final.point[offset + rows]
        q[rows] = (np.sort(np.maximum(q[rows], 0.0), axis=-1) + np.sort(np.maximum(final.quantiles[offset + rows],
                                                                                    0.0), axis=-1)) / 2
    return point, q


def _only(history: PreparedHistory, rows: np.ndarray) -> PreparedHistory:
    keep = np.zeros(history.n_items, dtype=bool)
    keep[rows] = True
    return history.subset(keep)


def _cut(history: PreparedHistory, rows: np.ndarray, day: int) -> PreparedHistory:
    """The items ``rows`` up to and including day number ``day`` (an origin of the validation)."""
    only = _only(history, rows)
    return only.truncate(np.full(only.n_items, day), min_days=1)


class Validation:
    """The validation origins of a block of items and the actuals after each: shared by every model's fit.

    Origins are the buckets T-1-H, T-1-H-s, ... (n of them; n, s: the bucket's
    validation origins, 26 and 14 for days) of the fits' window; an origin counts
    for an item that had MIN_HISTORY_DAYS buckets of history by then.
    """

    def __init__(self, y: np.ndarray, horizon: int, columns: np.ndarray | None = None,
                 usable: np.ndarray | None = None, actuals: np.ndarray | None = None):
        self.horizon = horizon
        if columns is None:
            width = y.shape[1]
            count, spacing = bucket().validation_origins
            columns = width - 1 - horizon - spacing * np.arange(count)
            columns = columns[columns >= 0]
            first = np.where((~np.isnan(y)).any(axis=1), np.argmax(~np.isnan(y), axis=1), width)
            usable = columns[None, :] >= first[:, None] + MIN_HISTORY_DAYS - 1
            actuals = y[:, columns[:, None] + np.arange(1, horizon + 1)[None, :]]  # [items, origins, horizon]
            actuals[~usable] = np.nan
        self.columns, self.usable, self.actuals = columns, usable, actuals
        self.width = int(columns[0]) + 1 + horizon if len(columns) else horizon
        self.n_origins = usable.sum(axis=1)

    def take(self, rows: np.ndarray) -> Validation:
        return Validation(None, self.horizon, self.columns, self.usable[rows], self.actuals[rows])  # type: ignore[arg-type]

    def errors(self, fit: Fit) -> np.ndarray:
        """actual - forecast [items, origins, horizon] at the validation origins (NaN where unusable)."""
        if fit.period == 1:
            return self.actuals - fit.columns(1, self.columns)[:, :, None]
        distinct = fit.period or self.horizon
        at = [fit.columns(h, self.columns) for h in range(1, min(distinct, self.horizon) + 1)]
        errors = np.empty(self.actuals.shape)
        for h in range(1, self.horizon + 1):
            np.subtract(self.actuals[:, :, h - 1], at[(h - 1) % distinct], out=errors[:, :, h - 1])
        return errors

    def score(self, fit: Fit, origins: np.ndarray | None = None) -> np.ndarray:
        """WAPE/100 + WQL per item over its validation origins, or only over ``origins`` (indices); NaN without any.

        The band of each step is the quantiles of that step's errors over all the
        item's origins, around the forecast (the empirical bands of the models).
        """
        if not len(self.columns):  # no item of the block is long enough for a single origin
            return np.full(len(self.usable), np.nan)
        errors = self.errors(fit)
        shift = row_quantiles(np.moveaxis(errors, 1, 2), np.asarray(SCORE_LEVELS))  # [items, horizon, levels]
        if origins is not None:
            errors = errors[:, origins]
        residuals = errors[:, :, :, None] - shift[:, None, :, :]  # y - (f + q) = error - q
        return self._score(errors, residuals, origins)

    def score_forecasts(self, origins: np.ndarray, predict: Callable[[int, np.ndarray], Prediction]) -> np.ndarray:
        """The score of another model at some origins; ``predict(column, rows)`` is its Prediction there.

        Its bands are its own quantiles at SCORE_LEVELS.
        """
        n = len(self.usable)
        errors = np.full((n, len(origins), self.horizon), np.nan)
        residuals = np.full((n, len(origins), self.horizon, len(SCORE_LEVELS)), np.nan)
        for j, index in enumerate(origins):
            rows = np.flatnonzero(self.usable[:, index])
            if len(rows):
                pred = predict(int(self.columns[index]), rows)
                actual = self.actuals[rows, index]
                errors[rows, j] = actual - np.maximum(pred.point, 0.0)
                residuals[rows, j] = actual[:, :, None] - np.sort(np.maximum(pred.quantiles, 0.0), axis=-1)
        return self._score(errors, residuals, origins)

    def _score(self, errors: np.ndarray, residuals: np.ndarray, origins: np.ndarray | None) -> np.ndarray:
        """WAPE/100 + WQL from errors y - f [items, origins, steps] and residuals y - Q [..., levels]."""
        actuals = self.actuals if origins is None else self.actuals[:, origins]
        usable = self.usable if origins is None else self.usable[:, origins]
        scale = np.maximum(np.nansum(actuals, axis=(1, 2)), 1.0)  # an item that sold nothing: in units
        pinball = np.zeros(len(errors))
        for j, level in enumerate(SCORE_LEVELS):
            r = np.nan_to_num(residuals[..., j])
            r[~usable] = 0.0
            # pinball(r) = max(q r, (q - 1) r) = q r + max(-r, 0)
            pinball += level * r.sum(axis=(1, 2)) + np.maximum(-r, 0.0).sum(axis=(1, 2))
        wql = 2.0 * pinball / len(SCORE_LEVELS) / scale
        score = np.abs(np.nan_to_num(errors)).sum(axis=(1, 2)) / scale + wql
        return np.where(usable.sum(axis=1) > 0, score, np.nan)

    def challenge_origins(self, count: int) -> np.ndarray:
        """Indices of up to ``count`` origins at least a horizon apart, the latest first."""
        index = np.arange(count) * -(-self.horizon // bucket().validation_origins[1])
        return index[index < len(self.columns)]

    def at_origins(self, fit: Fit, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A fit's point forecasts [items, origins, horizon] and bands [..., SCORE_LEVELS] at some origins.

        The bands are the forecasts plus the quantiles of the fit's errors over all origins (as :meth:`score`).
        """
        errors = self.errors(fit)
        shift = row_quantiles(np.moveaxis(errors, 1, 2), np.asarray(SCORE_LEVELS))  # [items, horizon, levels]
        columns = self.columns[origins]
        point = np.stack([fit.columns(h, columns) for h in range(1, self.horizon + 1)], axis=-1)
        return point, point[..., None] + shift[:, None, :, :]

    def score_predictions(self, origins: np.ndarray, point: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
        """The score of forecasts made at some origins: point [items, origins, horizon], quantiles [..., levels].

        NaN for an item without a forecast at one of its usable origins.
        """
        errors = self.actuals[:, origins] - np.maximum(point, 0.0)
        residuals = self.actuals[:, origins, :, None] - np.sort(np.maximum(quantiles, 0.0), axis=-1)
        missing = (np.isnan(point).any(axis=2) & self.usable[:, origins]).any(axis=1)
        return np.where(missing, np.nan, self._score(errors, residuals, origins))

    def day_of(self, column: int, history: PreparedHistory) -> int:
        """The day number of an origin column of the fits' window (its last column is the as-of date)."""
        return int(history.last_day.max()) - (self.width - 1 - int(column))


def take(fit: Fit, rows: np.ndarray) -> Fit:
    """The fit of some items only (an ensemble's with its members')."""
    forecasts = fit.step_forecasts()
    at = None if fit.at is None else (lambda h, columns: fit.at(h, columns)[rows])  # type: ignore[misc]
    if isinstance(fit, EnsembleFit):
        return EnsembleFit(fit.y[rows], lambda h: forecasts(h)[rows], fit.period, at,
                           members=tuple(take(m, rows) for m in fit.members))
    return Fit(fit.y[rows], lambda h: forecasts(h)[rows], fit.period, at)


@dataclass
class EnsembleFit(Fit):
    """The median ensemble's fit and its members' (whose bands are its own in MEMBER_BANDS_BUCKETS)."""

    members: tuple[Fit, ...] = ()


def median_fit(fits: list[Fit]) -> EnsembleFit:
    """The median ensemble: at every origin and step, the median of the members' forecasts."""
    members = [f.step_forecasts() for f in fits]
    periods = [f.period for f in fits]
    period = None if None in periods else int(np.lcm.reduce(periods))
    return EnsembleFit(
        fits[0].y,
        lambda h: np.median(np.stack([m(h) for m in members]), axis=0),
        period,
        lambda h, columns: np.median(np.stack([f.columns(h, columns) for f in fits]), axis=0),
        members=tuple(fits),
    )


def ensemble_prediction(fit: Fit, horizon: int, levels: tuple[float, ...]) -> Prediction:
    """A fit's point and empirical bands; in MEMBER_BANDS_BUCKETS an ensemble's bands are its members' median.

    Each band quantile (step, level) is then the ensemble's point plus the
    median over the members of that quantile of their own errors (each member's
    empirical band offset, from its whole record).
    """
    pred = predict_from_fit(fit, horizon, levels)
    if levels and isinstance(fit, EnsembleFit) and bucket().code in MEMBER_BANDS_BUCKETS:
        members = [error_quantiles(m, horizon, np.asarray(levels)) for m in fit.members]
        pred.quantiles[:] = pred.point[:, :, None] + np.median(np.stack(members), axis=0)
    return pred


def ensemble_paths(fit: Fit, horizon: int) -> np.ndarray:
    """A fit's sample paths; in MEMBER_BANDS_BUCKETS an ensemble's take their errors from its members in turn.

    Path j is the ensemble's point plus member (j mod members)'s whole error
    trajectory from origin j: as many paths as one member has, and their spread
    is the members' mixture, as the bands are their median (paths >= 0).
    """
    if not (isinstance(fit, EnsembleFit) and bucket().code in MEMBER_BANDS_BUCKETS):
        return paths_from_fit(fit, horizon)
    errors = error_trajectories(fit.members[0], horizon)
    for k, member in enumerate(fit.members[1:], start=1):
        errors[:, k :: len(fit.members)] = error_trajectories(member, horizon)[:, k :: len(fit.members)]
    return np.maximum(np.maximum(fit.point(horizon), 0.0)[:, None, :] + errors, 0.0)
