"""Simple exponential smoothing over a :class:`Panel`, exactly as statsforecast computes it.

statsforecast (its C++ ``ses`` module) defines the recursions every smoothing
model here builds on; they are repeated step for step, vectorised over items,
so that the forecasts equal statsforecast's to the last bits:

- the level after observing x_0 .. x_t is l_t = alpha x_t + (1 - alpha) l_(t-1), with l_(-1) = x_0;
  the forecast of every later day is the last level;
- the squared one-step errors sum(x_t - l_(t-1))^2 over t >= 1 are what alpha minimises;
- alpha is found by golden-section search on [lower, upper], stopping when the
  interval is under 1e-12 wide or two probes tie (then the interval's middle).
"""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.panel import Panel

GOLDEN_RATIO = (np.sqrt(5.0) + 1.0) / 2.0
#: golden-section stops when the bracket is narrower than this
TOLERANCE = 1e-12


def ses_sse(panel: Panel, alpha: np.ndarray) -> np.ndarray:
    """Sum of squared one-step errors per item (panel order) for smoothing weights ``alpha`` (panel order)."""
    x, started = panel.values, panel.started
    complement = 1.0 - alpha
    forecast = np.empty(panel.n_items)
    sse = np.zeros(panel.n_items)
    before = 0
    for t in range(panel.n_steps):
        now = started[t]
        if before:
            f = forecast[:before]
            f *= complement[:before]
            f += alpha[:before] * x[t - 1, :before]
            err = x[t, :before] - f
            sse[:before] += err * err
        if now > before:
            forecast[before:now] = x[t, before:now]
        before = now
    return sse


def ses_levels(panel: Panel, alpha: np.ndarray) -> np.ndarray:
    """Levels [T, items] (panel order): the level after observing each step; NaN before an item starts.

    The last row is statsforecast's forecast.
    """
    x, started = panel.values, panel.started
    complement = 1.0 - alpha
    out = np.full((panel.n_steps, panel.n_items), np.nan)
    level = np.empty(panel.n_items)
    before = 0
    for t in range(panel.n_steps):
        now = started[t]
        if now > before:
            level[before:now] = x[t, before:now]  # l_(-1) = x_0
        if now:
            lv = level[:now]
            lv *= complement[:now]
            lv += alpha[:now] * x[t, :now]
            out[t, :now] = lv
        before = now
    return out


def golden_section_ses(panel: Panel, lower: float, upper: float) -> np.ndarray:
    """The alpha in [lower, upper] minimising :func:`ses_sse`, per item (panel order), as statsforecast finds it."""
    n = panel.n_items
    a, b = np.full(n, float(lower)), np.full(n, float(upper))
    c = b - (b - a) / GOLDEN_RATIO
    d = a + (b - a) / GOLDEN_RATIO
    fc, fd = ses_sse(panel, c), ses_sse(panel, d)
    active = np.ones(n, dtype=bool)
    while True:
        active &= np.abs(b - a) >= TOLERANCE
        left = active & (fc < fd)  # the minimum is left of d: drop (d, b]
        right = active & (fd < fc)  # right of c: drop [a, c)
        active = left | right  # equal probes end the search
        if not active.any():
            break
        b = np.where(left, d, b)
        a = np.where(right, c, a)
        new_c = np.where(left, b - (b - a) / GOLDEN_RATIO, np.where(right, d, c))
        new_d = np.where(left, c, np.where(right, a + (b - a) / GOLDEN_RATIO, d))
        f_probe = ses_sse(panel, np.where(left, new_c, new_d))
        fc, fd = np.where(left, f_probe, np.where(right, fd, fc)), np.where(left, fc, np.where(right, f_probe, fd))
        c, d = new_c, new_d
    return (a + b) / 2.0
