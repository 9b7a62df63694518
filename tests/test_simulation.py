"""The policy simulator (docs/inventory-policy.md, simulator) against hand-computed cases and a plain loop."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.lead_time import (
    order_lead_times,
    sampled_lead_times,
)
from forecasting.applications.inventory.simulation import simulate, summarise
from forecasting.core.errors import InvalidInputError
from forecasting.core.history import (
    PreparedHistory,
    day_numbers_to_dates,
    prepare_history,
)
from forecasting.core.models.base import SamplePaths

END = pd.Timestamp("2024-06-30")


def history_of(demand: dict[str, list[float]]) -> PreparedHistory:
    """Daily sales per item, every series ending on END."""
    frames = [pd.DataFrame({"item_id": item, "date": pd.date_range(end=END, periods=len(q), freq="D"), "quantity": q})
              for item, q in demand.items()]
    return prepare_history(pd.concat(frames, ignore_index=True), 1)


def constant_forecaster(rate_on: dict[int, float] | float):
    """Every path is ``rate`` a day; a dict gives the rate by review day number (the cutoff)."""
    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        day = int(history.last_day.max())
        rate = rate_on if not isinstance(rate_on, dict) else rate_on.get(day, rate_on.get(-1, 0.0))
        values = np.full((history.n_items, 20, horizon), float(rate))
        return SamplePaths(history.item_ids, day_numbers_to_dates(history.last_day + 1), values)
    return forecast


def inventory(item_ids: list[str], **columns) -> pd.DataFrame:
    base = {"item_id": item_ids, "on_hand": 0.0, "on_order": 0.0, "lead_time_days": 7}
    base.update(columns)
    return pd.DataFrame({k: (v if isinstance(v, list) else [v] * len(item_ids)) for k, v in base.items()})


def row(result, item: str = "A") -> pd.Series:
    return result.items.set_index("item_id").loc[item]


# --- hand-made cases ------------------------------------------------------------------------------

def test_lead_time_arrival_day_and_lost_sales_by_hand():
    """Demand 10 a day, a forecast of 5 a day, L = 3, R = 7: S = 5 x 10 = 50 at every review.

    Start with 50: days 1-5 served, days 6-7 lost. Review day 7 orders 50 (IP 0),
    received at the end of day 10 (L = 3 days of demand after the review): days 8-10
    lost, days 11-14 served. 2 reviews = days 1..14.
    """
    hist = history_of({"A": [10.0] * 40})
    result = simulate(hist, inventory(["A"], lead_time_days=3), constant_forecaster(5.0), "test", reviews=2)
    r = row(result)
    assert r["demand"] == 140 and r["served"] == 90 and r["lost"] == 50
    assert r["fill_rate"] == pytest.approx(90 / 140)
    assert r["days_out_of_stock"] == 5  # days 6, 7, 8, 9, 10
    assert r["orders"] == 1  # the review on the last day (14) would arrive after the window: no review there
    assert r["cycles"] == 2 and r["cycles_without_stockout"] == 0
    # end-of-day stock: 40 30 20 10 0 0 0 0 0 0 40 30 20 10
    assert r["avg_stock"] == pytest.approx(200 / 14)
    assert r["turns"] == pytest.approx(90 * 365 / 14 / (200 / 14))
    # S = 50 never covers the next 10 days' real demand (100); both reviews' windows end inside the data
    assert r["reviews_checked"] == 1 and r["reviews_covered"] == 0  # day 14's window ends after the data


def test_zero_lead_time_arrives_the_next_day():
    """L = 0: the order of review day 7 serves day 8 (S = 5 x 7 = 35)."""
    hist = history_of({"A": [10.0] * 40})
    r = row(simulate(hist, inventory(["A"], lead_time_days=0), constant_forecaster(5.0), "test", reviews=2))
    # start 35: days 1-3 served (30), day 4 serves 5; order 35 on day 7 -> days 8-10 (30), day 11 5
    assert r["served"] == 70 and r["lost"] == 70
    assert r["days_out_of_stock"] == 4 + 4  # days 4-7 and 11-14


def test_a_policy_that_never_orders_has_zero_fill_after_the_stock_runs_out():
    """S = 140 at the first review, 0 afterwards: the starting 140 units last 14 days, then nothing."""
    hist = history_of({"A": [10.0] * 200})
    first_review = int(hist.last_day.max()) - 26 * 7
    r = row(simulate(hist, inventory(["A"]), constant_forecaster({first_review: 10.0, -1: 0.0}), "test"))
    assert r["served"] == 140 and r["orders"] == 0
    assert r["fill_rate"] == pytest.approx(140 / (26 * 70))
    assert r["days_out_of_stock"] == 26 * 7 - 14
    assert r["cycles_without_stockout"] == 2


def test_perfect_forecast_with_whole_packs_never_loses_a_sale():
    hist = history_of({"A": [4.0] * 100, "B": [0.0] * 100})
    result = simulate(hist, inventory(["A", "B"], pack_size=6, moq=12, unit_cost=[2.0, 3.0]),
                      constant_forecaster(4.0), "test", reviews=4)
    a, b = row(result, "A"), row(result, "B")
    assert a["fill_rate"] == 1.0 and a["cycle_service"] == 1.0 and a["covered_share"] == 1.0
    assert a["avg_stock_value"] == pytest.approx(2.0 * a["avg_stock"])
    assert math.isnan(b["fill_rate"])  # no demand: no fill rate
    total = summarise(result.items).iloc[0]
    assert total["scope"] == "total" and total["items"] == 2 and total["fill_rate"] == 1.0


def test_reviews_out_of_range_and_missing_history():
    hist = history_of({"A": [1.0] * 30})
    with pytest.raises(InvalidInputError, match="reviews"):
        simulate(hist, inventory(["A"]), constant_forecaster(1.0), "test", reviews=0)
    with pytest.raises(InvalidInputError, match="without sales history"):
        simulate(hist, inventory(["A", "Z"]), constant_forecaster(1.0), "test", reviews=1)


# --- an independent simulation: same forecasts, same rules, a plain loop --------------------------

def random_forecaster(n_paths: int = 60):
    """Poisson paths around the mean of the last 14 days, seeded by item and cutoff day (same paths in any batch)."""
    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        values = np.empty((history.n_items, n_paths, horizon))
        for i in range(history.n_items):
            q = history.quantity[history.starts[i]:history.starts[i] + history.lengths[i]]
            rng = np.random.default_rng([int(history.last_day[i]), int(history.item_ids[i][1:])])
            values[i] = rng.poisson(q[-14:].mean() + 0.3, size=(n_paths, horizon))
        return SamplePaths(history.item_ids, day_numbers_to_dates(history.last_day + 1), values)
    return forecast


def reference(demand: np.ndarray, hist: PreparedHistory, i: int, item: dict, reviews: int, forecaster) -> dict:
    """One item, day by day, written from docs/inventory-policy.md without the simulator's code."""
    lead, rev, level = int(item["lead_time_days"]), int(item["review_period_days"]), item["service_level"]
    std = float(item.get("lead_time_std_days", 0.0))
    pack, moq = item["pack_size"], item["moq"]
    end = len(demand)  # day numbers 1..end; the review days are s, s + R, ...; s = end - reviews x R
    s = end - reviews * rev
    horizon = max(28, lead + rev)
    first_day = int(hist.first_day[i])

    def level_at(day: int) -> float:  # S from the history up to and including `day`
        one = hist.subset(np.arange(hist.n_items) == i)
        one = one.truncate(np.array([first_day + day - 1]), 1)
        paths = forecaster(one, horizon).values[0]
        leads = sampled_lead_times(np.array([lead]), np.array([std]), np.array([item.name]), len(paths))[0]  # one L per path
        return float(np.quantile([p[:lp + rev].sum() for p, lp in zip(paths, leads)], level))

    def rounded(need: float) -> float:
        if need <= 0:
            return 0.0
        packs = math.ceil(round(need / pack, 9))
        return max(packs, math.ceil(round(moq / pack, 9))) * pack

    stock, pipeline = level_at(s), []  # (arrival day, qty)
    served = lost = stock_sum = 0.0
    out_days = orders = clean = 0
    cycle_short = False
    for day in range(s + 1, end + 1):
        for due, qty in [p for p in pipeline if p[0] == day]:
            stock += qty
            pipeline.remove((due, qty))
        want = demand[day - 1]
        give = min(stock, want)
        stock -= give
        served += give
        lost += want - give
        if want - give > 1e-9:
            out_days += 1
            cycle_short = True
        stock_sum += stock
        if (day - s) % rev == 0:
            clean += not cycle_short
            cycle_short = False
            if day < end:
                qty = rounded(level_at(day) - stock - sum(q for _, q in pipeline))
                if qty > 0:
                    orders += 1
                    drawn = order_lead_times(np.array([lead]), np.array([std]), np.array([item.name]),
                                             first_day + day - 1)[0]
                    pipeline.append((day + drawn + 1, qty))  # received at the end of day + L
    return {"served": served, "lost": lost, "avg_stock": stock_sum / (end - s), "days_out_of_stock": out_days,
            "orders": orders, "cycles_without_stockout": clean}


