"""The Forecast page's editable plan grid: items x weeks of final totals, and edits turned into overrides.

A week is 7 days from the plan's first day (week 1 = days 1-7 after the as-of date); the last week may be
shorter. On weekly or monthly data each bucket is a column of its own, dated on the bucket. An edited cell becomes a ``total`` override of that item over that week's days (reason and note
from the editor), so the week's final total is exactly the number typed, spread like the baseline.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def weekly(final: pd.DataFrame, column: str = "final") -> pd.DataFrame:
    """``column``'s weekly totals: one row per item (index ``item_id``), one column per week start date (ISO)."""
    if final.empty:
        return pd.DataFrame()
    first = final["date"].min()
    week = (final["date"] - first).dt.days // 7
    # a column is dated on its first row's date: day 1 + 7k on daily data, the bucket's own date on weekly or
    # monthly data (a month is a column of its own, dated on its bucket, so an edit overrides that month only)
    starts = final["date"].groupby(week).transform("min").dt.strftime("%Y-%m-%d")
    frame = final.assign(week=starts)
    table = frame.pivot_table(index="item_id", columns="week", values=column, aggfunc="sum", sort=True)
    table.columns.name = None
    return table.round(2)


def edits_to_overrides(before: pd.DataFrame, after: pd.DataFrame, last_day: pd.Timestamp, reason: str,
                       note: str) -> pd.DataFrame:
    """One ``total`` override per changed cell of the :func:`weekly` grid (empty or negative cells are ignored:
    the import check refuses negative totals, and an emptied cell means no change)."""
    rows = []
    for item in after.index:
        for week in after.columns:
            new, old = after.at[item, week], before.at[item, week]
            if pd.isna(new) or (not pd.isna(old) and np.isclose(float(new), float(old))):
                continue
            start = pd.Timestamp(week)
            end = min(start + pd.Timedelta(days=6), last_day)
            rows.append({"item_id": str(item), "start_date": str(start.date()), "end_date": str(end.date()),
                         "change": str(float(new)), "kind": "total", "reason": reason, "note": note})
    return pd.DataFrame(rows, columns=["item_id", "start_date", "end_date", "change", "kind", "reason", "note"])
