"""Overrides -> the final forecast of the published plan (docs/planning.md).

An override changes one item's forecast over a date range, by ``kind``:

- ``percent``: each bucket's final = baseline x (1 + change / 100) (change >= -100);
- ``total``: the range's final total = change (>= 0), spread over its buckets in
  proportion to the baseline, evenly where the baseline of the whole range is zero.

Overlapping overrides: the latest (highest ``override_id``) active one covering a
bucket decides it; it is always computed from the baseline, never from another
override, so a percentage applies to the current plan and a unit value stays
what the planner typed across re-plans. A reverted override is simply left out.

Bands and sample paths follow: a percentage multiplies the bucket's quantiles and
every path's value by the same factor; a unit value shifts them (:func:`shifted_band`, :func:`adjust_paths`).

Buckets: every function works on whatever ``date`` rows it is given (days, or
the dates of weekly or monthly buckets); :func:`adjust_paths` finds a row's step
in the paths' own bucket. The planning service maps an override's date range
onto the buckets holding its days before it gets here.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.core.models.base import SamplePaths

KINDS = ("percent", "total")
REASONS = ("promotion", "event", "customer information", "correction", "new item", "other")
#: columns of an override (the stored record adds who/when/revert; see forecasting.storage.plans)
OVERRIDE_COLUMNS = ["override_id", "item_id", "start_date", "end_date", "change", "kind", "reason"]
#: what :func:`final_forecast` adds to the baseline frame
FINAL_COLUMNS = ["item_id", "date", "baseline", "final", "override_id", "kind", "factor"]


def final_forecast(baseline: pd.DataFrame, overrides: pd.DataFrame, quantile_columns: Sequence[str] = ()) -> pd.DataFrame:
    """The final forecast: ``baseline`` (``item_id, date, forecast`` and quantile columns) with ``overrides`` applied.

    Returns ``item_id, date, baseline, final, override_id, kind, factor`` and the
    quantile columns of the final forecast. ``override_id`` is the override that
    decided the bucket (NaN where none did); ``factor`` is final / baseline for a
    percentage (NaN otherwise). A total's range is the buckets of ``baseline``
    between its dates: pass the plan's whole horizon.
    """
    out = baseline.rename(columns={"forecast": "baseline"}).reset_index(drop=True).copy()
    out["date"] = pd.to_datetime(out["date"])
    out["item_id"] = out["item_id"].astype(str)
    base = out["baseline"].to_numpy(dtype=np.float64)
    final = base.copy()
    decided = np.full(len(out), np.nan)
    kind = np.full(len(out), None, dtype=object)
    factor = np.full(len(out), np.nan)
    rows_of = out.groupby("item_id").indices
    dates = out["date"].to_numpy()
    for o in overrides.sort_values("override_id").itertuples(index=False):
        rows = rows_of.get(str(o.item_id))
        if rows is None:
            continue
        day = dates[rows]
        rows = rows[(day >= np.datetime64(pd.Timestamp(o.start_date))) & (day <= np.datetime64(pd.Timestamp(o.end_date)))]
        if not len(rows):
            continue
        change = float(o.change)
        if o.kind == "percent":
            f = 1.0 + change / 100.0
            final[rows] = base[rows] * f
            factor[rows] = f
        else:
            b = np.maximum(base[rows], 0.0)
            total = b.sum()
            final[rows] = change * b / total if total > 0 else change / len(rows)
            factor[rows] = np.nan
        decided[rows] = o.override_id
        kind[rows] = o.kind
    out["final"] = final
    out["override_id"] = decided
    out["kind"] = kind
    out["factor"] = factor
    for column in quantile_columns:
        q = out[column].to_numpy(dtype=np.float64)
        out[column] = np.where(kind == "percent", q * factor,
                               np.where(kind == "total", shifted_band(q, base, final), q))
    return out[FINAL_COLUMNS + list(quantile_columns)]


def shifted_band(q: np.ndarray, baseline: np.ndarray, final: np.ndarray) -> np.ndarray:
    """A quantile under a unit override: q' = max(0, q + final - baseline), and 0 where the final is 0."""
    return np.where(final <= 0, 0.0, np.maximum(q + (final - baseline), 0.0))


def adjust_paths(paths: SamplePaths, final: pd.DataFrame) -> SamplePaths:
    """Sample paths that follow the overrides of ``final`` (from :func:`final_forecast`).

    Per item and overridden bucket, over the paths ``v`` of the bucket (NaN paths ignored):

    - ``percent``: v' = v x factor;
    - ``total`` (target m = the day's final): v' = max(0, v + m - mean(v)); when the
      clipping at zero raised the mean above m (only possible when m < mean(v)),
      v' is then scaled by m / mean(v') so that the mean is exactly m. So m = 0 gives
      all-zero paths, and a day's paths are never negative.

    Days without an override keep the model's paths.
    """
    values = paths.values.copy()
    decided = final[final["kind"].notna()]
    if decided.empty:
        return paths
    index = {str(i): k for k, i in enumerate(paths.item_ids)}
    for item_id, rows in decided.groupby("item_id"):
        k = index.get(str(item_id))
        if k is None:
            continue
        first = paths.freq.periods(np.array([np.datetime64(pd.Timestamp(paths.first_date[k]), "D").astype(np.int64)]))
        day = paths.freq.periods(rows["date"].to_numpy().astype("datetime64[D]").astype(np.int64)) - first[0]
        inside = (day >= 0) & (day < values.shape[2])
        rows, day = rows[inside], day[inside]
        for d, kind, f, m in zip(day, rows["kind"], rows["factor"], rows["final"]):
            v = values[k, :, d]
            if kind == "percent":
                values[k, :, d] = v * f
            else:
                values[k, :, d] = shift_to_mean(v, float(m))
    return SamplePaths(paths.item_ids, paths.first_date, values, paths.freq)


def shift_to_mean(v: np.ndarray, target: float) -> np.ndarray:
    """One day's path values shifted so that their mean is ``target``, never below zero (see :func:`adjust_paths`)."""
    if target <= 0:
        return np.where(np.isnan(v), np.nan, 0.0)
    shifted = np.maximum(v + (target - np.nanmean(v)), 0.0)
    mean = np.nanmean(shifted)
    return shifted * (target / mean) if mean > target else shifted
