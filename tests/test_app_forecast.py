"""The Forecast page through AppTest: widgets, the chart's traces and the metrics against the services."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from app import charts
from forecasting.modes.factory import ModelFactory
from tests.support.demo_database import PLANNER
from tests.support.app import login, open_page, plotly_traces, texts

ITEMS = ["DF-0001", "DF-0002", "DF-0003"]


@pytest.fixture
def page(backend, monkeypatch, tmp_path):
    monkeypatch.setenv("CHRONOS_MODEL", str(tmp_path / "no-weights-here"))
    return open_page(login(PLANNER.username, PLANNER.password), "forecast")


def _run(at, items=ITEMS, horizon=14, model="ma7", bands=(50, 80), score=False):
    at.multiselect(key="fc_items").set_value(list(items))
    at.number_input(key="fc_horizon").set_value(horizon)
    at.selectbox(key="fc_model").set_value(model)
    at.multiselect(key="fc_bands").set_value(list(bands))
    at.toggle(key="fc_score").set_value(score)
    at.button(key="fc_run").click()
    return at.run()


def test_landing_view_shows_the_clients_recent_daily_totals(page, backend):
    traces = plotly_traces(page)
    assert [t["name"] for t in traces] == ["Units sold"]
    client = backend.client_id("Demo Foods")
    ids = backend.data.list_items(client)["item_id"].tolist()
    history = backend.data.history(client, ids)
    totals = history.groupby("date")["quantity"].sum().iloc[-91:]
    np.testing.assert_allclose(traces[0]["y"], totals.to_numpy())
    assert pd.Timestamp(traces[0]["x"][0]) == totals.index[0]


def test_widgets_and_defaults(page):
    assert page.number_input(key="fc_horizon").value == 28
    labels = ModelFactory.labels()
    assert page.selectbox(key="fc_model").options == [
        label + (" (unavailable)" if name == "chronos-2" else "") for name, label in labels.items()
    ]
    assert page.multiselect(key="fc_bands").value == [50, 80]
    assert page.toggle(key="fc_score").value is False
    assert len(page.multiselect(key="fc_items").options) == 200


def test_forecast_chart_traces_match_the_service(page, backend):
    at = _run(page)
    assert not at.exception and not at.error
    client = backend.client_id("Demo Foods")
    expected = backend.forecasts.forecast(client, ITEMS, "ma7", 14, charts.band_levels([50, 80])).forecast
    history = backend.data.history(client, ["DF-0001"])
    traces = plotly_traces(at)
    assert [t["name"] for t in traces] == ["History", "80% band", "80% band", "50% band", "50% band", "Forecast"]
    first = expected[expected["item_id"] == "DF-0001"]
    by_name = {(t["name"], t.get("fill")): t for t in traces}
    np.testing.assert_allclose(by_name[("Forecast", None)]["y"], first["forecast"].to_numpy())
    np.testing.assert_allclose(by_name[("80% band", None)]["y"], first["q0.1"].to_numpy())
    np.testing.assert_allclose(by_name[("80% band", "tonexty")]["y"], first["q0.9"].to_numpy())
    np.testing.assert_allclose(by_name[("50% band", "tonexty")]["y"], first["q0.75"].to_numpy())
    shown = charts.history_window(14)
    np.testing.assert_allclose(traces[0]["y"], history["quantity"].to_numpy()[-shown:])
    assert pd.Timestamp(traces[-1]["x"][0]) == history["date"].max() + pd.Timedelta(days=1)
    # the second request is answered from the database cache, and the page says so
    assert "Computed now" in at.caption[0].value
    at.button(key="fc_run").click()
    at = at.run()
    assert at.caption[0].value.startswith("From the cache")


def test_small_multiples_and_item_selector(page):
    at = _run(page)
    at.selectbox(key="fc_chart_item").set_value("DF-0003")
    at = at.run()
    assert plotly_traces(at)[0]["name"] == "History"
    assert at.get("plotly_chart")[0].proto.spec.count("DF-0003")  # its title
    at.radio(key="fc_view").set_value(at.radio(key="fc_view").options[1])
    at = at.run()
    traces = plotly_traces(at)
    assert sorted({t["meta"]["item_id"] for t in traces}) == ITEMS
    assert [t["name"] for t in traces if t["meta"]["item_id"] == "DF-0002"] == [
        "History", "80% band", "80% band", "Forecast"
    ]


def test_scoring_against_held_out_actuals(page, backend):
    at = _run(page, score=True)
    assert not at.exception and not at.error
    traces = plotly_traces(at)
    names = [t["name"] for t in traces]
    assert names[-1] == "Held-out actuals" and names.count("History") == 1
    client = backend.client_id("Demo Foods")
    history = backend.data.history(client, ["DF-0001"])
    np.testing.assert_allclose(traces[-1]["y"], history["quantity"].to_numpy()[-14:])
    # the history drawn stops where the held-out days start
    assert pd.Timestamp(traces[0]["x"][-1]) == history["date"].max() - pd.Timedelta(days=14)

    expected = backend.forecasts.backtest(client, ITEMS, ["ma7"], 14, 1, charts.band_levels([50, 80])).metrics
    shown = at.dataframe[0].value
    assert shown["item_id"].tolist() == ITEMS + ["All items"]
    for column in ("mape", "mae", "rmse", "wape", "bias", "mase", "coverage"):
        np.testing.assert_allclose(shown[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12)


def test_empty_selection_is_a_clear_message(page):
    at = _run(page, items=[])
    assert texts(at.error) == ["Choose at least one item (type to search, or use the quick pick)."]
    assert [t["name"] for t in plotly_traces(at)] == ["Units sold"]  # the landing view, no forecast


def test_out_of_range_horizon_keeps_the_inputs(page):
    at = _run(page, horizon=400)
    assert texts(at.error) == ["Forecast failed: horizon must be between 1 and 365 days, got 400"]
    assert at.number_input(key="fc_horizon").value == 400
    assert at.multiselect(key="fc_items").value == ITEMS
    assert [t["name"] for t in plotly_traces(at)] == ["Units sold"]  # the landing view, no forecast


def test_a_model_that_cannot_run_is_disabled_with_the_reason(page):
    page.selectbox(key="fc_model").set_value("chronos-2")
    at = page.run()
    assert at.button(key="fc_run").disabled
    assert at.warning[0].value.startswith("Chronos-2 cannot run here: no Chronos-2 weights at ")


def test_top_n_by_volume_within_a_category(page, backend):
    at = page
    at.multiselect(key="fc_categories").set_value(["Dairy"])
    at = at.run()
    at.selectbox(key="fc_top").set_value(5)
    at = at.run()
    items = backend.data.list_items(backend.client_id("Demo Foods"))
    dairy = items[items["category"] == "Dairy"]
    expected = dairy.sort_values(["recent_quantity", "item_id"], ascending=[False, True])["item_id"].head(5)
    assert at.multiselect(key="fc_items").value == expected.tolist()
    assert at.selectbox(key="fc_top").value is None  # a one-shot action


def test_items_carry_over_to_the_compare_page(page):
    from tests.support.app import open_page

    page.multiselect(key="fc_items").set_value(ITEMS)
    at = page.run()
    at = open_page(at, "compare")
    assert texts(at.title) == ["Compare models"]
    assert at.multiselect(key="cmp_items").value == ITEMS


def test_chronos2_runs_when_its_weights_are_there(backend, tiny_chronos_dir, monkeypatch):
    monkeypatch.setenv("CHRONOS_MODEL", str(tiny_chronos_dir))
    at = open_page(login(PLANNER.username, PLANNER.password), "forecast")
    assert at.selectbox(key="fc_model").options[ModelFactory.names().index("chronos-2")] == "Chronos-2"
    at = _run(at, model="chronos-2", horizon=7, bands=(80,))
    assert not at.exception and not at.error
    traces = plotly_traces(at)
    assert [t["name"] for t in traces] == ["History", "80% band", "80% band", "Forecast"]
    client = backend.client_id("Demo Foods")
    history = backend.data.history(client, ITEMS)
    expected = ModelFactory.create("chronos-2").forecast(history, 7, (0.1, 0.9))
    first = expected[expected["item_id"] == "DF-0001"]
    np.testing.assert_allclose(traces[-1]["y"], first["forecast"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(traces[2]["y"], first["q0.9"].to_numpy(), rtol=1e-5)


def test_auto_shows_which_model_each_item_got_and_the_demand_pattern_filter_works(page, backend):
    client = backend.client_id("Demo Foods")
    classes = backend.forecasts.demand_classes(client).set_index("item_id")["demand_class"]
    page.multiselect(key="fc_classes").set_value(["intermittent"])
    page.run()
    intermittent = sorted(classes[classes == "intermittent"].index)
    options = [o.split(" - ")[0] for o in page.multiselect(key="fc_items").options]
    assert options == intermittent and len(intermittent) >= 2
    at = _run(page, items=intermittent[:2], model="auto", bands=(80,))
    assert not at.exception and not at.error
    expected = backend.forecasts.forecast(client, intermittent[:2], "auto", 14, (0.1, 0.9)).forecast
    shown = next(f.value for f in at.dataframe if "chosen_model" in f.value.columns)
    first = expected.drop_duplicates("item_id").set_index("item_id")
    assert shown["item_id"].tolist() == intermittent[:2]
    chosen = first.loc[intermittent[:2], "chosen_model"]
    assert shown["chosen_model"].tolist() == [ModelFactory.label(m) for m in chosen]
    assert (shown["demand_class"] == "intermittent").all()
    used = ModelFactory.label(first.loc[intermittent[0], "chosen_model"])
    assert any(f"Auto used **{used}** for {intermittent[0]}" in c.value for c in at.caption)


def test_a_forecast_over_the_servers_limit_says_which_limit_and_keeps_the_inputs(backend, monkeypatch):
    """The app runs with the API's request limits (docs/security.md); here one lowered through the environment."""
    monkeypatch.setenv("FORECAST_LIMIT_MAX_FORECAST_VALUES", "100")
    at = _run(open_page(login(PLANNER.username, PLANNER.password), "forecast"), horizon=14)
    assert texts(at.error) == [
        "Forecast failed: this forecast is too big for one request: 3 items x 14 days x (5 quantile levels + the "
        "point forecast) = 252, over this server's limit of 100; ask for fewer items, days, windows or levels (or "
        "run it as a batch job with `python -m forecasting`)"
    ]
    assert at.number_input(key="fc_horizon").value == 14 and at.multiselect(key="fc_items").value == ITEMS


