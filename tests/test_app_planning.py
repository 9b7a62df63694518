"""The published plan on the Forecast page, the plan on the Reorder page and FVA on Compare, through AppTest."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.services.planning import PlanningService
from tests.support.app import login, open_page, plotly_traces, table_with
from tests.support.demo_database import OTHER_CLIENT_PLANNER, PLANNER


def _forecast_page(user=PLANNER):
    return open_page(login(user.username, user.password), "forecast")


def test_a_planner_makes_the_plan_overrides_an_item_and_reverts_it(backend):
    at = _forecast_page()
    assert not at.exception
    at.selectbox(key="plan_model").set_value("ma7")
    at.button(key="plan_make").click()
    at = at.run()
    assert not at.exception and not at.error
    client = backend.client_id("Demo Foods")
    planning = PlanningService(backend.data, backend.forecasts)  # the same database, reached directly
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
