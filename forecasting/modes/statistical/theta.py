"""The standard Theta method (``theta``): statsforecast's ``Theta(season_length=m)``, m the bucket's season.

What statsforecast computes (its ``auto_theta`` with model ``STM``), for a series y_0 .. y_(n-1):

- a seasonality test: with n >= 2m, the lag-m autocorrelation r_m is significant
  at 90% two-sided when |r_m| > 1.645 sqrt((1 + 2 sum_(k<m) r_k^2) / n);
- if so, a classical decomposition (statsmodels' ``seasonal_decompose``: a centred
  moving average of m buckets as the trend, the mean ratio (multiplicative) or
  difference (additive) to it per point of the season, normalised): multiplicative
  when every y > 0 and every index is at least 0.01, else additive; the series is
  deseasonalised and the last season's indices are put back on the forecast;
- on the deseasonalised series x: the linear trend's intercept A and slope B
  (least squares on 1..n), the level l_t = alpha x_t + (1 - alpha) l_(t-1) from
  an initial level l0, and the forecast
  mu_(n+1) = l_(n-1) + (A (1-alpha)^n + B (1 - (1-alpha)^(n+1)) / alpha) / 2 (theta = 2:
  half the trend's drift), each later step folding the previous forecast into the level;
- alpha (in [0.1, 0.99]) and l0 minimise the one-step squared errors (its Nelder-Mead).

alpha and l0 are statsforecast's own, fitted per item on the whole history (as
``holt`` uses its ETS fit). Everything else is recomputed vectorised over items
at every past origin from the data up to that origin only (the seasonality test,
the indices, the trend line and the level), so that the empirical bands and
auto's validation see the forecasts the method would have made then; at the last
origin the forecasts equal statsforecast's.
"""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.empirical import EmpiricalModel, Fit, error_window, season

#: the one-sided 95% normal quantile of statsforecast's seasonality test (scipy's norm.ppf(0.95))
SEASONALITY_Z = 1.6448536269514722
#: statsforecast switches a multiplicative decomposition to additive when an index is below this
MIN_INDEX = 0.01
#: theta = 2: the forecast adds (1 - 1/theta) = half of the trend line's drift
TREND_WEIGHT = 0.5
#: statsforecast's Theta needs more than this many buckets (fewer: no forecast at that origin)
MIN_POINTS = 3
NONE, ADDITIVE, MULTIPLICATIVE = 0, 1, 2


def _left_aligned(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each item's series from its first bucket [items, T] (0 after its end) and its length."""
    observed = ~np.isnan(y)
    lengths = observed.sum(axis=1)
    width = y.shape[1]
    idx = (width - lengths)[:, None] + np.arange(width)[None, :]
    x = np.take_along_axis(y, np.minimum(idx, width - 1), axis=1)
    x[idx >= width] = 0.0
    return np.nan_to_num(x), lengths


def seasonal_at_origins(x: np.ndarray, lengths: np.ndarray, m: int) -> np.ndarray:
    """Whether the seasonality test passes on x_0 .. x_t, for every item and origin t: [items, T]."""
    n_items, width = x.shape
    valid = np.arange(width)[None, :] < lengths[:, None]
    mean = np.where(valid, x, 0.0).sum(axis=1) / np.maximum(lengths, 1)
    z = np.where(valid, x - mean[:, None], 0.0)  # the autocorrelations do not change with a constant shift
    n = np.arange(1, width + 1, dtype=np.float64)[None, :]
    c1 = np.cumsum(z, axis=1)
    centre = c1 / n
    denominator = np.cumsum(z * z, axis=1) - n * centre**2
    squares = np.zeros((n_items, width))
    last = np.full((n_items, width), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(1, m + 1):
            if k >= width:
                break
            lagged = np.zeros((n_items, width))
            lagged[:, k:] = np.cumsum(z[:, :-k] * z[:, k:], axis=1)
            before = np.zeros((n_items, width))  # sum of z_0 .. z_(t-k)
            before[:, k:] = c1[:, : width - k]
            after = c1 - c1[:, k - 1 : k]  # sum of z_k .. z_t
            r = (lagged - centre * (before + after) + (n - k) * centre**2) / denominator
            if k < m:
                squares += np.where(np.isfinite(r), r * r, 0.0)  # a constant start: no test (r_m is NaN)
            else:
                last = r
        stat = np.sqrt((1.0 + 2.0 * squares) / n)
        return (n >= 2 * m) & (np.abs(last) / stat > SEASONALITY_Z)


def _trend(x: np.ndarray, m: int) -> np.ndarray:
    """statsmodels' centred moving average of m buckets at t, known from origin t + m // 2 on: [items, T]."""
    half = m // 2
    weights = np.ones(m + 1 if m % 2 == 0 else m) / m
    if m % 2 == 0:
        weights[[0, -1]] = 0.5 / m
    c = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x, axis=1)], axis=1)
    out = np.full(x.shape, np.nan)
    width = x.shape[1]
    if width > 2 * half:
        # sum of x_(t-half) .. x_(t+half) with the end weights
        full = c[:, 2 * half + 1 :] - c[:, : width - 2 * half]
        if m % 2 == 0:
            full = full - 0.5 * (x[:, : width - 2 * half] + x[:, 2 * half :])
        out[:, half : width - half] = full / m
    return out


