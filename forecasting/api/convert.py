"""Service results (pandas frames) to JSON-ready structures: one entry per item, NaN as null."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.core.models.base import quantile_column


def level_key(level: float) -> str:
    """The key of a quantile level in responses: ``"0.1"`` (the CSV column name without its ``q``)."""
    return quantile_column(level)[1:]


def forecast_items(frame: pd.DataFrame, levels: Sequence[float]) -> list[dict]:
    """The forecast frame (docs/data-formats.md) as ``[{item_id, dates, forecast, quantiles}]`` in item order."""
    if frame.empty:
        return []
    codes, uniques = pd.factorize(frame["item_id"])
    order = np.argsort(codes, kind="stable")  # items in first-seen order, days in frame order
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    dates = np.split(frame["date"].to_numpy(dtype="datetime64[D]")[order].astype(object), bounds)
    point = np.split(frame["forecast"].to_numpy(dtype=np.float64)[order], bounds)
    columns = {
        level_key(level): np.split(frame[quantile_column(level)].to_numpy(dtype=np.float64)[order], bounds)
        for level in levels
    }
    first = np.searchsorted(codes[order], np.arange(len(uniques)))  # each item's first row (in ``order``)
    chosen = {
        column: frame[column].to_numpy(dtype=object)[order][first] if column in frame.columns else [None] * len(uniques)
        for column in ("chosen_model", "choice")
    }
    return [
        {
            "item_id": str(item),
            "dates": dates[i].tolist(),
            "forecast": point[i].tolist(),
            "quantiles": {key: parts[i].tolist() for key, parts in columns.items()},
            "chosen_model": chosen["chosen_model"][i],
            "choice": chosen["choice"][i],
        }
        for i, item in enumerate(uniques)
    ]


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict]:
    """Rows as dicts: missing values as None, timestamps as dates, numpy scalars as Python ones."""
    out = frame.loc[:, list(columns)].copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.date
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")
