"""The published plan on the Forecast page, the plan on the Reorder page and FVA on Compare, through AppTest."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.services.planning import PlanningService
from tests.support.app import login, open_page, plotly_traces, table_with
from tests.support.demo_database import ADMIN, OTHER_CLIENT_PLANNER, PLANNER


def _forecast_page(user=PLANNER):
    return open_page(login(user.username, user.password), "forecast")


def test_a_planner_makes_the_plan_overrides_an_item_and_reverts_it(backend):
    client = backend.client_id("Demo Foods")
    planning = PlanningService(backend.data, backend.forecasts)  # the same database, reached directly
    planning.set_planning_model(client, "ma7")  # the admin's setting (the Admin page's test sets it there)
    at = _forecast_page()
    assert not at.exception
    assert any("planning model ma7" in i.value for i in at.info)
    at.button(key="plan_make").click()
    at = at.run()
    assert not at.exception and not at.error
    current = planning.current_plan(client)
    assert current is not None and current.model == "ma7"
    item = at.selectbox(key="plan_item").value
    traces = {t["name"]: t for t in plotly_traces(at)}
    assert {"History", "Plan", "Final"} <= set(traces)
    np.testing.assert_allclose(traces["Plan"]["y"], traces["Final"]["y"])

    at.number_input(key="plan_form_change").set_value(50.0)
    at.selectbox(key="plan_form_reason").set_value("promotion")
    at.text_input(key="plan_form_note").input("flyer")
    at.button(key="plan_form_apply").click()
    at = at.run()
    assert not at.exception and not at.error
    traces = {t["name"]: t for t in plotly_traces(at)}
    plan_y, final_y = np.asarray(traces["Plan"]["y"]), np.asarray(traces["Final"]["y"])
    np.testing.assert_allclose(final_y[:28], plan_y[:28] * 1.5)  # the form's default range: the first 4 weeks
    np.testing.assert_allclose(final_y[28:], plan_y[28:])
    history = table_with(at, "override_id", "created_by")
    assert history["created_by"].tolist() == [PLANNER.username] and history["note"].tolist() == ["flyer"]

    # the Reorder page uses the plan with the override, and says so
    reorder = open_page(at, "reorder")
    reorder.radio(key="ro_scope").set_value("Chosen items")
    reorder = reorder.run()
    reorder.multiselect(key="ro_items").set_value([item])
    reorder.button(key="ro_run").click()
    reorder = reorder.run()
    assert not reorder.exception and not reorder.error
    shown = table_with(reorder, "order_up_to", "action")
    expected = backend.forecasts.reorder(client, [item])
    assert shown["model"].iloc[0].startswith(f"plan {current.plan_id} ")
    np.testing.assert_allclose(shown["order_up_to"], expected["order_up_to"], rtol=1e-12)
    fresh = backend.forecasts.reorder(client, [item], model="ma7")
    assert expected["order_up_to"].iloc[0] > fresh["order_up_to"].iloc[0]

    at = open_page(reorder, "forecast")
    at.button(key="plan_revert").click()
    at = at.run()
    assert not at.exception
    traces = {t["name"]: t for t in plotly_traces(at)}
    np.testing.assert_allclose(traces["Plan"]["y"], traces["Final"]["y"])
    assert table_with(at, "override_id", "reverted")["reverted"].tolist() == [True]


def test_compare_shows_forecast_value_added_or_says_there_is_nothing_to_score(backend):
    at = open_page(login(PLANNER.username, PLANNER.password), "compare")
    assert not at.exception
    assert any("Nothing to score yet" in i.value for i in at.info)


@pytest.mark.parametrize("user", [OTHER_CLIENT_PLANNER])
def test_another_client_never_sees_the_first_clients_plan_or_overrides(backend, user):
    planning = PlanningService(backend.data, backend.forecasts)
    demo = backend.client_id("Demo Foods")
    planning.make_plan(demo, "ma7", 28)
    item = planning.final(demo)[1]["item_id"].iloc[0]
    _, final = planning.final(demo, [item])
    planning.add_overrides(demo, pd.DataFrame([{
        "item_id": item, "start_date": str(final["date"].min().date()), "end_date": str(final["date"].max().date()),
        "change": "10", "kind": "percent", "reason": "event", "note": "secret"}]), "ann")
    at = _forecast_page(user)
    assert not at.exception
    assert any("No published plan yet" in i.value for i in at.info)
    assert "secret" not in str([d.value for d in at.dataframe])


def test_the_attention_page_uses_the_plan_and_recomputes_after_an_override(backend):
    planning = PlanningService(backend.data, backend.forecasts)
    demo = backend.client_id("Demo Foods")
    plan = planning.make_plan(demo, "ma7", 28).plan
    at = open_page(login(PLANNER.username, PLANNER.password), "attention")
    assert not at.exception
    caption = next(c.value for c in at.caption if "Run #" in c.value)
    assert f"demand from the published plan {plan.plan_id} (ma7" in caption
    item = planning.final(demo)[1]["item_id"].iloc[0]
    first = str(plan.as_of + pd.Timedelta(days=1))[:10]
    planning.add_overrides(demo, pd.DataFrame([{"item_id": item, "start_date": first, "end_date": first,
                                                "change": "0", "kind": "total", "reason": "event", "note": ""}]),
                           "ann")
    at = open_page(at, "attention")
    caption = next(c.value for c in at.caption if "Run #" in c.value)
    assert "computed now" in caption


def test_the_plans_chart_and_grid_follow_the_pages_item_picker(backend):
    planning = PlanningService(backend.data, backend.forecasts)
    demo = backend.client_id("Demo Foods")
    planning.make_plan(demo, "ma7", 28)
    planned = sorted(planning.final(demo)[1]["item_id"].unique())
    at = _forecast_page()
    def ids(options: list[str]) -> list[str]:
        return [o.split(" - ")[0] for o in options]

    assert ids(at.selectbox(key="plan_item").options) == planned[:50]  # nothing picked: the plan's first items
    chosen = planned[3:5]
    at.multiselect(key="fc_items").set_value(chosen)
    at = at.run()
    assert not at.exception
    picker = at.selectbox(key="plan_item")
    assert picker.value == chosen[0] and ids(picker.options) == chosen
    grid = next(d.value for d in at.dataframe if d.key == "plan_grid")
    assert sorted(grid.index) == chosen  # the editable weekly grid: the chosen items only
    traces = {t["name"]: t for t in plotly_traces(at)}
    _, final = planning.final(demo, [chosen[0]])
    np.testing.assert_allclose(traces["Plan"]["y"], final["baseline"])


def test_the_admin_sets_the_planning_model_and_a_planner_cannot(backend):
    demo = backend.client_id("Demo Foods")
    planning = PlanningService(backend.data, backend.forecasts)
    refused = open_page(login(PLANNER.username, PLANNER.password), "admin")
    assert [t.value for t in refused.title] == ["Attention"]  # a planner has no Admin page (and no setting on it)
    at = open_page(login(ADMIN.username, ADMIN.password), "admin")
    assert not at.exception
    assert at.selectbox(key="adm_plan_model").value == "auto"
    assert at.button(key="adm_plan_save").disabled  # nothing to save yet
    at = at.selectbox(key="adm_plan_model").set_value("seasonal-naive").run()
    at.button(key="adm_plan_save").click()
    at = at.run()
    assert not at.exception and any("now seasonal-naive" in s.value for s in at.success)
    assert planning.planning_model(demo) == "seasonal-naive"
    other = backend.client_id("Northwind Retail")
    assert planning.planning_model(other) == "auto"  # another client's setting is its own
    forecast = open_page(at, "forecast")
    assert any("planning model seasonal-naive" in i.value for i in forecast.info)