class _Decomposition:
    """The seasonal indices of x_0 .. x_t, updated one origin t at a time (the classical decomposition's means)."""

    def __init__(self, x: np.ndarray, m: int, seasonal: np.ndarray):
        self.x, self.m, self.half, self.seasonal = x, m, m // 2, seasonal
        trend = _trend(x, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.diff, self.ratio = x - trend, x / trend
        self.positive = np.minimum.accumulate(np.where(x > 0, 1, 0), axis=1) > 0
        n_items = len(x)
        self.sum_diff, self.sum_ratio = np.zeros((n_items, m)), np.zeros((n_items, m))
        self.count = np.zeros(m)

    def step(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Origin t's decomposition per item (NONE, ADDITIVE, MULTIPLICATIVE) and indices [items, m] by point t mod m."""
        j = t - self.half
        if j >= self.half:  # the trend at j is known from origin j + half on
            p = j % self.m
            with np.errstate(invalid="ignore"):
                self.sum_diff[:, p] += self.diff[:, j]
                self.sum_ratio[:, p] += self.ratio[:, j]
            self.count[p] += 1
        kind = np.where(self.seasonal[:, t], ADDITIVE, NONE)
        indices = np.zeros((len(self.x), self.m))
        if not kind.any():
            return kind, indices
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = self.sum_diff / self.count
            ratio = self.sum_ratio / self.count
            ratio = ratio / ratio.mean(axis=1, keepdims=True)
            diff = diff - diff.mean(axis=1, keepdims=True)
            multiplicative = (kind > 0) & self.positive[:, t] & (ratio >= MIN_INDEX).all(axis=1)
        kind[multiplicative] = MULTIPLICATIVE
        indices[kind == ADDITIVE] = diff[kind == ADDITIVE]
        indices[multiplicative] = ratio[multiplicative]
        return kind, indices


def _fit_parameters(x: np.ndarray, lengths: np.ndarray, m: int, seasonal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """statsforecast's alpha and initial level per item, fitted on its whole deseasonalised history."""
    from statsforecast.theta import thetamodel  # 2 s to import: only when this model runs

    n_items, width = x.shape
    decomposition = _Decomposition(x, m, seasonal)
    alpha, level = np.full(n_items, 0.5), x[:, 0] / 2.0  # statsforecast's starting values
    for t in range(width):
        kind, indices = decomposition.step(t)
        for i in np.flatnonzero(lengths == t + 1):
            n = t + 1
            series = x[i, :n]
            points = indices[i, np.arange(n) % m]
            series = series / points if kind[i] == MULTIPLICATIVE else series - points
            if n > MIN_POINTS:
                par = thetamodel(series, m, "STM", np.nan, np.nan, np.nan, 3)["par"]
                alpha[i], level[i] = par["alpha"], par["initial_smoothed"]
    return alpha, level


class Theta(EmpiricalModel):
    name = "theta"
    label = "Theta"
    version = "1"
    description = "standard Theta method: SES plus half the linear trend's drift on the series deseasonalised " \
                  "where its season tests significant (statsforecast Theta); empirical bands"

    def fit(self, y: np.ndarray, horizon: int) -> Fit:
        m = season()
        x, lengths = _left_aligned(y)
        n_items, width = x.shape
        seasonal = seasonal_at_origins(x, lengths, m)
        alpha, level0 = _fit_parameters(x, lengths, m, seasonal)
        q = 1.0 - alpha
        steps = min(horizon, m)
        # per origin t: the level l_t, the trend line's A and B, the decomposition and the indices of steps 1..m
        level, a_line, b_line = (np.full((n_items, width), np.nan) for _ in range(3))
        kinds = np.zeros((n_items, width), dtype=np.int8)
        factors = np.zeros((n_items, width, steps))
        decomposition = _Decomposition(x, m, seasonal)
        smoothed = np.zeros((n_items, m))  # alpha sum_(i<=t, i=p mod m) q^(t-i) x_i
        weights = np.zeros((n_items, m))  # alpha sum_(i<=t, i=p mod m) q^(t-i)
        sums, index_sums = np.zeros((n_items, m)), np.zeros((n_items, m))  # sum of x_i and of (i+1) x_i per point
        counts, index_counts = np.zeros(m), np.zeros(m)
        decay = np.ones(n_items)
        for t in range(width):
            p = t % m
            smoothed *= q[:, None]
            smoothed[:, p] += alpha * x[:, t]
            weights *= q[:, None]
            weights[:, p] += alpha
            sums[:, p] += x[:, t]
            index_sums[:, p] += (t + 1) * x[:, t]
            counts[p] += 1
            index_counts[p] += t + 1
            decay *= q
            kind, indices = decomposition.step(t)
            mult = kind == MULTIPLICATIVE
            with np.errstate(divide="ignore", invalid="ignore"):
                inverse = np.where(mult[:, None], 1.0 / indices, 1.0)
            shift = np.where(mult[:, None], 0.0, indices)
            level[:, t] = decay * level0 + (smoothed * inverse).sum(axis=1) - (shift * weights).sum(axis=1)
            total = (sums * inverse).sum(axis=1) - shift @ counts
            weighted = (index_sums * inverse).sum(axis=1) - shift @ index_counts
            n = t + 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                b_line[:, t] = 6.0 * (2.0 * weighted / n - (1.0 + n) * total / n) / (n * n - 1.0)
            a_line[:, t] = total / n - (n + 1.0) * b_line[:, t] / 2.0
            kinds[:, t] = kind
            factors[:, t] = indices[:, (t + np.arange(1, steps + 1)) % m]
        level[:, :MIN_POINTS] = np.nan  # statsforecast fits no fewer than 4 buckets
        # back to the right-aligned history's last columns (those the errors use)
        keep = min(error_window(horizon), width)
        columns = (lengths - width)[:, None] + np.arange(width - keep, width)[None, :]
        inside = columns >= 0
        columns = np.maximum(columns, 0)

        def right(values: np.ndarray) -> np.ndarray:
            out = np.take_along_axis(values, columns if values.ndim == 2 else columns[:, :, None], axis=1)
            out = out.astype(np.float64)
            out[~inside] = np.nan
            return out

        level, a_line, b_line = right(level), right(a_line), right(b_line)
        kinds = right(kinds)
        factors = right(factors)
        n_at = (columns + 1).astype(np.float64)
        a, qq = alpha[:, None], q[:, None]

        def forecasts(h: int) -> np.ndarray:
            # mu_h = l + (a sum_(k<h) D_k + D_h) / 2, D_k = A q^(n+k-1) + B (1 - q^(n+k)) / a
            power = qq**n_at
            drift = a_line * power * qq ** (h - 1) + b_line * (1.0 - power * qq**h) / a
            before = a_line * power * (1.0 - qq ** (h - 1)) / a + b_line / a * (
                (h - 1) - power * qq * (1.0 - qq ** (h - 1)) / a)
            mu = level + TREND_WEIGHT * (a * before + drift)
            factor = factors[:, :, (h - 1) % steps]  # steps = min(horizon, m): h and h + m share an index
            return np.where(kinds == MULTIPLICATIVE, mu * factor, np.where(kinds == ADDITIVE, mu + factor, mu))

        return Fit(y[:, -keep:], forecasts)
