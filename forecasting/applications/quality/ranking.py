"""Which model did best: per metric over all items, per item, and how many items each model won.

Every metric is turned into a score where lower is better: the errors as they
are, bias as |bias| (over- and under-forecasting are both wrong), coverage as
the distance from the band's nominal width (a 80% band should hold 80% of the
actuals, not 100%). Scores within a relative 1e-9 of the best are ties, and
every tied model counts as a winner. The Compare page, the Forecast page and
the API's backtest all use these functions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.applications.quality.calculator import OVERALL

#: the metrics a model can win, in the order reports list them
RANKED_METRICS = ("mape", "mae", "rmse", "wape", "bias", "mase", "wql", "coverage")
#: two scores this close are a tie (both models win)
TIE_RTOL, TIE_ATOL = 1e-9, 1e-12


def scores(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """The RANKED_METRICS columns of ``metrics`` as lower-is-better scores (coverage NaN without a band)."""
    out = metrics[list(RANKED_METRICS)].astype(float).copy()
    out["bias"] = out["bias"].abs()
    out["coverage"] = (out["coverage"] - band_width).abs() if band_width else np.nan
    return out


def best_per_metric(metrics: pd.DataFrame, band_width: float | None) -> dict[str, list[str]]:
    """Best model(s) per metric over all items (the ``__overall__`` rows); [] where no model has a value."""
    overall = metrics[metrics["item_id"] == OVERALL].set_index("model")
    table = scores(overall, band_width)
    out = {}
    for metric in RANKED_METRICS:
        column = table[metric].dropna()
        tied = column.index[np.isclose(column.to_numpy(), column.min(), rtol=TIE_RTOL, atol=TIE_ATOL)]
        out[metric] = [str(m) for m in tied]
    return out


def item_wins(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Per item and model, 1 where the model is (one of) the item's best on a metric: index (item_id, model)."""
    items = metrics[metrics["item_id"] != OVERALL].set_index(["item_id", "model"])
    table = scores(items, band_width)
    best = table.groupby(level="item_id").transform("min")
    wins = np.isclose(table.to_numpy(), best.to_numpy(), rtol=TIE_RTOL, atol=TIE_ATOL) & table.notna().to_numpy()
    return pd.DataFrame(wins.astype(int), index=table.index, columns=table.columns)


def wins_per_model(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Items won per metric (rows, RANKED_METRICS order) and model (columns, first-seen order)."""
    models = [str(m) for m in pd.unique(metrics.loc[metrics["item_id"] != OVERALL, "model"])]
    counts = item_wins(metrics, band_width).groupby(level="model").sum().reindex(models).T
    counts.columns = [str(c) for c in counts.columns]
    return counts.reindex(list(RANKED_METRICS))


def item_winners(metrics: pd.DataFrame, metric: str, band_width: float | None = None) -> dict[str, list[str]]:
    """The best model(s) of each item on one metric ([] where no model has a value)."""
    wins = item_wins(metrics, band_width)[metric]
    winners = wins[wins == 1].reset_index()
    out: dict[str, list[str]] = {str(i): [] for i in wins.index.get_level_values("item_id").unique()}
    for item_id, model in zip(winners["item_id"], winners["model"]):
        out[str(item_id)].append(str(model))
    return out
