"""``auto``'s global member: the global model (``lgbm``) challenges each item's statistical choice, alone or blended.

Why a stage of its own: a statistical fit replays auto's 26 origins from one pass
over an item's history, but a global model is trained on all items at once
(that is what makes it global). So it is validated on :data:`GLOBAL_ORIGINS`
origins (the latest, and one a horizon or more before it, as Chronos-2), all
forecast by ONE training (``lgbm``'s ``validate``): trained up to the earliest
origin minus the horizon, it forecasts from each origin with the features of
the days up to it, and each origin's bands come from the errors of the horizon
before it; no day after an origin is seen. At the earliest origin that is
exactly the fit ``lgbm`` makes for a history ending there; at the latest the
model is a horizon older than that. Why one training: each costs about as
much as ``lgbm`` alone (its training, then ~1/4 of it per 28-day recursive
forecast); one per origin made auto's global part three ``lgbm`` fits.
The forecast's own fit (the history's end) is the fit a plain ``lgbm`` request
makes and caches, and serves the forecast, the bands and the sample paths;
without a calendar it trains in a thread beside the validation, and auto runs
the whole stage in a thread beside its statistical pool (single-threaded
LightGBM releases the GIL; two cores do three jobs in about the time of the
longest two). Measured in benchmarks/results/global.md.

On those origins, four candidates are scored per item with auto's score
(WAPE/100 + WQL at 0.1/0.5/0.9): the item's statistical choice (the
incumbent), the blend (the mean of the two point forecasts and of the two
bands' quantiles: a two-member ensemble of unlike models, whose errors
differ), the blend with the global model's point (the same band) and the
global model alone. Why both blends: their bands are the same, and which
point is better depends on the data (on pasta, days and weeks, the global
model's: WAPE 74.9 against 76.3 daily; on the demo data in weeks the
mean's: 19.1 against 21.0); the pooled validation decides. The candidate with the lowest score
pooled over the block's validated items is every item's default; an item
takes another candidate only where that one scores at least ``MARGIN`` (20%)
lower than the default on the item's own origins. Why pooled first: two
origins of one noisy item pick the lucky model as often as the right one
(auto's ensemble-first rule, for the same reason), while pooled over a
hundred items the global model's advantage is clear. On pasta (4 x 28 days)
the per-item rule alone gave lgbm or the blend to 5-13 items of 118 and
moved the pooled WAPE from 81.8 to 81.6; see benchmarks/results/global.md.
Items too short to validate (auto's fallback) take the global model when it
scores lower than the fallback model pooled over the validated items: a
global model knows the other items' patterns, which an item with a few weeks
of history lacks. Dead items keep auto's zero forecast; Chronos-2's items are
not challenged again.

Known-future covariates (a calendar of promotions, prices): the global model
is validated with and without them (pooled score over all items on the same
origins; one training each, in two threads) and the lower one is used, its
forecast fit trained after; every choice it takes says which.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting.core.calendar import bucket
from forecasting.core.history import MIN_HISTORY_DAYS, PreparedHistory
from forecasting.core.models.base import BaseForecastModel, Prediction, submit
from forecasting.modes.ml.features import spec_for

#: the global model of auto's pool, and how many origins (a horizon or more apart) it is validated on
GLOBAL_MODEL = "lgbm"
GLOBAL_ORIGINS = 2
#: what an item forecast by the mean of its statistical choice and the global model reports as its model
BLEND = "blend"


@dataclass
class GlobalStage:
    """The global model's forecasts at the validation origins and at the history's end, for every item.

    ``origins`` maps an origin's day number to the model's prediction there at
    auto's score levels ([items of the history, ...], NaN for items too short
    to be forecast from that origin).
    """

    model: BaseForecastModel
    history: PreparedHistory
    horizon: int
    future: pd.DataFrame | None
    origins: dict[int, Prediction]
    #: which variant was used and why (added to every choice the global model takes)
    note: str

    def final(self, levels: tuple[float, ...]) -> Prediction:
        """The global model's forecast from the history's end for every item (its cached fit)."""
        return self.model.fit(self.history, self.horizon, self.future).prediction(levels)  # type: ignore[attr-defined]


def origin_days(history: PreparedHistory, horizon: int) -> list[int]:
    """The day numbers of the global model's validation origins: the latest (the end minus a horizon) first."""
    spacing = bucket().validation_origins[1]
    last = int(history.last_day.max())
    step = -(-horizon // spacing) * spacing
    return [last - horizon - k * step for k in range(GLOBAL_ORIGINS)]


def global_stage(
    model: BaseForecastModel, history: PreparedHistory, horizon: int, future: pd.DataFrame | None,
    levels: tuple[float, ...],
) -> GlobalStage | None:
    """The global model's forecasts at the validation origins (with and without ``future``); None where it cannot run.

    One training per variant serves every origin (``model.validate``). Without
    a calendar, the forecast's own fit (``model.fit`` of the whole history, the
    one a plain ``lgbm`` request makes and caches) trains in a thread beside the
    validation: independent single-threaded trainings on two cores. It cannot
    run where it is not installed, or where no item has enough history (its
    features' reach, the horizon and MIN_HISTORY_DAYS buckets) to train on
    before the latest origin.
    """
    if not model.availability().available:
        return None
    need = spec_for(history.freq).longest_lag + horizon + MIN_HISTORY_DAYS
    # the origins some item has enough history for (the one training ends a horizon before the earliest)
    days = [day for day in origin_days(history, horizon) if int(history.first_day.min()) + need <= day]
    if not days:
        return None
    variants: list[tuple[pd.DataFrame | None, str]] = [(None, "sales only")]
    if future is not None:
        variants.append((future, "with the calendar"))
    results = []
    with ThreadPoolExecutor(max_workers=len(variants) + (future is None)) as pool:
        if future is None:  # the forecast's fit is known to be the sales-only one: train it meanwhile
            submit(pool, model.fit, history, horizon, None)  # type: ignore[attr-defined]
        runs = [submit(pool, model.validate, history, horizon, days, variant)  # type: ignore[attr-defined]
                for variant, _ in variants]
        for (variant, note), run in zip(variants, runs):
            fits = run.result()
            origins = {}
            for day in days:
                keep = history.first_day + need <= day
                if not keep.any():
                    continue
                fit = fits[day]
                pred = replace(fit, point=fit.point[keep], errors=fit.errors[keep]).prediction(levels)
                point = np.full((history.n_items, horizon), np.nan)
                quantiles = np.full((history.n_items, horizon, len(levels)), np.nan)
                point[keep], quantiles[keep] = pred.point, pred.quantiles
                origins[day] = Prediction(point, quantiles)
            results.append((pooled_score(history, horizon, origins, levels), variant, note, origins))
    if len(results) == 2:
        (plain, _, _, _), (known, _, _, _) = results
        best = results[1] if known < plain else results[0]
        note = f"{best[2]}: pooled validation score {known:.3f} with the calendar, {plain:.3f} without"
    else:
        best = results[0]
        note = best[2]
    return GlobalStage(model, history, horizon, best[1], best[3], note)


def pooled_score(history: PreparedHistory, horizon: int, origins: dict[int, Prediction],
                 levels: tuple[float, ...]) -> float:
    """WAPE/100 + WQL of the origins' predictions pooled over all items and origins (their actual days)."""
    y = history.tail_matrix()
    last = int(history.last_day.max())
    absolute = pinball = total = 0.0
    for day, pred in origins.items():
        start = y.shape[1] - (last - day)
        actual = y[:, start : start + horizon]
        usable = ~np.isnan(pred.point) & ~np.isnan(actual)
        a = np.where(usable, actual, 0.0)
        absolute += np.abs(a - np.where(usable, np.maximum(pred.point, 0.0), 0.0)).sum()
        total += a.sum()
        for j, level in enumerate(levels):
            r = np.where(usable, a - np.maximum(np.nan_to_num(pred.quantiles[..., j]), 0.0), 0.0)
            pinball += (level * r + np.maximum(-r, 0.0)).sum()
    total = max(total, 1.0)
    return absolute / total + 2.0 * pinball / len(levels) / total


def challenge(plan, stage: GlobalStage, validation, block: PreparedHistory, offset: int, fallback: np.ndarray,
              fallback_fit, margin: float):
    """Give the items of a block (rows ``offset`` on of the stage's history) to the global model or the blend.

    ``plan`` and ``validation`` are auto's (its Plan and Validation);
    ``fallback`` flags the items auto gave its fallback model, ``fallback_fit``
    that model fitted to every item of the block.
    """
    from forecasting.modes.auto import FALLBACK_MODEL, Choice

    picked = validation.challenge_origins(GLOBAL_ORIGINS)
    n, horizon = block.n_items, stage.horizon
    levels = next(iter(stage.origins.values())).quantiles.shape[-1] if stage.origins else 0
    if not len(picked) or not levels:
        return plan
    mine = slice(offset, offset + n)
    point = np.full((n, len(picked), horizon), np.nan)
    quantiles = np.full((n, len(picked), horizon, levels), np.nan)
    for j, index in enumerate(picked):
        pred = stage.origins.get(validation.day_of(validation.columns[index], block))
        if pred is not None:
            point[:, j], quantiles[:, j] = pred.point[mine], pred.quantiles[mine]
    own_point = np.full(point.shape, np.nan)
    own_quantiles = np.full(quantiles.shape, np.nan)
    for fit, rows in plan.fits:
        own_point[rows], own_quantiles[rows] = validation.take(rows).at_origins(fit, picked)
    incumbent = validation.score_predictions(picked, own_point, own_quantiles)
    alone = validation.score_predictions(picked, point, quantiles)
    bands = (own_quantiles + quantiles) / 2
    blend = validation.score_predictions(picked, (own_point + point) / 2, bands)
    blend_global_point = validation.score_predictions(picked, point, bands)

    eligible = ~fallback
    eligible[plan.challenger_rows] = False
    eligible[plan.zero_rows] = False
    # candidates per item: 0 the statistical choice, 1 the blend (mean point), 2 the blend with the global
    # model's point, 3 the global model alone
    scores = np.nan_to_num(np.stack([incumbent, blend, blend_global_point, alone], axis=1), nan=np.inf)
    scale = np.maximum(np.nansum(validation.actuals[:, picked], axis=(1, 2)), 1.0)
    rated = eligible & np.isfinite(scores).all(axis=1)
    pooled = (scores[rated] * scale[rated, None]).sum(axis=0) / max(scale[rated].sum(), 1.0)
    default = int(np.argmin(pooled)) if rated.any() else 0
    best = np.argmin(scores, axis=1)
    rows = np.arange(n)
    own = scores[rows, best] < (1.0 - margin) * scores[:, default]
    pick = np.where(rated, np.where(own, best, default), 0)
    # the fallback items: the global model where it beats the fallback model pooled over the validated items
    fallback_score = validation.score_predictions(picked, *validation.at_origins(fallback_fit, picked))
    both = rated & ~np.isnan(fallback_score)
    versus = (alone[both] * scale[both]).sum(), (fallback_score[both] * scale[both]).sum()
    short = fallback & ~np.isin(rows, plan.zero_rows)
    takes_short = short if both.any() and versus[0] < versus[1] else np.zeros(n, dtype=bool)

    choices = list(plan.choices)
    names = ("", BLEND, BLEND, stage.model.name)
    origins = f"validated on {len(picked)} origins"
    for i in np.flatnonzero(pick > 0):
        was = choices[i].model
        what = {1: f"the mean of {was} and {stage.model.name}",
                2: f"{stage.model.name}'s point with the mean of {was}'s and its bands"}.get(int(pick[i]),
                                                                                    stage.model.name)
        if own[i] and best[i] != default:
            why = f"{1.0 - scores[i, best[i]] / scores[i, default]:.0%} lower score than {_name(default, was, names)}"
        else:
            why = (f"the lowest validation score pooled over the items: {pooled[default]:.3f} against "
                   f"{pooled[0]:.3f} for their statistical choices")
        choices[i] = Choice(names[pick[i]], f"{origins}: {what}, {why} ({stage.note})")
    for i in np.flatnonzero(takes_short):
        choices[i] = Choice(stage.model.name, f"{choices[i].reason}; the global model scored "
                                              f"{1.0 - versus[0] / versus[1]:.0%} lower than {FALLBACK_MODEL} "
                                              f"over the validated items ({stage.note})")
    wins = pick > 0
    blended = (pick == 1) | (pick == 2)
    alone_rows = np.flatnonzero((wins & ~blended) | takes_short)
    fits = []
    for fit, rows in plan.fits:
        kept = ~np.isin(rows, alone_rows)
        if kept.all():
            fits.append((fit, rows))
        elif kept.any():
            from forecasting.modes.auto import take

            fits.append((take(fit, np.flatnonzero(kept)), rows[kept]))
    return replace(plan, fits=fits, choices=choices, global_rows=alone_rows,
                   blend_rows=np.flatnonzero(wins & blended), global_point_rows=np.flatnonzero(pick == 2))


def _name(candidate: int, incumbent: str, names: tuple[str, ...]) -> str:
    return incumbent if candidate == 0 else names[candidate]