def test_totals_equal_an_independent_plain_loop_simulation():
    rng = np.random.default_rng(3)
    n_days = 160
    demand = {f"I{k}": rng.poisson(lam, n_days).astype(float) * rng.integers(0, 2, n_days)
              for k, lam in enumerate([2.0, 6.0, 0.5, 12.0])}
    hist = history_of(demand)
    inv = inventory(list(demand), lead_time_days=[0, 3, 7, 10], review_period_days=[7, 5, 7, 14],
                    service_level=[0.8, 0.95, 0.9, 0.99], pack_size=[1.0, 4.0, 1.0, 6.0], moq=[0.0, 10.0, 3.0, 0.0],
                    unit_cost=[1.0, 2.5, 4.0, 0.5])
    reviews = 6
    result = simulate(hist, inv, random_forecaster(), "test", reviews=reviews)
    items = result.items.set_index("item_id")
    expected = {}
    for i, item in inv.set_index("item_id").iterrows():
        k = list(hist.item_ids).index(i)
        ref = reference(demand[i], hist, k, item, reviews, random_forecaster())
        expected[i] = ref
        for column, value in ref.items():
            assert items.loc[i, column] == pytest.approx(value), (i, column)
    assert items["orders"].sum() > 5 and items["lost"].sum() > 0  # the case exercises orders and lost sales
    total = summarise(result.items).iloc[0]
    served = sum(e["served"] for e in expected.values())
    assert total["served"] == pytest.approx(served)
    assert total["fill_rate"] == pytest.approx(served / sum(e["served"] + e["lost"] for e in expected.values()))
    assert total["avg_stock"] == pytest.approx(sum(e["avg_stock"] for e in expected.values()))
    assert total["avg_stock_value"] == pytest.approx(
        sum(e["avg_stock"] * c for e, c in zip(expected.values(), inv["unit_cost"])))


