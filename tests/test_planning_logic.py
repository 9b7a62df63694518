"""Overrides -> final forecast, bands and sample paths, and FVA: checked against hand computations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.planning.fva import fva_table, plan_in_force
from forecasting.applications.planning.grid import edits_to_overrides, weekly
from forecasting.applications.planning.overrides import (
    OVERRIDE_COLUMNS,
    adjust_paths,
    final_forecast,
    shift_to_mean,
)
from forecasting.core.models.base import SamplePaths

START = pd.Timestamp("2024-03-01")


def baseline(values: dict[str, list[float]], q_spread: float = 2.0) -> pd.DataFrame:
    rows = []
    for item, series in values.items():
        for k, v in enumerate(series):
            rows.append({"item_id": item, "date": START + pd.Timedelta(days=k), "forecast": v,
                         "q0.1": max(v - q_spread, 0.0), "q0.9": v + q_spread})
    return pd.DataFrame(rows)


def override(oid: int, item: str, first: int, last: int, change: float, kind: str, reason: str = "promotion"):
    return {"override_id": oid, "item_id": item, "start_date": (START + pd.Timedelta(days=first)).date(),
            "end_date": (START + pd.Timedelta(days=last)).date(), "change": change, "kind": kind, "reason": reason}


def test_plus_50_percent_over_a_week_scales_final_bands_paths_and_the_reorder_policy():
    base = baseline({"A": [10.0] * 14})
    final = final_forecast(base, pd.DataFrame([override(1, "A", 0, 6, 50, "percent")]), ["q0.1", "q0.9"])
    assert final["final"].tolist() == [15.0] * 7 + [10.0] * 7
    assert final["q0.1"].tolist() == [12.0] * 7 + [8.0] * 7  # 8 x 1.5
    assert final["q0.9"].tolist() == [18.0] * 7 + [12.0] * 7  # 12 x 1.5
    # two paths per day: 8 and 12 (mean 10); after the override 12 and 18 in week 1
    values = np.array([[[8.0] * 14, [12.0] * 14]])
    paths = adjust_paths(SamplePaths(np.array(["A"]), np.array([START.to_datetime64()]), values), final)
    assert paths.values[0, :, 0].tolist() == [12.0, 18.0]
    assert paths.values[0, :, 7].tolist() == [8.0, 12.0]
    inventory = pd.DataFrame({"item_id": ["A"], "on_hand": [100.0], "on_order": [0.0], "lead_time_days": [3],
                              "review_period_days": [4], "service_level": [0.95]})
    plan = InventoryCalculator.plan_from_paths(paths, inventory, "plan", review_due=True)
    # 7-day totals of the two paths: 84 and 126; the 0.95 quantile (linear): 84 + 0.95 x 42 = 123.9
    assert plan.table["order_up_to"].iloc[0] == pytest.approx(123.9)
    assert plan.table["order_qty"].iloc[0] == 24.0  # ceil(123.9 - 100)
    # projected stock: 100 - 15 per day in week 1, then 10 per day
    assert plan.projection["projected_stock"].tolist()[:9] == [85, 70, 55, 40, 25, 10, -5, -15, -25]


def test_a_unit_override_of_zero_gives_zero_demand_paths():
    base = baseline({"A": [10.0] * 7})
    final = final_forecast(base, pd.DataFrame([override(1, "A", 2, 4, 0, "total")]), ["q0.1", "q0.9"])
    assert final["final"].tolist() == [10, 10, 0, 0, 0, 10, 10]
    assert final["q0.9"].tolist() == [12, 12, 0, 0, 0, 12, 12]
    values = np.array([[[3.0, 9.0, 27.0, 1.0, 5.0, 10.0, 10.0], [17.0, 11.0, np.nan, 19.0, 15.0, 10.0, 10.0]]])
    paths = adjust_paths(SamplePaths(np.array(["A"]), np.array([START.to_datetime64()]), values), final)
    assert paths.values[0, 0, 2:5].tolist() == [0, 0, 0]
    assert np.isnan(paths.values[0, 1, 2])  # a path the item lacks stays missing
    assert paths.values[0, 1, 3:5].tolist() == [0, 0]
    assert paths.values[0, :, 0].tolist() == [3.0, 17.0]  # untouched days keep the model's paths


def test_a_total_is_spread_in_proportion_to_the_baseline_and_evenly_where_it_is_zero():
    base = baseline({"A": [1.0, 3.0, 0.0, 0.0], "B": [0.0, 0.0, 0.0, 0.0]})
    overrides = pd.DataFrame([override(1, "A", 0, 1, 20, "total"), override(2, "B", 1, 2, 9, "total")])
    final = final_forecast(base, overrides)
    assert final.loc[final["item_id"] == "A", "final"].tolist() == [5.0, 15.0, 0.0, 0.0]  # 20 x 1/4, 20 x 3/4
    assert final.loc[final["item_id"] == "B", "final"].tolist() == [0.0, 4.5, 4.5, 0.0]


def test_the_latest_override_decides_a_day_and_reverting_it_restores_the_earlier_one():
    base = baseline({"A": [10.0] * 4})
    first, second = override(1, "A", 0, 3, 100, "percent"), override(2, "A", 1, 1, 3, "total")
    both = final_forecast(base, pd.DataFrame([second, first]))
    assert both["final"].tolist() == [20, 3, 20, 20]
    assert both["override_id"].tolist() == [1, 2, 1, 1]
    assert final_forecast(base, pd.DataFrame([first]))["final"].tolist() == [20] * 4
    assert final_forecast(base, pd.DataFrame(columns=list(first)))["final"].tolist() == [10] * 4


def test_shifting_paths_never_goes_below_zero_and_keeps_the_mean_exact():
    # mean 5, target 2: shift by -3 -> [0, 7] (mean 3.5, raised by the clip) -> scaled by 2 / 3.5 -> [0, 4]
    assert shift_to_mean(np.array([0.0, 10.0]), 2.0).tolist() == pytest.approx([0.0, 4.0])
    # no clipping: a plain shift
    assert shift_to_mean(np.array([4.0, 6.0]), 8.0).tolist() == [7.0, 9.0]


def test_fva_equals_a_hand_computation_with_one_override_that_helps_and_one_that_hurts():
    scored = pd.DataFrame({
        "item_id": ["A", "A", "B", "B"], "category": ["x", "x", "y", "y"],
        "actual": [10.0, 10.0, 10.0, 10.0], "naive": [6.0, 6.0, 10.0, 14.0], "plan": [8.0, 8.0, 10.0, 10.0],
        "final": [10.0, 10.0, 15.0, 15.0],
        "reason": ["promotion", "promotion", "correction", "correction"], "user": ["alice", "alice", "bob", "bob"],
    })
    table = fva_table(scored).set_index(["level", "key"])
    # A: naive |4|+|4| / 20 = 40, plan 20, final 0; B: naive 4 / 20 = 20, plan 0, final 10 / 20 = 50
    for key in [("item", "A"), ("category", "x"), ("reason", "promotion"), ("user", "alice")]:
        row = table.loc[key]
        assert (row["wape_naive"], row["wape_plan"], row["wape_final"]) == (40, 20, 0)
        assert (row["fva_plan"], row["fva_final"]) == (20, 20)
    for key in [("item", "B"), ("category", "y"), ("reason", "correction"), ("user", "bob")]:
        row = table.loc[key]
        assert (row["wape_naive"], row["wape_plan"], row["wape_final"], row["fva_final"]) == (20, 0, 50, -50)
        assert row["bias_final"] == 50
    total = table.loc[("total", "total")]
    # 12 / 40 = 30, 4 / 40 = 10, 10 / 40 = 25
    assert (total["buckets"], total["wape_naive"], total["wape_plan"], total["wape_final"]) == (4, 30, 10, 25)
    assert (total["fva_plan"], total["fva_final"]) == (20, -15)


def test_a_day_is_scored_against_the_plan_in_force_before_it():
    plans = pd.Series(pd.to_datetime(["2024-01-07", "2024-01-14"]), index=[11, 12])
    dates = pd.Series(pd.to_datetime(["2024-01-07", "2024-01-08", "2024-01-14", "2024-01-15"]))
    assert plan_in_force(plans, dates).tolist()[1:] == [11, 11, 12]
    assert np.isnan(plan_in_force(plans, dates).iloc[0])


def test_the_weekly_grid_and_an_edited_cell_becomes_a_total_override_of_that_week():
    final = final_forecast(baseline({"A": [1.0] * 10, "B": [2.0] * 10}), pd.DataFrame(columns=OVERRIDE_COLUMNS))
    grid = weekly(final)
    assert list(grid.columns) == ["2024-03-01", "2024-03-08"]
    assert grid.loc["A"].tolist() == [7.0, 3.0] and grid.loc["B"].tolist() == [14.0, 6.0]
    edited = grid.copy()
    edited.loc["A", "2024-03-08"] = 30.0
    rows = edits_to_overrides(grid, edited, pd.Timestamp("2024-03-10"), "promotion", "n")
    assert rows.to_dict("records") == [{"item_id": "A", "start_date": "2024-03-08", "end_date": "2024-03-10",
                                        "change": "30.0", "kind": "total", "reason": "promotion", "note": "n"}]
    applied = final_forecast(baseline({"A": [1.0] * 10}), rows.assign(override_id=1, change=30.0))
    assert weekly(applied).loc["A"].tolist() == [7.0, 30.0]


def test_of_two_plans_with_the_same_as_of_date_the_later_is_in_force():
    plans = pd.Series(pd.to_datetime(["2024-01-07", "2024-01-07", "2024-01-03"]), index=[12, 11, 10])
    dates = pd.Series(pd.to_datetime(["2024-01-05", "2024-01-08"]))
    assert plan_in_force(plans, dates).tolist() == [10, 12]
