"""Demand classes of Syntetos and Boylan (2005) on the recent window, and when an item counts as dead.

Over an item's last :data:`CLASS_WINDOW_DAYS` days (its whole history when
shorter; days without a row are zero sales, to the data's as-of date):

- ADI = days / days with demand (the mean interval between demands);
- CV^2 = (standard deviation / mean)^2 of the non-zero demand sizes (population std).

ADI < 1.32 and CV^2 < 0.49: smooth; ADI < 1.32, CV^2 >= 0.49: erratic;
ADI >= 1.32, CV^2 < 0.49: intermittent; ADI >= 1.32, CV^2 >= 0.49: lumpy. An
item that never sold is ``no demand``; one that sold but is dead now (see
:func:`no_recent_demand`) is ``no recent demand``, whatever its window's
numbers: a year that was smooth until the item stopped selling is not smooth.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.core.calendar import bucket, in_bucket
from forecasting.core.history import PreparedHistory

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
#: the recent window of the classes: one year (every weekday and season once)
CLASS_WINDOW_DAYS = 364
#: an item is dead once its last sale is at least this many days ago (13 weeks) ...
NO_RECENT_DEMAND_DAYS = 91
#: ... and at least this many of its own mean intervals between sales (while it sold) ago
DEAD_INTERVALS = 4
#: on weekly and monthly data both day counts are converted to buckets (rounded up): 52 weeks and 13 weeks,
#: 12 months and 3 months (:func:`_in_buckets`); the ADI and the intervals are counted in buckets


def _in_buckets(days: int) -> int:
    """Whole buckets covering ``days`` days in the bucket being worked on (daily: ``days``)."""
    return bucket().whole_periods(days)
NO_RECENT_DEMAND = "no recent demand"
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", NO_RECENT_DEMAND, "no demand")
CLASS_COLUMNS = ["item_id", "adi", "cv2", "demand_class"]


def no_recent_demand(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dead, days since the last sale) per item of a right-aligned history [items, T] (NaN before its first day).

    Dead: the item sold, and its last sale is at least ``max(NO_RECENT_DEMAND_DAYS,
    DEAD_INTERVALS x ADI)`` days ago, ADI being its mean interval between sales
    from its first day to its last sale; or no sale in :data:`CLASS_WINDOW_DAYS`.
    If sales came at that ADI at random (a geometric gap), a gap of 4 mean
    intervals has a probability of about e^-4 = 2%: the item has most likely
    stopped. The 13 weeks keep a fast seller's short pause (a stock-out) from
    counting. Items that never sold are not dead (they have no demand at all)
    and get ``days since`` = -1.
    """
    width = y.shape[1]
    sold = np.nan_to_num(y) > 0
    ever = sold.any(axis=1)
    last = np.where(ever, width - 1 - np.argmax(sold[:, ::-1], axis=1), -1)
    first = np.where((~np.isnan(y)).any(axis=1), np.argmax(~np.isnan(y), axis=1), width)
    since = np.where(ever, width - 1 - last, -1)
    adi = (last - first + 1) / np.maximum(sold.sum(axis=1), 1)
    gap = np.minimum(np.maximum(_in_buckets(NO_RECENT_DEMAND_DAYS), DEAD_INTERVALS * adi),
                     _in_buckets(CLASS_WINDOW_DAYS))
    return ever & (since >= gap), since


def classify(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ADI, CV^2, class) per item of a right-aligned history [items, T] (NaN before each item's first day).

    ADI and CV^2 are those of the last :data:`CLASS_WINDOW_DAYS` days (NaN without a sale there).
    """
    dead, _ = no_recent_demand(y)
    ever = (np.nan_to_num(y) > 0).any(axis=1)
    y = y[:, -_in_buckets(CLASS_WINDOW_DAYS):]
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
        [~ever, dead, intermittent & variable, intermittent, variable],
        ["no demand", NO_RECENT_DEMAND, "lumpy", "intermittent", "erratic"],
        default="smooth",
    ).astype(object)
    return adi, cv2, labels


def demand_classes(history: PreparedHistory) -> pd.DataFrame:
    """:data:`CLASS_COLUMNS`, one row per item of ``history``."""
    with in_bucket(history.freq):
        adi, cv2, labels = classify(history.tail_matrix())
    return pd.DataFrame({"item_id": history.item_ids, "adi": adi, "cv2": cv2, "demand_class": labels})
