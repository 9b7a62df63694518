"""Issue 19's proposal rules on hand-made reorder tables (forecasting/applications/purchasing/proposals.py)."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.purchasing.proposals import (
    SupplierTerms,
    apply_budget,
    draft_orders,
    proposal_lines,
    proposed_today,
    pull_forward_candidates,
    review_due,
)


def table(rows: list[tuple]) -> pd.DataFrame:
    """Reorder-table rows: (item, action, position, reorder point, order-up-to, review days, cover, cost)."""
    cols = ["item_id", "action", "inventory_position", "reorder_point", "order_up_to", "review_period_days",
            "days_of_cover", "unit_cost"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.assign(name="", pack_size=1.0, moq=0.0, lead_time_days=3)


def links(rows: list[tuple]) -> pd.DataFrame:
    """(item, supplier, pack, moq, cost, code)."""
    frame = pd.DataFrame(rows, columns=["item_id", "supplier", "pack_size", "moq", "unit_cost", "supplier_item_code"])
    return frame.assign(lead_time_days=np.nan)


def test_the_rule_review_due_not_due_and_continuous_review():
    order_now = np.array([False, False, False, True, False])
    position = np.array([5.0, 5.0, 5.0, 5.0, 20.0])
    order_up_to = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    review = np.array([7, 7, 0, 0, 7])
    due = np.array([True, False, True, True, True])
    # due & below order-up-to: yes; not due: no; continuous above the reorder point: no (even "due");
    # continuous at/below the reorder point (order now): yes; due but above order-up-to: no
    assert proposed_today(order_now, position, order_up_to, review, due).tolist() == [True, False, False, True, False]


def test_review_due_by_order_days_then_period_then_always():
    monday = date(2026, 12, 7)
    assert review_due(monday, (0, 3), None, None) and not review_due(monday, (1,), 1, None)
    assert review_due(monday, (), 7, None) and review_due(monday, (), 7, date(2026, 11, 30))
    assert not review_due(monday, (), 7, date(2026, 12, 1))
    assert review_due(monday, (), None, date(2026, 12, 7)) and review_due(monday, (), 0, date(2026, 12, 7))


def test_lines_round_to_packs_and_moq_and_show_both_quantities():
    t = table([("a", "reorder", 0.0, 5.0, 13.0, 7, 2.0, 1.0), ("b", "reorder", 0.0, 5.0, 3.0, 7, 2.0, 1.0),
               ("c", "ok", 10.0, 5.0, 13.0, 7, 9.0, 1.0)])
    ln = links([("a", "S", 5.0, 0.0, 2.5, "S-A"), ("b", "S", 4.0, 10.0, 2.0, "S-B"), ("c", "S", 1.0, 0.0, 1.0, "")])
    lines = proposal_lines(t, ln, {"S": False}).set_index("item_id")
    assert list(lines.index) == ["a", "b"]  # c is ok and S's review is not due
    assert lines.loc["a", "qty_needed"] == 13 and lines.loc["a", "qty_rounded"] == 15  # 3 packs of 5
    assert lines.loc["b", "qty_needed"] == 3 and lines.loc["b", "qty_rounded"] == 12  # MOQ 10 -> 3 packs of 4
    assert lines.loc["a", "order_value"] == 37.5 and lines.loc["a", "supplier_item_code"] == "S-A"
    due = proposal_lines(t, ln, {"S": True}).set_index("item_id")
    assert due.loc["c", "qty_needed"] == 3 and due.loc["c", "reason"] == "review due"


def test_a_draft_below_the_minimum_pulls_forward_the_items_closest_to_their_reorder_point():
    t = table([("a", "reorder", 0.0, 5.0, 10.0, 7, 1.0, 10.0),
               ("far", "ok", 50.0, 5.0, 60.0, 7, 30.0, 10.0),
               ("near", "ok", 8.0, 5.0, 12.0, 7, 4.0, 10.0),
               ("middle", "ok", 20.0, 5.0, 25.0, 7, 12.0, 10.0),
               ("other", "ok", 6.0, 5.0, 12.0, 7, 2.0, 10.0)])
    ln = links([("a", "S", 1.0, 0.0, 10.0, ""), ("far", "S", 1.0, 0.0, 10.0, ""), ("near", "S", 1.0, 0.0, 10.0, ""),
                ("middle", "S", 1.0, 0.0, 10.0, ""), ("other", "T", 1.0, 0.0, 10.0, "")])
    lines = proposal_lines(t, ln, {})
    terms = {"S": SupplierTerms("S", min_order_value=180.0), "T": SupplierTerms("T")}
    drafted, orders = draft_orders(lines, terms, pull_forward_candidates(t, ln, lines))
    # a: 10 units = 100; near (4 days of cover): 4 units = 140; middle (12 days): 5 units = 190 >= 180; far stays
    assert drafted["item_id"].tolist() == ["a", "near", "middle"]
    assert drafted["reason"].tolist() == ["order now", "minimum", "minimum"]
    assert orders.loc[0, "value"] == 190.0 and orders.loc[0, "minimum_fill"] == pytest.approx(190 / 180)


def test_a_draft_over_capacity_is_split_in_whole_packs():
    t = table([("a", "reorder", 0.0, 5.0, 60.0, 7, 1.0, 1.0), ("b", "reorder", 0.0, 5.0, 50.0, 7, 2.0, 2.0)])
    ln = links([("a", "S", 10.0, 0.0, 1.0, ""), ("b", "S", 5.0, 0.0, 2.0, "")])
    lines = proposal_lines(t, ln, {})
    drafted, orders = draft_orders(lines, {"S": SupplierTerms("S", capacity_units=40.0)})
    assert orders["order"].tolist() == ["S/1", "S/2", "S/3"]
    assert orders["units"].tolist() == [40.0, 40.0, 30.0] and (orders["units"] <= 40).all()
    per_item = drafted.groupby("item_id")["order_qty"].sum()
    assert per_item["a"] == 60 and per_item["b"] == 50  # nothing lost in the split
    assert drafted.loc[drafted.item_id == "a", "order_qty"].tolist() == [40.0, 20.0]
    assert float(orders["value"].sum()) == pytest.approx(60 * 1 + 50 * 2)


def test_a_budget_keeps_the_lines_with_the_largest_value_at_risk():
    t = table([("low", "reorder", 4.0, 5.0, 10.0, 7, 3.0, 10.0),     # at risk 1 x 10 = 10, value 60
               ("high", "reorder", 0.0, 8.0, 10.0, 7, 1.0, 10.0),    # at risk 80, value 100
               ("mid", "reorder", 2.0, 6.0, 10.0, 7, 2.0, 10.0)])    # at risk 40, value 80
    lines = proposal_lines(t, links([]), {})
    kept, dropped = apply_budget(lines, 190.0)
    assert sorted(kept["item_id"]) == ["high", "mid"] and dropped["item_id"].tolist() == ["low"]
    assert kept["order_value"].sum() <= 190.0
    assert len(apply_budget(lines, None)[0]) == 3


def test_ok_lines_carry_no_quantity_so_page_total_equals_the_exports_sum():
    from app.tables import reorder_totals
    from forecasting.applications.inventory.calculator import InventoryCalculator
    from forecasting.core.models.base import SamplePaths

    ids = ["due", "ok_below_up_to", "ok"]
    inv = pd.DataFrame({"item_id": ids, "on_hand": [0.0, 20.0, 100.0], "on_order": 0.0, "lead_time_days": 3,
                        "review_period_days": 7, "unit_cost": [1.234, 2.0, 3.0]})
    paths = SamplePaths(item_ids=np.array(ids, dtype=object), first_date=np.array(["2024-03-01"] * 3,
                        dtype="datetime64[ns]"), values=np.full((3, 2, 28), 2.0))
    plan = InventoryCalculator.from_paths(paths, inv, "test").set_index("item_id")
    assert plan.loc["ok_below_up_to", "action"] == "ok" and np.isnan(plan.loc["ok_below_up_to", "order_qty"])
    assert plan.loc["due", "order_qty"] == 20 and plan.loc["due", "order_value"] == 24.68  # cents per line
    assert reorder_totals(plan.reset_index())["value"] == plan["order_value"].sum(skipna=True) == 24.68


def test_a_budget_never_leaves_an_order_below_its_suppliers_minimum():
    # S needs 150 a order: a (at risk 100, value 100) and b (at risk 10, value 60) together make 160
    # T has no minimum: c (at risk 50, value 80)
    t = table([("a", "reorder", 0.0, 10.0, 10.0, 7, 1.0, 10.0),
               ("b", "reorder", 4.0, 5.0, 10.0, 7, 3.0, 10.0),
               ("c", "reorder", 0.0, 5.0, 8.0, 7, 2.0, 10.0)])
    ln = links([("a", "S", 1.0, 0.0, 10.0, ""), ("b", "S", 1.0, 0.0, 10.0, ""), ("c", "T", 1.0, 0.0, 10.0, "")])
    terms = {"S": SupplierTerms("S", min_order_value=150.0), "T": SupplierTerms("T")}
    drafted, _ = draft_orders(proposal_lines(t, ln, {}), terms)
    assert drafted.set_index("item_id")["value_at_risk"].to_dict() == {"a": 100.0, "b": 10.0, "c": 50.0}
    # 190: by value at risk a (100) then c (80) fit, b (60) does not: S would hold 100 < 150, so S goes whole
    # and its money goes to the next lines (c only: nothing else is left)
    kept, dropped = apply_budget(drafted, 190.0, terms)
    assert kept["item_id"].tolist() == ["c"] and sorted(dropped["item_id"]) == ["a", "b"]
    # without the terms the cap alone would have kept a and c (the rule the minimum overrides)
    assert sorted(apply_budget(drafted, 190.0)[0]["item_id"]) == ["a", "c"]
    # 240 holds S whole (160) and c (80): nothing is cut, nothing dropped
    assert sorted(apply_budget(drafted, 240.0, terms)[0]["item_id"]) == ["a", "b", "c"]
    # an order whole within the budget stays even when it was drafted below its minimum (no cut by the cap)
    small = {"S": SupplierTerms("S", min_order_value=500.0), "T": SupplierTerms("T")}
    assert sorted(apply_budget(drafted, 240.0, small)[0]["item_id"]) == ["a", "b", "c"]


def test_an_item_with_nothing_left_to_order_gets_no_line():
    # "order now" (short before its approved order arrives) but its position already reaches the order-up-to level
    t = table([("covered", "reorder", 30.0, 5.0, 30.0, 0, 1.0, 1.0), ("short", "reorder", 0.0, 5.0, 10.0, 0, 1.0, 1.0)])
    lines = proposal_lines(t, links([]), {})
    assert lines["item_id"].tolist() == ["short"] and lines["qty_rounded"].tolist() == [10.0]
