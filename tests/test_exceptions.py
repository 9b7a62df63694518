"""The attention queue: each exception rule on hand-made numbers, the ranking, and the service (both databases)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.exceptions import rules
from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.core.models.base import SamplePaths
from tests.support.db import inventory_frame, sales_frame

AS_OF = pd.Timestamp("2024-02-29")


def _plan(inventory: pd.DataFrame, demand: float = 10.0):
    ids = inventory["item_id"].tolist()
    paths = SamplePaths(np.array(ids, dtype=object), np.full(len(ids), np.datetime64("2024-03-01"), "datetime64[ns]"),
                        np.full((len(ids), 40, 28), demand))
    return InventoryCalculator.plan_from_paths(paths, inventory, "test")


def _items(ids, **columns) -> pd.DataFrame:
    base = {"item_id": ids, "name": [f"name {i}" for i in ids], "category": "c", "unit_cost": 2.0,
            "on_hand": 0.0, "last_date": AS_OF, "history_buckets": 400}
    base.update(columns)
    return pd.DataFrame({k: v if isinstance(v, list) else [v] * len(ids) for k, v in base.items()})


def test_stock_out_before_an_order_could_arrive_with_its_shortfall():
    # 10 a day; "late" has 25 on hand and lead time 5: out on day 3, an order today comes on day 5, 25 short
    inventory = pd.DataFrame({"item_id": ["late", "fine"], "on_hand": [25.0, 200.0], "on_order": [0.0, 0.0],
                              "lead_time_days": [5, 5], "review_period_days": [7, 7]})
    plan = _plan(inventory)
    flag = rules.stockouts_before_arrival(plan.table, plan.projection)
    assert flag.item_ids.tolist() == ["late"] and flag.units.tolist() == [25.0]
    assert flag.detail == ["runs out on 2024-03-03; an order today arrives after 5 days, 25 units short by then"]


def test_below_reorder_point_and_excess_stock():
    inventory = pd.DataFrame({"item_id": ["low", "high", "ok"], "on_hand": [30.0, 500.0, 80.0],
                              "on_order": [10.0, 0.0, 0.0], "lead_time_days": [5, 5, 5],
                              "review_period_days": [7, 7, 7]})
    plan = _plan(inventory)  # reorder point 50, order-up-to 120
    low = rules.below_reorder_point(plan.table)
    assert low.item_ids.tolist() == ["low"] and low.units.tolist() == [10.0]  # 50 - (30 + 10)
    high = rules.excess_stock(plan.table)
    assert high.item_ids.tolist() == ["high"] and high.units.tolist() == [380.0]  # 500 - 120 > 2 x 120


def test_no_sales_for_a_long_time_counts_back_from_the_as_of_date():
    items = _items(["silent", "recent", "month"], on_hand=[12.0, 5.0, 5.0],
                   last_date=[AS_OF - pd.Timedelta(days=60), AS_OF, AS_OF - pd.Timedelta(days=30)])
    flag = rules.silent_items(items, AS_OF)
    assert flag.item_ids.tolist() == ["silent"] and flag.units.tolist() == [12.0]  # 30 days is not yet long
    assert flag.detail == ["last sale 2023-12-31, 60 days before the data's as-of date"]


def test_persistent_forecast_bias_from_stored_forecasts_against_actuals():
    days = pd.date_range(end=AS_OF, periods=20)
    compared = pd.concat([
        pd.DataFrame({"item_id": "over", "date": days, "forecast": 15.0, "actual": 10.0}),  # +50% every day
        pd.DataFrame({"item_id": "noisy", "date": days, "forecast": 10.0,
                      "actual": np.tile([5.0, 15.0], 10)}),  # right on average
        pd.DataFrame({"item_id": "few", "date": days[-5:], "forecast": 30.0, "actual": 10.0}),  # too few days
    ])
    stats = rules.bias_by_item(compared, AS_OF).set_index("item_id")
    assert stats.loc["over", "bias"] == pytest.approx(0.5) and stats.loc["noisy", "bias"] == pytest.approx(0.0)
    flag = rules.biased(compared, AS_OF)
    assert flag.item_ids.tolist() == ["over"] and flag.units.tolist() == [100.0]  # 20 days x 5 units
    assert flag.detail == ["forecasts above the actuals by 50% over the last 20 days"]


def test_the_queue_ranks_by_urgency_then_value_and_lists_each_item_once():
    inventory = pd.DataFrame({"item_id": ["a", "b", "c"], "on_hand": [25.0, 35.0, 500.0], "on_order": 0.0,
                              "lead_time_days": 5, "review_period_days": 7})
    plan = _plan(inventory)
    items = _items(["a", "b", "c", "d", "e"], unit_cost=[1.0, 10.0, 3.0, 2.0, np.nan],
                   on_hand=[25.0, 35.0, 500.0, 8.0, 4.0],
                   last_date=[AS_OF, AS_OF, AS_OF, AS_OF - pd.Timedelta(days=90), pd.NaT],
                   history_buckets=[400, 400, 400, 400, 0])
    empty = pd.DataFrame(columns=["item_id", "date", "forecast", "actual"])
    queue = rules.attention_queue(plan.table, plan.projection, items, empty, AS_OF, ["e"], 7)
    assert list(queue.columns) == rules.EXCEPTION_COLUMNS
    assert queue["item_id"].tolist() == ["b", "a", "d", "c", "e"]
    assert queue["reason"].tolist() == [rules.STOCKOUT, rules.STOCKOUT, rules.SILENT, rules.EXCESS, rules.SHORT]
    b = queue.set_index("item_id").loc["b"]
    assert (b["units"], b["value_at_risk"]) == (15.0, 150.0)  # 35 on hand, 50 needed by day 5, 10 each
    assert b["other_reasons"] == rules.BELOW_ROP and queue["rank"].tolist() == [1, 2, 3, 4, 5]
    e = queue.set_index("item_id").loc["e"]
    assert np.isnan(e["value_at_risk"]) and e["detail"] == "no sales history yet"  # no unit cost: no value


def test_the_service_queue_is_cached_until_the_data_changes(service, data):
    client = data.create_client("Acme").client_id
    busy = sales_frame({"BUSY": 20.0, "LOW": 6.0}, days=120, start="2024-01-01")
    stopped = sales_frame({"STOPPED": 5.0}, days=60, start="2024-01-01")  # nothing in the last 60 days
    month = sales_frame({"MONTH": 5.0}, days=90, start="2024-01-01")  # last sale 30 days before the end
    data.import_sales(client, pd.concat([busy, stopped, month], ignore_index=True))
    data.import_inventory(client, inventory_frame(["BUSY", "LOW", "STOPPED", "MONTH"], lead_time_days=10,
                                                  on_hand=30.0))
    first = service.exceptions(client)
    assert not first.cached and str(first.as_of) == "2024-04-29"
    reasons = first.queue.set_index("item_id")["reason"]
    assert reasons["BUSY"] == rules.STOCKOUT and reasons["STOPPED"] == rules.SILENT
    assert "MONTH" not in reasons.index  # its zero days count: no stock-out, and 30 days is not long
    plan = service.reorder_plan(client, ["MONTH"])
    assert pd.isna(plan.table["stockout_date"].iloc[0])  # never a stock-out date in the past
    again = service.exceptions(client)
    assert again.cached and again.queue.equals(first.queue)
    data.update_item(client, "LOW", unit_cost=9.0)
    assert not service.exceptions(client).cached
    runs = data.list_runs(client)
    assert runs["kind"].tolist() == ["exceptions", "exceptions", "reorder", "exceptions"]  # newest first
    assert runs["cached"].tolist() == [False, True, False, False]


def _late_order_plan():
    # 10 a day, lead time 5 (an order placed today arrives on 2024-03-05, day 5), reorder point 50.
    # Stock on order is due on day 10 (late) or day 4; the reorder plan and the queue must agree.
    inventory = pd.DataFrame({
        "item_id": ["short", "almost", "refilled", "low"],
        "on_hand": [48.6, 49.6, 25.0, 40.0],  # day 5: 1.4 short; 0.4 "short"; out on day 3 but refilled day 4
        "on_order": [10.0, 10.0, 100.0, 0.0],
        "on_order_due": pd.to_datetime(["2024-03-10", "2024-03-10", "2024-03-04", None]),
        "lead_time_days": 5, "review_period_days": 7,
    })
    return _plan(inventory)


def test_a_shortage_rounds_to_at_least_one_unit_and_none_prints_minus_zero():
    plan = _late_order_plan()
    flag = rules.stockouts_before_arrival(plan.table, plan.projection)
    assert flag.item_ids.tolist() == ["low", "short"]  # 0.4 units is not a shortage; "refilled" is 75 in stock
    assert flag.units == pytest.approx([10.0, 1.4])
    assert flag.detail[1] == "runs out on 2024-03-05; an order today arrives after 5 days, 1 units short by then"
    assert rules.whole(-0.3) == "0" and rules.whole(0.4) == "0" and rules.whole(1234.5) == "1,234"


def test_the_urgent_items_are_exactly_the_reorder_tables_order_now_items():
    plan = _late_order_plan()
    items = _items(plan.table["item_id"].tolist())
    empty = pd.DataFrame(columns=["item_id", "date", "forecast", "actual"])
    queue = rules.attention_queue(plan.table, plan.projection, items, empty, AS_OF, [], 7)
    urgent = set(queue.loc[queue["reason"].isin(rules.URGENT), "item_id"])
    action = plan.table.set_index("item_id")["action"]
    # "short" has a position of 58.6 over the reorder point 50, but its stock on order comes after the lead time
    assert dict(action) == {"short": "reorder", "almost": "ok", "refilled": "ok", "low": "reorder"}
    assert urgent == {"short", "low"} == set(action[action == "reorder"].index)
    assert not queue["detail"].str.contains(r"(?<![\d-])-0\b").any()  # "-0 units", not a date's "-03"


def test_totals_split_shortage_from_excess_value_and_the_filters_keep_unknown_values():
    queue = pd.DataFrame({
        "item_id": list("abcdef"), "category": list("xxyyxy"),
        "reason": [rules.STOCKOUT, rules.BELOW_ROP, rules.EXCESS, rules.SILENT, rules.BIAS, rules.EXCESS],
        "value_at_risk": [100.0, 2.0, 30.0, 5.0, 7.0, np.nan],
    })
    assert rules.queue_totals(queue) == {"items": 6, "urgent": 2, "shortage_value": 102.0, "excess_value": 35.0,
                                         "no_cost": 1}
    assert rules.filter_queue(queue, min_value=6.0)["item_id"].tolist() == ["a", "c", "e", "f"]  # f: unknown
    assert rules.filter_queue(queue, [rules.EXCESS], ["y"])["item_id"].tolist() == ["c", "f"]
    assert rules.queue_totals(rules.filter_queue(queue, categories=["x"]))["excess_value"] == 0.0
