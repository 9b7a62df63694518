"""statsforecast's cross-validation scored as our backtests are: one home for the benchmarks' peer rows."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from forecasting.applications.quality.calculator import OVERALL, QualityCalculator


def peer_metrics(cv: pd.DataFrame, models: Mapping[str, object], levels: Sequence[float]) -> pd.DataFrame:
    """The pooled metrics (our OVERALL rows, ``source`` statsforecast) of each peer in ``cv``.

    ``cv``: StatsForecast.cross_validation with ``level=[80]``; ``models``: label -> the statsforecast
    model (its repr names its columns). The point is the median, the 80% band's ends the 10% and 90%
    quantiles, all clipped at 0 as ours are.
    """
    rows = []
    for label, model in models.items():
        alias = repr(model)
        scored = pd.DataFrame({
            "item_id": cv["unique_id"].astype(str), "model": label, "actual": cv["y"],
            "forecast": np.maximum(cv[alias], 0.0), "q0.1": np.maximum(cv[f"{alias}-lo-80"], 0.0),
            "q0.5": np.maximum(cv[alias], 0.0), "q0.9": np.maximum(cv[f"{alias}-hi-80"], 0.0), "scale": np.nan,
        })
        metrics = QualityCalculator.metrics(scored, levels)
        rows.append(metrics[metrics["item_id"] == OVERALL].assign(source="statsforecast"))
    return pd.concat(rows, ignore_index=True)
