"""Every model of the registry x every toggle renders on Forecast, Compare and Reorder (AppTest).

A page that draws its chart and then fails on a table shows Streamlit's 'This app has
encountered an error' instead of the metrics; these runs assert no exception, no error
message and the elements each combination must show. Chronos-2 runs the tiny random-weight
model of tests/support/chronos.py; two items and a week keep it fast.
"""
from __future__ import annotations

import pytest

from forecasting.modes.factory import ModelFactory
from tests.support.app import login, open_page, plotly_traces, table_with, texts
from tests.support.demo_database import PLANNER

ITEMS = ["DF-0001", "DF-0002"]
HORIZON = 7
MODELS = ModelFactory.names()


def _page(path: str):
    return open_page(login(PLANNER.username, PLANNER.password), path)


def _ok(at, what: str) -> None:
    assert not at.exception, f"{what}: {[e.value for e in at.exception]}"
    assert not at.error, f"{what}: {texts(at.error)}"


@pytest.mark.parametrize("model", MODELS)
def test_forecast_page_renders_every_model_with_every_toggle(backend, tiny_chronos_dir, model):
    at = _page("forecast")
    at.multiselect(key="fc_items").set_value(ITEMS)
    at.number_input(key="fc_horizon").set_value(HORIZON)
    at.selectbox(key="fc_model").set_value(model)
    for score in (False, True):
        for bands in ((), (50, 80)):
            what = f"{model}, score={score}, bands={bands}"
            at.multiselect(key="fc_bands").set_value(list(bands))
            at.toggle(key="fc_score").set_value(score)
            at.button(key="fc_run").click()
            at = at.run()
            _ok(at, what)
            names = [t["name"] for t in plotly_traces(at)]
            assert names.count("Forecast") == 1 and names[0] == "History", what
            assert len([n for n in names if n.endswith("band")]) == 2 * len(bands), what
            if score:
                assert "Held-out actuals" in names, what
                metrics = table_with(at, "item_id", "mae")
                assert metrics["item_id"].tolist()[-1] == "All items", what
                assert len(metrics) == len(ITEMS) + 1, what
            if model == "auto":
                assert table_with(at, "chosen_model")["item_id"].tolist() == ITEMS, what
            at.radio(key="fc_view").set_value(at.radio(key="fc_view").options[1])
            at = at.run()
            _ok(at, f"{what}, small multiples")
            traces = plotly_traces(at)
            assert sorted({t["meta"]["item_id"] for t in traces}) == ITEMS, what
            assert len([t for t in traces if t["name"] == "Forecast"]) == len(ITEMS), what
            at.radio(key="fc_view").set_value("One item")
            at = at.run()
            at.selectbox(key="fc_chart_item").set_value(ITEMS[1])
            at = at.run()
            _ok(at, f"{what}, second item")


@pytest.mark.parametrize("bands", [(), (50, 80)])
def test_compare_page_renders_every_model_together_with_every_band_choice(backend, tiny_chronos_dir, bands):
    at = _page("compare")
    at.multiselect(key="cmp_items").set_value(ITEMS)
    at.multiselect(key="cmp_models").set_value(MODELS)
    at.number_input(key="cmp_horizon").set_value(HORIZON)
    at.multiselect(key="cmp_bands").set_value(list(bands))
    at.button(key="cmp_run").click()
    at = at.run()
    _ok(at, f"compare, bands={bands}")
    names = [t["name"] for t in plotly_traces(at)]
    labels = [ModelFactory.label(m) for m in MODELS]
    assert [n for n in names if n in labels] == labels
    mine, side_by_side = (f.value for f in at.dataframe[:2])  # the item's table, then all items'
    for table in (mine, side_by_side):
        assert table.columns.tolist() == ["metric", *labels, "best"]
    assert len(table_with(at, "item_id", "mae")) == len(MODELS) * (len(ITEMS) + 1)
    at.selectbox(key="cmp_chart_item").set_value(ITEMS[1])
    at = at.run()
    _ok(at, f"compare, bands={bands}, second item")


@pytest.mark.parametrize("model", MODELS)
def test_reorder_page_renders_with_every_model(backend, tiny_chronos_dir, model):
    at = _page("reorder")
    at.radio(key="ro_scope").set_value("Chosen items")
    at = at.run()
    at.multiselect(key="ro_items").set_value(ITEMS)
    at.selectbox(key="ro_model").set_value(model)
    at.button(key="ro_run").click()
    at = at.run()
    _ok(at, f"reorder, {model}")
    assert sorted(table_with(at, "reorder_point", "action")["item_id"]) == ITEMS
    assert plotly_traces(at)[0]["name"] == "Projected stock"
    at.toggle(key="ro_only").set_value(True)
    at = at.run()
    _ok(at, f"reorder, {model}, reorder only")
