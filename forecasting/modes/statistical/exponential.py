"""Exponential smoothing models: simple (``ses``), seasonal (``seasonal-ses``) and damped Holt (``holt``).

``ses`` and ``seasonal-ses`` are statsforecast's SimpleExponentialSmoothingOptimized
and SeasonalExponentialSmoothingOptimized(season_length=m), m the bucket's season
(7 days, 52 weeks, 12 months), recomputed vectorised
over items (:mod:`forecasting.modes.statistical.smoothing`); ``holt`` is
statsforecast's AutoETS(model="AAN", damped=True) itself, fitted item by item
(its optimiser is not worth re-implementing; it is the slowest model here).
Their bands and sample paths are empirical (the fitted smoothing weights
replayed at every past origin).
"""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.empirical import EmpiricalModel, Fit, flat, season, tail
from forecasting.modes.statistical.panel import Panel, to_matrix
from forecasting.modes.statistical.smoothing import golden_section_ses, ses_levels

#: statsforecast's bounds for the optimised smoothing weight of SES and seasonal SES
ALPHA_BOUNDS = (0.01, 0.99)


def smoothed(y: np.ndarray, alpha: float | None = None) -> np.ndarray:
    """SES levels [items, T]: with the given weight, or (None) the one minimising the one-step squared error."""
    panel = Panel.from_matrix(y)
    weights = golden_section_ses(panel, *ALPHA_BOUNDS) if alpha is None else np.full(panel.n_items, float(alpha))
    return to_matrix(panel, ses_levels(panel, weights))


class _Smoothing(EmpiricalModel):
    """A smoothing model whose weight is fitted per item (``alpha`` None) or fixed (then named ``ses(alpha=0.1)``)."""

    def __init__(self, alpha: float | None = None):
        if alpha is not None:
            if not 0.0 < alpha <= 1.0:
                raise ValueError(f"alpha must lie in (0, 1], got {alpha!r}")
            self.name = f"{type(self).name}(alpha={alpha:g})"  # type: ignore[misc]
            self.label = f"{type(self).label} (alpha {alpha:g})"  # type: ignore[misc]
        self.alpha = alpha


class SimpleExponentialSmoothing(_Smoothing):
    name, label = "ses", "SES"
    version = "2"
    description = "simple exponential smoothing, weight fitted per item (statsforecast SESOpt; with a fixed " \
                  "weight statsforecast SES); empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        return flat(smoothed(y, self.alpha), y, horizon)


class SeasonalExponentialSmoothing(_Smoothing):
    name, label = "seasonal-ses", "Seasonal SES"
    version = "2"
    description = "one exponentially smoothed level per point of the season (weekday, week of the year, month), " \
                  "weights fitted per item and season point (statsforecast SeasESOpt; with a fixed weight " \
                  "SeasonalES); an item with less than a season of history: SES; empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        m = season()
        weekday_levels, columns = weekday_ses(y, self.alpha, m)
        # the forecast depends on the step only through the season point it lands on: m arrays serve every step
        by_weekday = [tail(_weekday_forecasts(weekday_levels, columns, h, y.shape[1], m), horizon)
                      for h in range(1, min(m, horizon) + 1)]
        short = (~np.isnan(y)).sum(axis=1) < m  # never on daily data: a history has at least 7 days
        if short.any():  # less than a season: no level per season point yet, SES instead
            level = tail(smoothed(y[short], self.alpha), horizon)
            for f in by_weekday:
                f[short] = level
        return Fit(tail(y, horizon), lambda h: by_weekday[(h - 1) % m], period=m)


#: the model's name before buckets (it is seasonal in every bucket now); still accepted everywhere
WeeklyExponentialSmoothing = SeasonalExponentialSmoothing


def weekday_ses(y: np.ndarray, alpha: float | None, period: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per season point r: SES levels [items, n_r] of the buckets y[:, columns[r]] (whole seasons only).

    statsforecast drops an item's first ``n % m`` buckets so that every season
    point's series starts in the first whole season counted back from the last bucket.
    """
    n_items, width = y.shape
    observed = (~np.isnan(y)).sum(axis=1)
    whole = np.where(np.arange(width)[None, :] >= width - period * (observed[:, None] // period), y, np.nan)
    levels, columns = [], []
    for r in range(period):
        cols = np.arange((width + r) % period, width, period)
        levels.append(smoothed(whole[:, cols], alpha) if len(cols) else np.empty((n_items, 0)))
        columns.append(cols)
    return levels, columns


def _weekday_forecasts(levels: list[np.ndarray], columns: list[np.ndarray], h: int, width: int,
                       period: int) -> np.ndarray:
    """F[:, t]: the level, as of origin t, of the season point's series that bucket t + h belongs to."""
    out = np.full((levels[0].shape[0], width), np.nan)
    origins = np.arange(width)
    for r in range(period):
        cols = columns[r]
        mine = (origins + h) % period == cols[0] % period if len(cols) else np.zeros(width, dtype=bool)
        t = origins[mine]
        k = np.searchsorted(cols, t, side="right") - 1  # the series' last bucket on or before the origin
        ok = k >= 0
        out[:, t[ok]] = levels[r][:, k[ok]]
    return out


class DampedHolt(EmpiricalModel):
    name = "holt"
    label = "Holt (damped)"
    version = "2"
    description = "damped-trend exponential smoothing (statsforecast AutoETS A,Ad,N), fitted per item; " \
                  "empirical bands; slowest of the statistical models"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        from statsforecast.models import AutoETS  # 2 s to import: only when this model runs

        n_items, width = y.shape
        level = np.full((n_items, width), np.nan)
        trend = np.full((n_items, width), np.nan)
        phi = np.ones(n_items)
        for i in range(n_items):
            row = y[i]
            start = int(np.argmax(~np.isnan(row)))
            model = AutoETS(model="AAN", damped=True).fit(row[start:]).model_
            states = model["states"]  # [n + 1, 2]: (level, trend) before the first day and after each day
            level[i, start:] = states[1:, 0]
            if states.shape[1] > 1:
                trend[i, start:], phi[i] = states[1:, 1], model["par"][3]
            else:  # a constant series: statsforecast drops the trend (level only)
                trend[i, start:] = 0.0
        level, trend = tail(level, horizon), tail(trend, horizon)
        return Fit(tail(y, horizon), lambda h: level + _damped_sum(phi, h)[:, None] * trend)


#: statsforecast treats a damping factor this close to 1 as no damping
PHI_TOLERANCE = 1e-10


def _damped_sum(phi: np.ndarray, h: int) -> np.ndarray:
    """The trend's weight h days ahead, as statsforecast's ETS forecast computes it.

    Its C++ starts from phi and adds phi^1, phi^2, ..., phi^(h-1) (so phi + phi +
    phi^2 + ...: one phi more than phi + ... + phi^h less phi^h); kept as it is, for
    the forecasts to equal the reference.
    """
    total = phi.copy()
    for i in range(1, h):
        total += np.where(np.abs(phi - 1.0) < PHI_TOLERANCE, 1.0, phi**i)
    return total
