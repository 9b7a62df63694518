"""Forecast value added (FVA): did the statistical plan beat a naive forecast, and did the overrides beat the plan?

Scored frame: one row per item and bucket that has an actual, with the forecast
that was in force for it: ``naive`` (seasonal naive made at the plan's as-of
date), ``plan`` (the plan's baseline) and ``final`` (the plan with the overrides).
Per group: WAPE = 100 x sum|forecast - actual| / sum actual, bias = 100 x
sum(forecast - actual) / sum actual (NaN when the actuals sum to 0), and
fva_plan = wape_naive - wape_plan, fva_final = wape_plan - wape_final, in WAPE
points: positive means the step made the forecast better.

Levels: ``item``, ``category`` and ``total`` over every scored bucket; ``reason``
and ``user`` over the buckets an override decided (grouped by that override's
reason and author).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

FVA_COLUMNS = [
    "level", "key", "buckets", "actual", "wape_naive", "wape_plan", "wape_final", "fva_plan", "fva_final",
    "bias_naive", "bias_plan", "bias_final",
]
LEVELS = ("item", "category", "reason", "user", "total")


def plan_in_force(plan_as_of: pd.Series, dates: pd.Series) -> pd.Series:
    """For each date, the index of the plan in force: the one with the latest as-of date before it (NaN: none);
    of several plans with that as-of date (a re-plan on the same sales), the latest (highest index).

    A plan made later (on data that already holds the date) never replaces it.
    """
    plans = pd.DataFrame({"plan": plan_as_of.index, "as_of": pd.to_datetime(plan_as_of.to_numpy())})
    plans = plans.sort_values(["as_of", "plan"], kind="stable")
    days = pd.DataFrame({"date": pd.to_datetime(dates.to_numpy()), "row": np.arange(len(dates))}).sort_values("date")
    # the plan whose as_of is strictly before the date: merge_asof on the day before the date
    days["key"] = days["date"] - pd.Timedelta(days=1)
    matched = pd.merge_asof(days, plans, left_on="key", right_on="as_of", direction="backward")
    return pd.Series(matched.sort_values("row")["plan"].to_numpy(), index=dates.index)


def fva_table(scored: pd.DataFrame) -> pd.DataFrame:
    """The FVA rows (FVA_COLUMNS) of a scored frame.

    ``scored``: ``item_id, category, actual, naive, plan, final, reason, user``
    (``reason``/``user`` empty where no override decided the bucket).
    """
    if scored.empty:
        return pd.DataFrame(columns=FVA_COLUMNS)
    frame = scored.copy()
    for name in ("naive", "plan", "final"):
        frame[f"abs_{name}"] = (frame[name] - frame["actual"]).abs()
        frame[f"err_{name}"] = frame[name] - frame["actual"]
    frame["total"] = "total"
    overridden = frame["reason"].fillna("").astype(str) != ""
    parts = []
    for level in LEVELS:
        column = "item_id" if level == "item" else level
        rows = frame[overridden] if level in ("reason", "user") else frame
        if rows.empty:
            continue
        grouped = rows.groupby(rows[column].fillna("").astype(str), sort=True)
        sums = grouped[["actual", "abs_naive", "abs_plan", "abs_final", "err_naive", "err_plan", "err_final"]].sum()
        sums["buckets"] = grouped.size()
        actual = sums["actual"].where(sums["actual"] != 0)
        part = pd.DataFrame({"level": level, "key": sums.index, "buckets": sums["buckets"].to_numpy(),
                             "actual": sums["actual"].to_numpy()})
        for name in ("naive", "plan", "final"):
            part[f"wape_{name}"] = (100.0 * sums[f"abs_{name}"] / actual).to_numpy()
            part[f"bias_{name}"] = (100.0 * sums[f"err_{name}"] / actual).to_numpy()
        part["fva_plan"] = part["wape_naive"] - part["wape_plan"]
        part["fva_final"] = part["wape_plan"] - part["wape_final"]
        parts.append(part[FVA_COLUMNS])
    return pd.concat(parts, ignore_index=True)