def test_scored_metrics_name_the_items_and_the_band_and_show_a_dash_where_a_metric_is_undefined(page, backend):
    """DF-0019 sold nothing in its last 14 days: its MAPE and WAPE are undefined (a dash, not 'None')."""
    client = backend.client_id("Demo Foods")
    history = backend.data.history(client, ["DF-0019"])
    assert history["quantity"].to_numpy()[-14:].sum() == 0
    at = _run(page, items=["DF-0001", "DF-0019"], bands=(50, 80), score=True)
    assert not at.exception and not at.error
    frame = at.dataframe[0]
    shown = frame.value
    names = backend.data.list_items(client, ["DF-0001", "DF-0019"]).set_index("item_id")["name"]
    assert shown["name"].tolist() == [names["DF-0001"], names["DF-0019"], ""]
    assert np.isnan(shown.set_index("item_id").loc["DF-0019", "mape"])
    assert frame.proto.placeholder == "–"  # what the browser draws for the missing value
    labels = {k: v.get("label") for k, v in json.loads(frame.proto.columns).items()}
    assert labels["coverage"] == "Coverage, 80% band" and labels["name"] == "Name"


def test_auto_with_scoring_shows_chart_choices_and_metrics(page, backend):
    """Scored runs carry the model each item got, not auto's reason: the page must not fail on it."""
    at = _run(page, items=ITEMS[:2], model="auto", bands=(80,), score=True)
    assert not at.exception and not at.error
    assert [t["name"] for t in plotly_traces(at)][-1] == "Held-out actuals"
    client = backend.client_id("Demo Foods")
    scored = backend.forecasts.backtest(client, ITEMS[:2], ["auto"], 14, 1, (0.1, 0.9)).forecasts
    chosen = scored.drop_duplicates("item_id").set_index("item_id")["chosen_model"]
    shown = next(f.value for f in at.dataframe if "chosen_model" in f.value.columns)
    assert shown["chosen_model"].tolist() == [ModelFactory.label(chosen[i]) for i in ITEMS[:2]]
    assert "choice" not in shown.columns  # no empty 'Why' column
    metrics = next(f.value for f in at.dataframe if "mae" in f.value.columns)
    assert metrics["item_id"].tolist() == ITEMS[:2] + ["All items"]
    assert any(c.value == f"Auto used **{ModelFactory.label(chosen[ITEMS[0]])}** for {ITEMS[0]}." for c in at.caption)


def test_a_failure_while_showing_a_result_is_a_message_not_a_crashed_page(page, backend, monkeypatch):
    """The run itself succeeded (the history says so, truthfully); the page says showing it failed, and stays."""
    from app import tables

    def broken(*args, **kwargs):
        raise RuntimeError("a display bug")

    monkeypatch.setattr(tables, "metrics_table", broken)
    at = _run(page, items=ITEMS[:1], score=True)
    assert not at.exception
    assert texts(at.error) == ["Showing the result failed because of an internal error; it has been logged. "
                               "Your inputs are kept."]
    assert [t["name"] for t in plotly_traces(at)][-1] == "Held-out actuals"  # what was drawn before stays
    assert at.button(key="fc_run").disabled is False
    runs = backend.data.list_runs(backend.client_id("Demo Foods"))
    assert runs.iloc[0][["kind", "status"]].tolist() == ["backtest", "succeeded"]
