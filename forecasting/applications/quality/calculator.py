"""Forecast quality: the metrics and the rolling-origin backtest of docs/metrics.md.

Units: MAPE, WAPE and bias are percentages (100 = 100 %); coverage is a
fraction in 0..1 (0.8 = 80 % of actuals inside the band); MAE and RMSE are in
units of demand; MASE and WQL are plain ratios. A metric that is undefined is
NaN (an empty cell in CSV), never 0:

- MAPE leaves out points whose actual is 0 (they are counted in
  ``n_zero_actuals``); all actuals zero -> NaN.
- WAPE, bias and WQL are NaN when the actuals sum to 0.
- MASE divides each point's |y - f| by the scale s of its window (mean
  |y_t - y_{t-1}| over the history the model saw before that window's cutoff,
  t counting the data's buckets: :func:`naive_scale`) and averages; points of
  a window with s = 0 are left out, so a series that was constant before every
  cutoff has NaN MASE. With one window this is exactly MAE / s; with several,
  the mean of the windows' MAE / s: utilsforecast's ``mase(seasonality=1)``
  with one cutoff per window, in every bucket.
- WQL needs at least one quantile level, coverage at least two (the band is
  [lowest level, highest level], both ends inclusive); otherwise NaN.
- ``__overall__`` rows pool every scored point of a model (sums, not a mean
  of the items' values), except MASE, which is the mean of the items' finite
  MASE (scales of different items are not comparable).

Backtest: for window w = 1..W each item's cutoff is its last date minus w*H
buckets (days, weeks or months: the data's); every model forecasts the H
buckets after the cutoff from the history up to the cutoff only, and those
buckets are scored (buckets missing from the input count as zero sales).
Every item must have at least W*H buckets plus the models' minimum history (7
buckets for the baselines); a shorter item is an error that names it, rather
than a silently smaller backtest.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.core.errors import ForecastingError, InvalidInputError, ModelUnavailableError
from forecasting.core.history import PreparedHistory, prepare_history
from forecasting.core.models.base import (
    BaseForecastModel,
    ProgressCallback,
    quantile_column,
    validate_horizon,
    validate_quantiles,
)
from forecasting.modes.factory import ModelFactory

METRIC_COLUMNS = [
    "item_id", "model", "n_points", "n_zero_actuals",
    "mae", "rmse", "mape", "wape", "bias", "mase", "wql", "coverage",
]
OVERALL = "__overall__"
#: columns :meth:`QualityCalculator.metrics` needs besides one ``q<level>`` per level
SCORED_COLUMNS = ("item_id", "model", "actual", "forecast", "scale")
#: per-point terms whose sums give every metric (pooling is then a sum of sums)
_SUMS = ["n", "zeros", "abs_err", "sq_err", "over", "abs_y", "ape", "n_ape", "scaled", "n_scaled", "rho", "inside"]


def nominal_coverage(levels: Sequence[float]) -> float | None:
    """The share of actuals the outermost band should hold (highest - lowest level); None under two levels."""
    return round(max(levels) - min(levels), 12) if len(levels) >= 2 else None


@dataclass
class BacktestResult:
    """Scored points and the metrics computed from them.

    ``forecasts``: ``item_id, model, window, cutoff, date, actual, forecast, q<level>...``
    (plus ``chosen_model`` where auto is among the models: the model each item
    got in that window), one row per scored point (model, then window, then item, then date).
    ``metrics``: :data:`METRIC_COLUMNS`, one row per (item, model), then one ``__overall__`` row per model.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    #: :meth:`QualityCalculator.item_sums` of the scored points (what a backtest in chunks pools)
    sums: pd.DataFrame | None = None


