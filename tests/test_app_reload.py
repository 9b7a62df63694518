"""A reload keeps the page's selections and its last result: the address holds them (AppTest, fresh sessions).

A fresh AppTest with the address of the first one is what a browser reload is: a new
session with the same URL. tests/e2e/test_e2e_reload.py does it in Chromium.
"""
from __future__ import annotations

from tests.support.app import login, new_app, open_page, plotly_traces, table_with, texts
from tests.support.demo_database import PLANNER

ITEMS = ["DF-0001", "DF-0002", "DF-0003"]


def _planner_on(path: str, query_params: dict | None = None):
    at = new_app()
    at.query_params.update(query_params or {})
    return open_page(login(PLANNER.username, PLANNER.password, at.run()), path)


def test_forecast_reload_restores_the_settings_and_the_result_from_the_cache(backend):
    at = _planner_on("forecast")
    at.multiselect(key="fc_items").set_value(ITEMS)
    at.number_input(key="fc_horizon").set_value(21)
    at.selectbox(key="fc_model").set_value("ses")
    at.multiselect(key="fc_bands").set_value([])
    at.button(key="fc_run").click()
    at = at.run()
    at.selectbox(key="fc_chart_item").set_value("DF-0002")
    at = at.run()
    assert at.query_params["shown"] == "fc"

    again = _planner_on("forecast", at.query_params)
    assert not again.exception and not again.error
    assert again.multiselect(key="fc_items").value == ITEMS
    assert again.number_input(key="fc_horizon").value == 21
    assert again.selectbox(key="fc_model").value == "ses"
    assert again.multiselect(key="fc_bands").value == []  # an empty choice is not the default (50%, 80%)
    assert again.selectbox(key="fc_chart_item").value == "DF-0002"
    assert again.caption[0].value.startswith("From the cache")  # answered at once, nothing recomputed
    assert [t["name"] for t in plotly_traces(again)] == ["History", "Forecast"]
    assert plotly_traces(again)[1]["y"].tolist() == plotly_traces(at)[1]["y"].tolist()


def test_forecast_without_a_result_does_not_run_on_reload(backend):
    at = _planner_on("forecast")
    at.multiselect(key="fc_items").set_value(ITEMS[:1])
    at = at.run()
    assert "shown" not in at.query_params and at.query_params["items"] == "DF-0001"
    again = _planner_on("forecast", at.query_params)
    assert again.multiselect(key="fc_items").value == ITEMS[:1]
    assert [t["name"] for t in plotly_traces(again)] == ["Units sold"]  # the landing view
    kinds = set(backend.data.list_runs(backend.client_id("Demo Foods"))["kind"])
    assert "forecast" not in kinds


def test_an_edited_address_never_breaks_the_page(backend):
    address = {"items": ["DF-0001", "NOPE"], "horizon": "many", "model": "magic", "bands": ["80", "33", "x"],
               "score": "perhaps", "shown": "fc"}
    at = _planner_on("forecast", address)
    assert not at.exception and not at.error
    assert at.multiselect(key="fc_items").value == ["DF-0001"]
    assert at.number_input(key="fc_horizon").value == 28 and at.selectbox(key="fc_model").value == "ma7"
    assert at.multiselect(key="fc_bands").value == [80] and at.toggle(key="fc_score").value is False
    assert at.caption[0].value.startswith("Computed now")  # the restored result: the settings that survived


def test_compare_reload_restores_models_and_result(backend):
    at = _planner_on("compare")
    at.multiselect(key="cmp_items").set_value(ITEMS)
    at.multiselect(key="cmp_models").set_value(["ma7", "croston-sba", "ses"])
    at.number_input(key="cmp_horizon").set_value(14)
    at.multiselect(key="cmp_bands").set_value([90])
    at.button(key="cmp_run").click()
    at = at.run()
    before = table_with(at, "metric", "best")

    again = _planner_on("compare", at.query_params)
    assert not again.exception and not again.error
    assert again.multiselect(key="cmp_models").value == ["ma7", "croston-sba", "ses"]
    assert again.multiselect(key="cmp_bands").value == [90]
    after = table_with(again, "metric", "best")
    assert after.equals(before)  # the same scores: same data, settings and seeds


def test_reorder_and_attention_reload_keep_their_filters(backend):
    at = _planner_on("reorder")
    at.radio(key="ro_scope").set_value("Chosen items")
    at = at.run()
    at.multiselect(key="ro_items").set_value(ITEMS)
    at.number_input(key="ro_lead").set_value(9)
    at.button(key="ro_run").click()
    at = at.run()
    at.text_input(key="ro_search").input("DF-0002")
    at = at.run()
    again = _planner_on("reorder", at.query_params)
    assert not again.exception and not again.error
    assert again.radio(key="ro_scope").value == "Chosen items" and again.number_input(key="ro_lead").value == 9
    shown = table_with(again, "reorder_point", "action")
    assert shown["item_id"].tolist() == ["DF-0002"] and (shown["lead_time_days"] == 9).all()

    attention = _planner_on("attention")
    reason = attention.multiselect(key="att_reasons").options[0]
    attention.multiselect(key="att_reasons").set_value([reason])
    attention = attention.run()
    fresh = new_app()
    fresh.query_params.update(attention.query_params)
    again = login(PLANNER.username, PLANNER.password, fresh.run())  # the landing page is Attention's
    assert texts(again.title) == ["Attention"]
    assert again.multiselect(key="att_reasons").value == [reason]
    assert set(table_with(again, "reason", "detail")["reason"]) == {reason}
    assert texts(again.error) == []


def test_an_edited_reorder_address_never_breaks_the_page(backend):
    at = _planner_on("reorder", {"scope": "Chosen items", "items": "DF-0001", "lead": "9999", "review": "-3",
                                 "service_level": "nan", "only": "1", "shown": "ro"})
    assert not at.exception and not at.error
    assert at.radio(key="ro_scope").value == "Chosen items" and at.multiselect(key="ro_items").value == ["DF-0001"]
    assert at.number_input(key="ro_lead").value is None and at.number_input(key="ro_review").value is None
    assert at.number_input(key="ro_service_level").value is None and at.toggle(key="ro_only").value is True
    assert table_with(at, "reorder_point", "action")["item_id"].tolist() in (["DF-0001"], [])