def test_sampled_lead_times_of_orders_equal_the_plain_loop_and_do_not_depend_on_the_batch():
    """lead_time_std_days > 0: S from paths with a lead time each, every simulated order its own drawn L."""
    rng = np.random.default_rng(8)
    demand = {f"I{k}": rng.poisson(lam, 150).astype(float) for k, lam in enumerate([3.0, 8.0])}
    hist = history_of(demand)
    inv = inventory(list(demand), lead_time_days=[4, 6], lead_time_std_days=[2.0, 1.5], review_period_days=7,
                    service_level=0.9, pack_size=1.0, moq=0.0, unit_cost=1.0)
    result = simulate(hist, inv, random_forecaster(), "test", reviews=8).items.set_index("item_id")
    alone = simulate(hist.subset(hist.item_ids == "I1"), inv.iloc[[1]], random_forecaster(), "test",
                     reviews=8).items.set_index("item_id")
    for i, item in inv.set_index("item_id").iterrows():
        ref = reference(demand[i], hist, list(hist.item_ids).index(i), item, 8, random_forecaster())
        for column, value in ref.items():
            assert result.loc[i, column] == pytest.approx(value), (i, column)
    assert alone.loc["I1", "served"] == result.loc["I1", "served"]
    days = np.arange(2000)
    drawn = np.array([order_lead_times(np.array([6]), np.array([2.0]), np.array(["X"]), d)[0] for d in days])
    assert abs(drawn.mean() - 6) < 0.15 and abs(drawn.std() - 2) < 0.15 and drawn.min() >= 0
    assert drawn.max() <= 12 and len(set(drawn)) > 5  # L + ceil(3 s) at most
    fixed = order_lead_times(np.array([6, 3]), np.array([0.0, 0.0]), np.array(["X", "Y"]), 5)
    assert fixed.tolist() == [6, 3]