class QualityCalculator:
    """Accuracy metrics of scored forecasts, and the backtest that produces them."""

    @staticmethod
    def metrics(scored: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
        """Metric rows per (item, model) and per model (``__overall__``).

        ``scored`` has ``item_id, model, actual, forecast, scale`` and ``q<level>``
        for each level; ``scale`` is the MASE denominator of the point's window.
        Rows come per model (first-appearance order), items in first-appearance
        order, then the model's ``__overall__`` row.
        """
        levels = validate_quantiles(levels)
        sums = QualityCalculator.item_sums(scored, levels)
        return _empty_metrics() if sums is None else QualityCalculator.metrics_from_sums(sums, levels)

    @staticmethod
    def item_sums(scored: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame | None:
        """The per-(model, item) sums every metric is made of (None for no scored points).

        Indexed by categorical ``model, item_id`` (first-appearance order). Sums
        of disjoint item sets can be concatenated and given to
        :meth:`metrics_from_sums`: how a backtest in chunks gets the same
        ``__overall__`` rows as one over all items.
        """
        levels = validate_quantiles(levels)
        qcols = [quantile_column(level) for level in levels]
        missing = [c for c in (*SCORED_COLUMNS, *qcols) if c not in scored.columns]
        if missing:
            raise ForecastingError(f"scored forecasts are missing column(s) {', '.join(missing)}")
        if scored.empty:
            return None
        if (scored["item_id"] == OVERALL).any():
            raise ForecastingError(f"item_id {OVERALL!r} is reserved for the per-model totals")
        terms = _point_terms(scored, levels, qcols)
        return terms.groupby(["model", "item_id"], observed=True, sort=True)[_SUMS].sum()

    @staticmethod
    def metrics_from_sums(by_item: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
        """The metric rows of :meth:`metrics` from :meth:`item_sums` (rows in the sums' order)."""
        levels = validate_quantiles(levels)
        item_rows = _finish(by_item, len(levels))
        item_rows["mase"] = by_item["scaled"] / by_item["n_scaled"].where(by_item["n_scaled"] > 0)

        by_model = by_item.groupby(level="model", observed=True, sort=True).sum()
        overall = _finish(by_model, len(levels))
        overall["mase"] = item_rows["mase"].groupby(level="model", observed=True, sort=True).mean()

        item_rows = item_rows.reset_index()
        overall = overall.reset_index().assign(item_id=OVERALL)
        # each model's items, then its overall row: order by (model code, 0 for items / 1 for overall)
        item_rows["_order"] = item_rows["model"].cat.codes * 2
        overall["_order"] = overall["model"].cat.codes * 2 + 1
        out = pd.concat([item_rows.astype({"item_id": object}), overall], ignore_index=True)
        out = out.sort_values("_order", kind="stable").reset_index(drop=True)
        return out[METRIC_COLUMNS].astype({"model": object})

    @staticmethod
    def backtest(
        history: pd.DataFrame | PreparedHistory,
        models: Sequence[str],
        horizon: int,
        windows: int = 1,
        quantiles: Sequence[float] = (),
        progress: ProgressCallback | None = None,
        future_covariates: pd.DataFrame | None = None,
    ) -> BacktestResult:
        """Score each model on the last ``windows`` blocks of ``horizon`` buckets of every item.

        ``future_covariates`` (item_id, date, <covariates>; see core/covariates.py)
        gives each window's models the values on its held-out buckets.

        Raises :class:`ForecastingError` for a bad horizon, window count,
        quantile level or model name, and :class:`InvalidInputError` naming
        the items too short for the requested windows.
        """
        horizon = validate_horizon(horizon)
        windows = _validate_windows(windows)
        levels = validate_quantiles(quantiles)
        instances = _create_models(models)
        min_seen = max(m.min_history_days for m in instances)
        prepared = history if isinstance(history, PreparedHistory) else prepare_history(history, min_seen)
        horizon = validate_horizon(horizon, freq=prepared.freq)  # windows count the data's buckets
        _check_long_enough(prepared, horizon, windows, min_seen)

        total = len(instances) * windows
        done = 0
        parts: dict[tuple[int, int], pd.DataFrame] = {}
        for w in range(1, windows + 1):  # one truncated copy of the history alive at a time
            seen_end = prepared.starts + prepared.lengths - w * horizon  # first unseen row per item
            cutoff = prepared.days[seen_end - 1]
            seen = prepared.truncate(cutoff, min_seen)
            window = _window_frame(prepared, seen_end, cutoff, horizon, w)
            window["scale"] = np.repeat(naive_scale(prepared, seen_end), horizon)
            for i, model in enumerate(instances):
                fc = model.forecast(seen, horizon, levels, future_covariates)
                parts[(i, w)] = _attach_forecast(window, fc, model.name, levels)
                done += 1
                if progress:
                    progress(done, total)

        scored = pd.concat([parts[key] for key in sorted(parts)], ignore_index=True)
        sums = QualityCalculator.item_sums(scored, levels)
        metrics = _empty_metrics() if sums is None else QualityCalculator.metrics_from_sums(sums, levels)
        return BacktestResult(forecasts=scored.drop(columns="scale"), metrics=metrics, sums=sums)


def _empty_metrics() -> pd.DataFrame:
    dtypes = {"item_id": object, "model": object, "n_points": np.int64, "n_zero_actuals": np.int64}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, np.float64)) for c in METRIC_COLUMNS})


