"""Demand classes of Syntetos and Boylan (2005): smooth, erratic, intermittent, lumpy.

Over an item's whole history (to the data's as-of date, days without a row being
zero sales):

- ADI = days / days with demand (the mean interval between demands);
- CV^2 = (standard deviation / mean)^2 of the non-zero demand sizes (population std).

ADI < 1.32 and CV^2 < 0.49: smooth; ADI < 1.32, CV^2 >= 0.49: erratic;
ADI >= 1.32, CV^2 < 0.49: intermittent; ADI >= 1.32, CV^2 >= 0.49: lumpy. An
item that never sold is ``no demand``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.history import PreparedHistory

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "no demand")
CLASS_COLUMNS = ["item_id", "adi", "cv2", "demand_class"]


def classify(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ADI, CV^2, class) per item of a right-aligned history [items, T] (NaN before each item's first day)."""
    observed = ~np.isnan(y)
    days = observed.sum(axis=1)
    sizes = np.where(observed & (np.nan_to_num(y) > 0), y, np.nan)
    demands = np.count_nonzero(~np.isnan(sizes), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        adi = np.where(demands > 0, days / np.maximum(demands, 1), np.nan)
        mean = np.nansum(sizes, axis=1) / np.maximum(demands, 1)
        var = np.nansum((sizes - mean[:, None]) ** 2, axis=1) / np.maximum(demands, 1)
        cv2 = np.where(demands > 0, var / mean**2, np.nan)
    intermittent = adi >= ADI_CUTOFF
    variable = cv2 >= CV2_CUTOFF
    labels = np.select(
        [demands == 0, intermittent & variable, intermittent, variable],
        ["no demand", "lumpy", "intermittent", "erratic"],
        default="smooth",
    ).astype(object)
    return adi, cv2, labels


def demand_classes(history: PreparedHistory) -> pd.DataFrame:
    """:data:`CLASS_COLUMNS`, one row per item of ``history``."""
    adi, cv2, labels = classify(history.tail_matrix())
    return pd.DataFrame({"item_id": history.item_ids, "adi": adi, "cv2": cv2, "demand_class": labels})
