"""The published plan, overrides, the plan as the reorder table's demand, and FVA, on SQLite and PostgreSQL."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.calculator import (
    N_PATHS,
    SEED,
    InventoryCalculator,
)
from forecasting.core.calendar import Frequency
from forecasting.core.errors import ForecastingError, InvalidInputError, NotFoundError
from forecasting.modes.factory import ModelFactory
from forecasting.services.planning import PlanningService
from forecasting.storage.plans import plan_retention_days
from tests.support.db import inventory_frame, table_counts

START = pd.Timestamp("2024-01-01")
DAYS = 28
AS_OF = START + pd.Timedelta(days=DAYS - 1)  # 2024-01-28


def constant_sales(values: dict[str, float], days: int = DAYS, start: pd.Timestamp = START) -> pd.DataFrame:
    return pd.DataFrame([{"item_id": i, "date": start + pd.Timedelta(days=k), "quantity": v}
                         for i, v in values.items() for k in range(days)])


def override_rows(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(["item_id", "start_date", "end_date", "change", "kind", "reason", "note"], r))
                         for r in rows])


def day(k: int) -> str:
    """The k-th day after the as-of date (day 1 is the plan's first bucket)."""
    return str((AS_OF + pd.Timedelta(days=k)).date())


@pytest.fixture
def planning(data, service):
    client = data.create_client("Planned").client_id
    data.import_sales(client, constant_sales({"A": 10.0, "B": 10.0}))
    data.import_inventory(client, inventory_frame(["A", "B"], lead_time_days=3, on_hand=50.0))
    planning = PlanningService(data, service)
    planning.set_planning_model(client, "ma7")  # re-plans after imports use it
    return client, planning


def test_a_plan_is_published_once_per_data_and_reused(planning, data):
    client, plans = planning
    first = plans.make_plan(client, "ma7", 28)
    assert not first.reused and first.plan.as_of == AS_OF.date() and first.plan.model == "ma7"
    again = plans.make_plan(client, "ma7", 28)
    assert again.reused and again.plan.plan_id == first.plan.plan_id
    _, table = plans.plan_table(client)
    assert list(table.columns[:4]) == ["item_id", "date", "baseline", "final"]
    assert (table["baseline"] == 10.0).all() and (table["final"] == table["baseline"]).all()
    assert len(table) == 2 * 28 and str(table["date"].min()) == day(1)


def test_plus_50_percent_over_a_week_moves_the_reorder_table_exactly_as_documented(planning, data, service):
    client, plans = planning
    plans.make_plan(client, "ma7", 28)
    plans.add_overrides(client, override_rows(("A", day(1), day(7), 50, "percent", "promotion", "flyer")), "ann")
    _, final = plans.final(client, ["A"])
    assert final["final"].tolist() == [15.0] * 7 + [10.0] * 21
    outcome = service.reorder_plan(client, ["A"])
    assert outcome.plan_id == plans.current_plan(client).plan_id
    assert outcome.demand.startswith("plan ") and outcome.table["model"].iloc[0] == outcome.demand
    # independent reference: ma7's own paths with week 1 multiplied by 1.5, through the policy
    history = data.history(client, ["A"])
    inventory = data.inventory(client, ["A"]).drop(columns="as_of")
    paths = ModelFactory.create("ma7").sample_paths(history, InventoryCalculator.required_horizon(inventory),
                                                    n_paths=N_PATHS, seed=SEED)
    values = paths.values.copy()
    values[:, :, :7] *= 1.5
    lead_review = values[0, :, :10].sum(axis=1)  # L + R = 3 + 7 days
    assert outcome.table["order_up_to"].iloc[0] == pytest.approx(np.quantile(lead_review, 0.95))
    expected = values[0].mean(axis=0)
    stock = 50.0 - np.cumsum(expected)
    assert outcome.projection["projected_stock"].to_numpy() == pytest.approx(stock)
    assert outcome.projection["expected_demand"].to_numpy()[:7] == pytest.approx(1.5 * paths.values[0, :, :7].mean(0))
    fresh = service.reorder_plan(client, ["A"], model="ma7")
    assert fresh.plan_id is None and fresh.table["order_up_to"].iloc[0] < outcome.table["order_up_to"].iloc[0]


def test_a_unit_override_of_zero_gives_zero_demand(planning, service):
    client, plans = planning
    plans.make_plan(client, "ma7", 28)
    plans.add_overrides(client, override_rows(("A", day(1), day(28), 0, "total", "event", "")), "ann")
    outcome = service.reorder_plan(client, ["A"])
    assert (outcome.projection["expected_demand"] == 0).all()
    row = outcome.table.iloc[0]
    assert row["order_up_to"] == 0 and row["action"] == "ok" and pd.isna(row["order_qty"])  # ok lines: no quantity


def test_a_re_plan_keeps_overrides_and_revert_restores_the_plan(planning, data):
    client, plans = planning
    first = plans.make_plan(client, "ma7", 28).plan
    ids = plans.add_overrides(client, override_rows(("A", day(3), day(9), 50, "percent", "promotion", ""),
                                                    ("B", day(3), day(4), 30, "total", "customer information", "")),
                              "ann")
    data.import_sales(client, constant_sales({"A": 20.0, "B": 20.0}, days=1, start=AS_OF + pd.Timedelta(days=1)))
    second = plans.refresh_after_import(client)
    assert not second.reused and second.plan.plan_id != first.plan_id
    _, final = plans.final(client)
    a = final[final["item_id"] == "A"].set_index("date")
    in_range = a.loc[day(3):day(9)]
    assert (in_range["final"] == in_range["baseline"] * 1.5).all()  # the percentage applies to the new plan
    b = final[final["item_id"] == "B"].set_index("date")
    assert b.loc[day(3):day(4), "final"].sum() == pytest.approx(30)  # the unit value stays
    plans.revert(client, ids[0], "bob")
    _, final = plans.final(client)
    a = final[final["item_id"] == "A"]
    assert (a["final"] == a["baseline"]).all()
    history = plans.overrides(client)
    assert len(history) == 2 and history["reverted"].tolist() == [True, False]
    assert history["reverted_by"].iloc[0] == "bob" and history["created_by"].tolist() == ["ann", "ann"]
    assert history["old_value"].iloc[1] == pytest.approx(20.0) and history["new_value"].iloc[1] == pytest.approx(30)
    with pytest.raises(NotFoundError):
        plans.revert(client, ids[0], "bob")  # already reverted


def test_a_bad_override_file_lists_every_problem_and_imports_nothing(planning, database, tmp_path):
    client, plans = planning
    plans.make_plan(client, "ma7", 28)
    path = tmp_path / "overrides.csv"
    path.write_text(
        "item_id,start_date,end_date,change,kind,reason,note\n"
        f"A,{day(1)},{day(7)},20,percent,promotion,fine\n"
        f"NOPE,{day(1)},{day(7)},20,percent,promotion,\n"
        f"A,{day(7)},{day(1)},20,percent,promotion,\n"
        f"B,{day(1)},{day(2)},-150,percent,correction,\n"
        f"B,{day(20)},{day(40)},5,total,event,\n"
        f"A,{day(1)},{day(2)},5,total,whim,\n"
    )
    before = table_counts(database)
    with pytest.raises(InvalidInputError) as caught:
        plans.import_overrides_file(client, path, "ann")
    text = str(caught.value)
    assert "nothing imported" in text
    for problem in ["unknown item at row 3", "end_date before start_date at row 4", "percentage below -100 at row 5",
                    "outside the plan's horizon", "at row 6", "reason must be one of", "at row 7"]:
        assert problem in text
    assert table_counts(database) == before


def test_fva_equals_a_hand_computation(planning, data):
    client, plans = planning
    plans.make_plan(client, "ma7", 28)
    plans.add_overrides(client, override_rows(("A", day(1), day(7), 50, "percent", "promotion", ""),
                                              ("B", day(1), day(7), -50, "percent", "correction", "")), "ann")
    assert plans.fva(client).empty  # no actuals yet
    actuals = pd.concat([constant_sales({"A": 15.0}, 7, AS_OF + pd.Timedelta(days=1)),
                         constant_sales({"B": 20.0}, 7, AS_OF + pd.Timedelta(days=1))])
    data.import_sales(client, actuals)
    plans.refresh_after_import(client)  # a later plan never replaces the one in force for those days
    table = plans.fva(client).set_index(["level", "key"])
    # A: naive = plan = 10 vs 15 -> 33.33; final 15 -> 0. B: naive = plan = 10 vs 20 -> 50; final 5 -> 75
    a, b, total = table.loc[("item", "A")], table.loc[("item", "B")], table.loc[("total", "total")]
    assert (a["buckets"], a["wape_plan"], a["wape_final"], a["fva_final"]) == (7, pytest.approx(100 / 3), 0,
                                                                                 pytest.approx(100 / 3))
    assert a["fva_plan"] == pytest.approx(0)
    assert (b["wape_naive"], b["wape_plan"], b["wape_final"], b["fva_final"]) == (50, 50, 75, -25)
    # total: |errors| naive 7 x 5 + 7 x 10 = 105, final 0 + 7 x 15 = 105, over 245 units
    assert total["wape_naive"] == pytest.approx(100 * 105 / 245) and total["fva_final"] == pytest.approx(0)
    assert table.loc[("user", "ann"), "buckets"] == 14
    assert table.loc[("reason", "correction"), "fva_final"] == -25


def test_a_second_client_never_sees_changes_or_counts_the_first_clients_overrides(planning, data, service):
    client, plans = planning
    plans.make_plan(client, "ma7", 28)
    ids = plans.add_overrides(client, override_rows(("A", day(1), day(7), 50, "percent", "promotion", "")), "ann")
    other = data.create_client("Other").client_id
    data.import_sales(other, constant_sales({"A": 10.0, "C": 3.0}))
    plans.make_plan(other, "ma7", 28)
    assert plans.overrides(other).empty
    with pytest.raises(NotFoundError):
        plans.revert(other, ids[0], "mallory")
    assert not plans.overrides(client)["reverted"].iloc[0]
    _, final = plans.final(other, ["A"])
    assert (final["final"] == final["baseline"]).all()
    with pytest.raises(InvalidInputError, match="unknown item"):
        plans.add_overrides(client, override_rows(("C", day(1), day(2), 5, "total", "event", "")), "ann")
    data.import_sales(other, constant_sales({"A": 15.0, "C": 3.0}, 7, AS_OF + pd.Timedelta(days=1)))
    assert plans.fva(other)[lambda t: t["level"] == "user"].empty


def test_a_plans_run_is_kept_by_the_stored_results_quota_and_prune_runs(planning, data, service):
    from forecasting.storage import runs
    from forecasting.storage.models import utcnow

    client, plans = planning
    plan = plans.make_plan(client, "ma7", 28).plan
    other = service.forecast(client, ["B"], "seasonal-naive", 7).run_id
    newest = service.forecast(client, ["A"], "ma7", 14).run_id
    with data.database.write() as conn:
        removed = runs.remove_results_beyond(conn, client, keep_values=1, now=utcnow())
    assert removed == [other]  # the newest is always kept, the plan's run is exempt
    assert newest != plan.run_id and len(data.run_forecast(client, plan.run_id)[1]) == 2 * 28
    assert data.prune_runs(client, 0) >= 1
    assert len(data.run_forecast(client, plan.run_id)[1]) == 2 * 28
    assert plans.current_plan(client).plan_id == plan.plan_id
    # how long: the bucket's longest horizon and 35 days (365 days, 104 weeks, 36 months of 30.436875 days)
    assert [plan_retention_days(Frequency.parse(f)) for f in ("D", "W", "M")] == [400, 104 * 7 + 35, 1096 + 35]


def test_a_weekly_client_gets_a_plan_in_weeks_and_overrides_cover_the_weeks_of_their_days(data, service):
    client = data.create_client("Weekly").client_id
    mondays = pd.date_range("2024-01-01", periods=20, freq="7D")  # as of Monday 2024-05-13
    data.import_sales(client, pd.DataFrame({"item_id": "W", "date": mondays, "quantity": 70.0}))
    data.import_inventory(client, inventory_frame(["W"], lead_time_days=7, on_hand=500.0))
    plans = PlanningService(data, service)
    plan = plans.make_plan(client, "ma7").plan  # the default horizon: 91 days are 13 weeks
    assert plan.horizon == 13
    _, table = plans.plan_table(client)
    assert [str(d) for d in table["date"]] == [str(d.date()) for d in pd.date_range("2024-05-20", periods=13,
                                                                                         freq="7D")]
    # Wednesday May 22 to Wednesday June 5 holds days of 3 weeks: 300 units spread like the baseline, 100 each
    plans.add_overrides(client, override_rows(("W", "2024-05-22", "2024-06-05", 300, "total", "event", "")), "ann")
    stored = plans.overrides(client).iloc[0]
    assert (str(stored["start_date"]), str(stored["end_date"])) == ("2024-05-20", "2024-06-03")
    _, final = plans.final(client)
    assert final["final"].tolist() == [100.0] * 3 + [70.0] * 10
    # the horizon is the days its 13 weeks cover; a day of the as-of week is outside it
    with pytest.raises(InvalidInputError) as refused:
        plans.add_overrides(client, override_rows(("W", "2024-05-15", "2024-05-27", 10, "percent", "event", "")),
                            "ann")
    assert "dates outside the plan's horizon (2024-05-20 to 2024-08-18)" in str(refused.value.problems[0])
    # the reorder table's demand is the plan's: lead time 7 days = the first week, overridden to 100
    outcome = service.reorder_plan(client, ["W"])
    assert outcome.plan_id == plan.plan_id
    assert outcome.table["lead_time_demand"].iloc[0] == pytest.approx(100.0)
    assert service.reorder_plan(client, ["W"], model="ma7").table["lead_time_demand"].iloc[0] == pytest.approx(70.0)
    # two more weeks sold 90 each: FVA scores the plan's weeks (naive 70 and plan 70 miss 40, the final 20)
    data.import_sales(client, pd.DataFrame({"item_id": "W", "date": pd.to_datetime(["2024-05-20", "2024-05-27"]),
                                            "quantity": 90.0}))
    total = plans.fva(client).set_index("level").loc["total"]
    assert total["buckets"] == 2 and total["actual"] == 180.0
    assert total["wape_naive"] == pytest.approx(100 * 40 / 180) and total["wape_plan"] == pytest.approx(100 * 40 / 180)
    assert total["wape_final"] == pytest.approx(100 * 20 / 180) and total["fva_final"] == pytest.approx(100 * 20 / 180)


def test_the_planning_model_is_the_clients_own_setting_auto_by_default(data, service):
    client = data.create_client("Setting").client_id
    data.import_sales(client, constant_sales({"A": 10.0}))
    other = data.create_client("Other setting").client_id
    plans = PlanningService(data, service)
    assert plans.planning_model(client) == "auto"
    with pytest.raises(ForecastingError, match="unknown model"):
        plans.set_planning_model(client, "no-such-model")
    assert plans.set_planning_model(client, "Seasonal-Naive") == "seasonal-naive"  # stored by its canonical name
    assert (plans.planning_model(client), plans.planning_model(other)) == ("seasonal-naive", "auto")
    assert plans.make_plan(client, None, 14).plan.model == "seasonal-naive"  # on demand, no model named
    assert plans.make_plan(client, "ma7", 14).plan.model == "ma7"  # a one-off model for this plan only


def test_every_sales_import_through_the_hook_makes_the_plan_again_within_the_request_limits(planning, data):
    client, plans = planning
    assert plans.import_sales(client, constant_sales({"A": 10.0}, 1, AS_OF)).plan is None  # no plan yet
    first = plans.make_plan(client, None, 28).plan
    plans.add_overrides(client, override_rows(("A", day(2), day(8), 50, "percent", "promotion", "")), "ann")
    done = plans.import_sales(client, constant_sales({"A": 20.0, "B": 20.0}, 1, AS_OF + pd.Timedelta(days=1)))
    assert done.result.rows == 2 and not done.problem and not done.plan.reused
    made = done.plan.plan
    assert (made.model, made.horizon, made.as_of) == ("ma7", 28, (AS_OF + pd.Timedelta(days=1)).date())
    assert made.plan_id != first.plan_id and plans.current_plan(client) == made
    assert done.plan_line() == f"plan {made.plan_id} (made), as of {made.as_of}"
    _, final = plans.final(client, ["A"])
    assert (final.set_index("date").loc[day(2):day(8), "final"] > final.set_index("date").loc[day(2):day(8),
                                                                                             "baseline"]).all()
    # a server with request limits too small for the whole plan: the import stands, the plan stays, it says why
    from forecasting.services.forecast_service import ForecastService
    from forecasting.services.limits import RequestLimits

    limited = PlanningService(data, ForecastService(data, RequestLimits(max_forecast_values=10)))
    done = limited.import_sales(client, constant_sales({"A": 30.0, "B": 30.0}, 1, AS_OF + pd.Timedelta(days=2)))
    assert done.result.rows == 2 and done.plan is None and "too big for one request" in done.problem
    assert "the earlier plan stays in force" in done.plan_line()
    assert data.get_client(client).as_of == (AS_OF + pd.Timedelta(days=2)).date()
    assert plans.current_plan(client) == made


def test_a_re_plan_on_the_same_sales_is_in_force_and_only_the_plan_it_replaced_is_released(planning, data, service):
    from forecasting.storage import runs
    from forecasting.storage.models import utcnow

    client, plans = planning
    replaced = plans.make_plan(client, "seasonal-naive", 28).plan
    kept = plans.make_plan(client, "ma7", 28).plan  # same sales, another model: the same as-of date
    assert replaced.as_of == kept.as_of
    newest = service.forecast(client, ["A"], "ma7", 7).run_id
    with data.database.write() as conn:
        removed = runs.remove_results_beyond(conn, client, keep_values=1, now=utcnow())
    assert replaced.run_id in removed and kept.run_id not in removed and newest not in removed
    plans.add_overrides(client, override_rows(("A", day(1), day(7), 50, "percent", "promotion", "")), "ann")
    data.import_sales(client, constant_sales({"A": 15.0, "B": 10.0}, 7, AS_OF + pd.Timedelta(days=1)))
    table = plans.fva(client).set_index(["level", "key"])  # scored against ma7's plan (10 a day), not the removed one
    assert table.loc[("item", "A"), "wape_plan"] == pytest.approx(100 / 3)
    assert table.loc[("item", "A"), "wape_final"] == pytest.approx(0)