def _finite_column(scored: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(scored[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ForecastingError(f"column {column} has {int(bad.sum())} missing or non-finite value(s)")
    return values


def _point_terms(scored: pd.DataFrame, levels: tuple[float, ...], qcols: list[str]) -> pd.DataFrame:
    """One row per scored point with every term the metrics sum up."""
    y = _finite_column(scored, "actual")
    f = _finite_column(scored, "forecast")
    q = np.column_stack([_finite_column(scored, c) for c in qcols]) if qcols else np.empty((len(y), 0))
    s = pd.to_numeric(scored["scale"], errors="coerce").to_numpy(dtype=np.float64)
    abs_err = np.abs(y - f)
    nonzero = y != 0
    usable_scale = np.isfinite(s) & (s > 0)
    delta = y[:, None] - q
    lv = np.asarray(levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(nonzero, abs_err / np.abs(y), 0.0)
        scaled = np.where(usable_scale, abs_err / s, 0.0)
    inside = (q[:, 0] <= y) & (y <= q[:, -1]) if len(levels) >= 2 else np.zeros(len(y), dtype=bool)
    return pd.DataFrame(
        {
            "model": pd.Categorical(scored["model"], categories=pd.unique(scored["model"])),
            "item_id": pd.Categorical(scored["item_id"], categories=pd.unique(scored["item_id"])),
            "n": 1,
            "zeros": (~nonzero).astype(np.int64),
            "abs_err": abs_err,
            "sq_err": abs_err**2,
            "over": f - y,
            "abs_y": np.abs(y),
            "ape": ape,
            "n_ape": nonzero.astype(np.int64),
            "scaled": scaled,
            "n_scaled": usable_scale.astype(np.int64),
            "rho": np.maximum(lv * delta, (lv - 1) * delta).sum(axis=1),
            "inside": inside.astype(np.int64),
        }
    )


def _finish(sums: pd.DataFrame, n_levels: int) -> pd.DataFrame:
    """Metrics (all but MASE) from summed point terms; zero denominators give NaN."""
    abs_y = sums["abs_y"].where(sums["abs_y"] > 0)
    n = sums["n"]
    return pd.DataFrame(
        {
            "n_points": n.astype(np.int64),
            "n_zero_actuals": sums["zeros"].astype(np.int64),
            "mae": sums["abs_err"] / n,
            "rmse": np.sqrt(sums["sq_err"] / n),
            "mape": 100.0 * sums["ape"] / sums["n_ape"].where(sums["n_ape"] > 0),
            "wape": 100.0 * sums["abs_err"] / abs_y,
            "bias": 100.0 * sums["over"] / abs_y,
            "mase": np.nan,
            "wql": 2.0 * sums["rho"] / (n_levels * abs_y) if n_levels >= 1 else np.nan,
            "coverage": sums["inside"] / n if n_levels >= 2 else np.nan,
        },
        index=sums.index,
    )


def _validate_windows(windows: int) -> int:
    if isinstance(windows, bool) or not isinstance(windows, (int, np.integer)):
        raise ForecastingError(f"windows must be a whole number, got {windows!r}")
    if windows < 1:
        raise ForecastingError(f"windows must be at least 1, got {windows}")
    return int(windows)


def _create_models(names: Sequence[str]) -> list[BaseForecastModel]:
    """Models by name, all checked (known, available, not repeated) before any work starts."""
    names = ModelFactory.parse_names(names) if isinstance(names, str) else list(names)
    if not names:
        raise ForecastingError(f"no model given; available: {', '.join(ModelFactory.names())}")
    instances = [ModelFactory.create(n) for n in names]
    seen = [m.name for m in instances]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise ForecastingError(f"model(s) listed more than once: {', '.join(repeated)}")
    for m in instances:
        status = m.availability()
        if not status.available:
            raise ModelUnavailableError(f"model {m.name} cannot run here: {status.reason}")
    return instances


def _check_long_enough(prepared: PreparedHistory, horizon: int, windows: int, min_seen: int) -> None:
    needed = windows * horizon + min_seen
    short = prepared.lengths < needed
    if short.any():
        listed = ", ".join(
            f"{i} ({n} days)" for i, n in zip(prepared.item_ids[short][:20], prepared.lengths[short][:20])
        )
        raise InvalidInputError(
            f"a backtest of {windows} window(s) of {horizon} days needs at least {needed} days of history "
            f"per item ({min_seen} before the earliest cutoff); {int(short.sum())} item(s) are shorter: {listed}"
        )


def naive_scale(prepared: PreparedHistory, seen_end: np.ndarray) -> np.ndarray:
    """MASE's scale per item: mean |y_t - y_(t-1)| over its rows before ``seen_end`` (NaN under two rows).

    The one-step naive error in the data's own bucket (day to day, week to
    week, month to month), not the seasonal naive's: it exists for every item
    with two buckets of history (a 52-week seasonal scale needs more than a
    year), it keeps the daily numbers what they were, and the seasonal naive's
    skill is scored beside it as the ``seasonal-naive`` model. utilsforecast:
    ``mase(..., seasonality=1)``.
    """
    steps = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(prepared.quantity)))])
    # C[j] - C[i] sums |y_t - y_(t-1)| over rows i+1..j of one item (the step into its first row never counts)
    seen = seen_end - prepared.starts
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seen >= 2, (steps[seen_end - 1] - steps[prepared.starts]) / (seen - 1), np.nan)


