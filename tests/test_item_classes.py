"""ABC / XYZ / lifecycle classes of the policy (docs/inventory-policy.md, classes) on hand-made items."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.classification.item_classes import (
    abc_classes,
    item_classes,
    weekly_cv,
    xyz_classes,
)
from forecasting.core.history import prepare_history

DAYS = 420


def _history() -> pd.DataFrame:
    """steady (10/day), lumpy (700 every 28th day: A/Z), dead (last sale 200 days ago), new (first sale 30 days ago)."""
    dates = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    day = np.arange(DAYS)
    rows = {
        "steady": np.full(DAYS, 10.0),
        "lumpy": np.where((DAYS - 1 - day) % 28 == 0, 700.0, 0.0),
        "dead": np.where(day < DAYS - 200, 3.0, 0.0),
    }
    frames = [pd.DataFrame({"item_id": k, "date": dates, "quantity": v}) for k, v in rows.items()]
    frames.append(pd.DataFrame({"item_id": "new", "date": dates[-30:], "quantity": 2.0}))
    return pd.concat(frames, ignore_index=True)


def test_abc_cumulative_shares_hand_computed():
    # shares before each item: 0, 0.5, 0.8, 0.95 -> A, A, B (0.8 is not below 0.8), C; no value -> C
    assert abc_classes(np.array([30.0, 50.0, 15.0, 5.0, 0.0])).tolist() == ["A", "A", "B", "C", "C"]
    # one item with 90% of the value is A, the next one B
    assert abc_classes(np.array([90.0, 6.0, 4.0])).tolist() == ["A", "B", "C"]
    assert abc_classes(np.array([30.0, 50.0, 15.0, 5.0]), (0.5, 0.9)).tolist() == ["B", "A", "B", "C"]


def test_weekly_cv_and_xyz_hand_computed():
    y = np.tile(np.array([[700.0] + [0.0] * 27]), (1, 4))  # weeks 700, 0, 0, 0 (x4)
    # mean 175, population std sqrt(700^2/4 - 175^2) = 303.11 -> CV 1.732
    assert weekly_cv(y)[0] == pytest.approx(np.sqrt(3.0))
    assert xyz_classes(np.array([0.0, 0.49, 0.5, 0.99, 1.0, np.nan])).tolist() == ["X", "X", "Y", "Y", "Z", "Z"]


def test_dead_new_and_a_z_items():
    history = prepare_history(_history(), 1)
    cost = pd.Series({"steady": 1.0, "lumpy": 10.0, "dead": 1.0, "new": 1.0})[history.item_ids].to_numpy()
    classes = item_classes(history.item_ids, history.tail_matrix(), cost).set_index("item_id")
    # lumpy: 13 sales x 700 x 10 = 91,000 of 91,000 + 3,640 + 60 + 0 -> A; weekly CV sqrt(3) -> Z
    assert classes.loc["lumpy", "value_52w"] == pytest.approx(91_000.0)
    assert classes.loc["lumpy", ["abc", "xyz", "lifecycle"]].tolist() == ["A", "Z", "active"]
    # steady: 3,640; the share before it is 91,000 / 94,700 = 96.1% >= 95% -> C
    assert classes.loc["steady", ["abc", "xyz", "lifecycle"]].tolist() == ["C", "X", "active"]
    assert classes.loc["dead", "lifecycle"] == "dead"
    assert classes.loc["dead", "days_since_last_sale"] == 200
    assert classes.loc["new", "lifecycle"] == "new"
    assert classes.loc["new", "xyz"] == "X"  # four whole weeks of 14


def test_phase_out_flag_makes_an_item_dead():
    history = prepare_history(_history(), 1)
    flag = history.item_ids == "steady"
    classes = item_classes(history.item_ids, history.tail_matrix(), None, flag).set_index("item_id")
    assert classes.loc["steady", "lifecycle"] == "dead"
    assert classes.loc["lumpy", "lifecycle"] == "active"


def test_dead_boundary_is_26_weeks():
    y = np.zeros((2, 400))
    y[0, 400 - 1 - 182] = 1.0  # last sale exactly 182 days ago: dead
    y[1, 400 - 1 - 181] = 1.0  # 181 days ago: not yet
    classes = item_classes(np.array(["x", "y"]), y)
    assert classes["lifecycle"].tolist() == ["dead", "active"]