def test_summary_per_class():
    hist = history_of({"A": [10.0] * 60, "B": [10.0] * 60, "C": [2.0] * 60})
    inv = inventory(["A", "B", "C"], lead_time_days=3)
    result = simulate(hist, inv, constant_forecaster(5.0), "test", reviews=2)
    items = result.items.assign(abc=["A", "A", "C"])
    by_class = summarise(items, "abc").set_index("abc")
    assert by_class.loc["A", "items"] == 2 and by_class.loc["A", "served"] == 180  # 90 each (the case above)
    assert by_class.loc["A", "fill_rate"] == pytest.approx(180 / 280)
    assert by_class.loc["C", "fill_rate"] == 1.0  # 2 a day against S = 50


def test_variants_side_by_side_equal_separate_runs():
    rng = np.random.default_rng(5)
    demand = {f"I{k}": rng.poisson(4.0, 120).astype(float) for k in range(3)}
    hist = history_of(demand)
    inv = inventory(list(demand), lead_time_days=[2, 5, 7], pack_size=[1.0, 3.0, 1.0], unit_cost=2.0)
    both = simulate(hist, inv, random_forecaster(), "test", reviews=5,
                    variants=[{"service_level": 0.8}, {"service_level": 0.99}])
    summary = summarise(both.items).set_index("variant")
    for v, level in enumerate([0.8, 0.99]):
        alone = simulate(hist, inv, random_forecaster(), "test", reviews=5, service_level=level).items
        pd.testing.assert_frame_equal(both.items[both.items["variant"] == v].drop(columns="variant")
                                      .reset_index(drop=True), alone.drop(columns="variant"))
    assert summary.loc[1, "avg_stock"] > summary.loc[0, "avg_stock"]
    assert summary.loc[1, "fill_rate"] >= summary.loc[0, "fill_rate"]
    with pytest.raises(InvalidInputError, match="variants"):
        simulate(hist, inv, random_forecaster(), "test", variants=[{"lead_time_days": 3}])


def test_plan_options_come_from_the_history_known_at_each_review():
    hist = history_of({"A": [10.0] * 60})
    seen = []

    def options(known: PreparedHistory) -> dict:
        seen.append(int(known.last_day.max()))
        return {"service_level": 0.5}

    with_options = simulate(hist, inventory(["A"]), random_forecaster_like_a(), "test", reviews=3,
                            plan_options=options)
    as_variant = simulate(hist, inventory(["A"]), random_forecaster_like_a(), "test", reviews=3,
                          variants=[{"service_level": 0.5}])
    pd.testing.assert_frame_equal(with_options.items, as_variant.items)
    end = int(hist.last_day.max())
    assert seen == [end - 21, end - 14, end - 7]


def random_forecaster_like_a():
    """random_forecaster for ids without a number (the seed takes the review day only)."""
    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        rng = np.random.default_rng(int(history.last_day.max()))
        values = rng.poisson(10.0, size=(history.n_items, 40, horizon)).astype(float)
        return SamplePaths(history.item_ids, day_numbers_to_dates(history.last_day + 1), values)
    return forecast