def _window_frame(
    prepared: PreparedHistory, seen_end: np.ndarray, cutoff: np.ndarray, horizon: int, window: int
) -> pd.DataFrame:
    """The scored days of one window: ``item_id, window, cutoff, date, actual`` (item by item)."""
    rows = (seen_end[:, None] + np.arange(horizon)[None, :]).ravel()
    return pd.DataFrame(
        {
            "item_id": prepared.ids[rows],
            "window": window,
            "cutoff": prepared.dates(np.repeat(cutoff, horizon)),
            "date": prepared.dates(prepared.days[rows]),
            "actual": prepared.quantity[rows],
        }
    )


def _attach_forecast(
    window: pd.DataFrame, fc: pd.DataFrame, model: str, levels: tuple[float, ...]
) -> pd.DataFrame:
    """The window's rows with the model's forecast (checked to be for the same items and days)."""
    same = (
        len(fc) == len(window)
        and np.array_equal(fc["item_id"].to_numpy(), window["item_id"].to_numpy())
        and np.array_equal(fc["date"].to_numpy(), window["date"].to_numpy())
    )
    if not same:
        raise ForecastingError(f"model {model} returned forecasts for other items or days than the backtest window")
    out = window.copy()
    out.insert(1, "model", model)
    out["forecast"] = fc["forecast"].to_numpy()
    for level in levels:
        out[quantile_column(level)] = fc[quantile_column(level)].to_numpy()
    if "chosen_model" in fc.columns:  # auto: the model each item got in this window
        out["chosen_model"] = fc["chosen_model"].to_numpy()
    return out
