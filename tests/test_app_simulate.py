"""The Policy simulator page through AppTest, checked against the simulation service on the same database."""
from __future__ import annotations

import numpy as np

from forecasting.services.simulation import SimulationService
from tests.support.app import login, open_page, plotly_traces, table_with, texts
from tests.support.demo_database import PLANNER

ITEMS = ["DF-0001", "DF-0002", "DF-0003", "DF-0004"]


def _page():
    at = open_page(login(PLANNER.username, PLANNER.password), "simulate")
    at.radio(key="sim_scope").set_value("Chosen items")
    return at.run()


def test_two_policies_side_by_side_with_the_stock_versus_service_chart(backend):
    at = _page()
    assert not at.exception
    at.multiselect(key="sim_items").set_value(ITEMS)
    at.number_input(key="sim_reviews").set_value(4)
    at.selectbox(key="sim_b_model").set_value("seasonal-naive")
    at.number_input(key="sim_a_level").set_value(90.0)
    at.selectbox(key="sim_b_type").set_value("fill")
    at.multiselect(key="sim_targets").set_value([80, 95])
    at.button(key="sim_run").click()
    at = at.run()
    assert not at.exception and not at.error, texts(at.error)

    client = backend.client_id("Demo Foods")
    simulator = SimulationService(backend.forecasts)
    a = simulator.simulate(client, ITEMS, "ma7", 4, [{"service_level": 0.9}, {"service_level": 0.8},
                                                    {"service_level": 0.95}])
    b = simulator.simulate(client, ITEMS, "seasonal-naive", 4, [
        {"service_type": "fill"}, {"service_type": "fill", "service_level": 0.8},
        {"service_type": "fill", "service_level": 0.95}])
    total = table_with(at, "policy", "scope", "fill_rate")
    assert len(total) == 2 and total["policy"].str.startswith("A: ").iloc[0] and total["policy"].iloc[1][:3] == "B: "
    np.testing.assert_allclose(total["fill_rate"], [a.total["fill_rate"][0], b.total["fill_rate"][0]], rtol=1e-12)
    np.testing.assert_allclose(total["avg_stock"], [a.total["avg_stock"][0], b.total["avg_stock"][0]], rtol=1e-12)
    classes = table_with(at, "policy", "abc_xyz", "fill_rate")
    assert classes["items"].sum() == 2 * len(ITEMS)
    per_item = table_with(at, "policy", "item_id", "fill_rate")
    assert len(per_item) == 2 * len(ITEMS)

    traces = plotly_traces(at)
    assert [t["name"][:2] for t in traces] == ["A:", "B:"]
    np.testing.assert_allclose(traces[0]["x"], a.total["avg_stock"][1:], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(traces[1]["y"]) / 100, b.total["fill_rate"][1:], rtol=1e-12)
    assert list(traces[0]["text"]) == ["80%", "95%"]
    assert [b.label for b in at.get("download_button")] == ["CSV", "Excel"]


def test_no_item_chosen_or_a_bad_level_says_so(backend):
    at = _page()
    at.button(key="sim_run").click()
    at = at.run()
    assert texts(at.error) == ["Choose at least one item, or switch to all items."]
    at.multiselect(key="sim_items").set_value(ITEMS[:1])
    at.number_input(key="sim_b_level").set_value(100.0)
    at.button(key="sim_run").click()
    at = at.run()
    assert texts(at.error) == ["Simulation failed: a service level must be above 0% and below 100%, got 100%."]