def test_weekly_history_is_replayed_week_by_week_with_the_lead_time_pro_rata():
    """70 a week (10 a day), a forecast of 35 a week, L = 10 days, R = 7 days (one week), 3 reviews.

    S = 35 x (10 + 7) / 7 = 85. An order placed at the end of week t arrives 10 / 7 = 1 3/7 weeks later:
    in week t + 2, after 3/7 of its demand (30 units, the daily rule: received at the end of day t + 10).
    Week 1: 85 on hand, serves 70 (15 left); orders 70 (arrives in week 3). Week 2: 15 served, 55 lost;
    orders 85 - 70 = 15. Week 3: the first 30 lost (no stock), then 70 arrive and serve 40; 30 left.
    """
    from forecasting.core.calendar import Frequency

    fri = Frequency("W", 4)
    weekly = pd.DataFrame({"item_id": "A", "date": pd.date_range(end="2024-06-28", periods=30, freq="W-FRI"),
                           "quantity": 70.0})
    hist = prepare_history(weekly, 1)
    assert hist.freq == fri

    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        values = np.full((history.n_items, 20, horizon), 35.0)
        return SamplePaths(history.item_ids, history.dates(history.last_day + 1), values, history.freq)

    r = row(simulate(hist, inventory(["A"], lead_time_days=10, review_period_days=7), forecast, "test", reviews=3))
    assert r["demand"] == 210 and r["served"] == pytest.approx(125) and r["lost"] == pytest.approx(85)
    assert r["orders"] == 2 and r["cycles"] == 3 and r["cycles_without_stockout"] == 1
    # days without stock, demand spread over the week: 55 / 70 x 7 = 5.5 in week 2, 30 / 70 x 7 = 3 in week 3
    assert r["days_out_of_stock"] == pytest.approx(8.5)
    assert r["days"] == 21 and r["avg_stock"] == pytest.approx((15 + 0 + 30) / 3)
    assert r["turns"] == pytest.approx(125 * 365 / 21 / 15)
    # the first review's S (85) against the real demand of the next 17 days (170), inside the data
    assert r["reviews_checked"] == 1 and r["reviews_covered"] == 0


def test_review_periods_in_whole_buckets():
    from forecasting.applications.inventory.simulation import review_buckets
    from forecasting.core.calendar import Frequency

    assert review_buckets(np.array([7, 10, 14, 3]), Frequency("W", 4)).tolist() == [1, 1, 2, 1]
    assert review_buckets(np.array([30, 60, 90, 7]), Frequency("M", 0)).tolist() == [1, 2, 3, 1]
    assert review_buckets(np.array([5, 7]), Frequency("D")).tolist() == [5, 7]


def test_monthly_history_with_a_perfect_forecast_loses_only_what_the_longer_month_adds():
    """300 a month, forecast 300 a month, L = 10 days, R = 30 days (one month), 2 reviews; b = 30.4375 days.

    S = 300 x 40 / b = 394.25. An order placed at the end of a month is received 10 / b = 0.3285 into the
    next, after 98.56 units of its demand: month 1 serves 300 from 394.25 (94.25 left) and orders 300;
    month 2 serves the 94.25 left, loses 4.31 before the order arrives, then serves 201.44 of the 300
    (98.56 left). The loss is exactly the 0.4375 day a month (the review bucket) is longer than R = 30
    days, which S does not cover: 300 x (b - 30) / b.
    """
    b = 365.25 / 12
    monthly = pd.DataFrame({"item_id": "A", "date": pd.date_range(end="2024-06-01", periods=24, freq="MS"),
                            "quantity": 300.0})
    hist = prepare_history(monthly, 1)

    def forecast(history: PreparedHistory, horizon: int) -> SamplePaths:
        values = np.full((history.n_items, 20, horizon), 300.0)
        return SamplePaths(history.item_ids, history.dates(history.last_day + 1), values, history.freq)

    r = row(simulate(hist, inventory(["A"], lead_time_days=10, review_period_days=30), forecast, "test", reviews=2))
    lost = 300 * (b - 30) / b
    assert r["served"] == pytest.approx(600 - lost) and r["lost"] == pytest.approx(lost) and r["orders"] == 1
    assert r["avg_stock"] == pytest.approx((300 * 40 / b - 300 + 300 * 10 / b) / 2) and r["days"] == pytest.approx(2 * b)
    assert r["days_out_of_stock"] == pytest.approx(b - 30) and r["cycles_without_stockout"] == 1
