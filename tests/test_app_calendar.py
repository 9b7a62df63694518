"""The calendar in the app (issue 22): the Forecast chart shades promotion and event days, the Data page's
Calendar tab lists the entries, and a forecast's download names the covariates its model used."""
from __future__ import annotations

import json

import pandas as pd

from app import charts, results
from tests.support.app import login, open_page, table_with
from tests.support.demo_database import OTHER_CLIENT_PLANNER, PLANNER

ITEM = "DF-0001"


def _calendar(backend) -> tuple[int, pd.Timestamp]:
    client = backend.client_id("Demo Foods")
    as_of = pd.Timestamp(backend.data.get_client(client).as_of)
    day = lambda n: f"{as_of + pd.Timedelta(days=n):%Y-%m-%d}"  # noqa: E731
    backend.data.import_calendar(client, (
        "type,item_id,category,start,end,name,discount,price\n"
        f"promotion,{ITEM},,{day(3)},{day(5)},spring deal,,\n"
        f"promotion,DF-0002,,{day(1)},{day(2)},,,\n"           # another item's: not on this chart
        f"event,,,{day(10)},,fair,,\n"                          # every item
        f"holiday,,,{day(-7)},,closed,,\n"                      # a past day in the drawn history
        f"price,{ITEM},,{day(1)},{day(20)},,,2.5\n"             # planned prices are not marked
        f"price,DF-0003,,{day(1)},{day(2)},,,1\n"
    ).encode())
    return client, as_of


def test_the_forecast_chart_shades_the_items_promotion_and_event_days(backend):
    _, as_of = _calendar(backend)
    at = open_page(login(PLANNER.username, PLANNER.password), "forecast")
    at.multiselect(key="fc_items").set_value([ITEM])
    at.number_input(key="fc_horizon").set_value(14)
    at.selectbox(key="fc_model").set_value("ma7")
    at.button(key="fc_run").click()
    at = at.run()
    assert not at.exception and not at.error
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    shaded = sorted((pd.Timestamp(s["x0"]), pd.Timestamp(s["x1"]), s["name"]) for s in layout["shapes"])
    half = pd.Timedelta(hours=12)
    day = lambda n: as_of + pd.Timedelta(days=n)  # noqa: E731
    assert shaded == [(day(-7) - half, day(-7) + half, "holiday: closed"),
                      (day(3) - half, day(5) + half, "promotion: spring deal"),
                      (day(10) - half, day(10) + half, "event: fair")]
    assert {a["text"] for a in layout["annotations"]} >= {"holiday: closed", "promotion: spring deal", "event: fair"}


def test_marks_outside_the_drawn_span_are_left_out():
    history = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=100), "quantity": 1.0})
    forecast = pd.DataFrame({"date": pd.date_range("2024-04-10", periods=7), "forecast": 1.0})
    marks = pd.DataFrame({"type": ["promotion", "event"], "name": ["", "x"],
                          "start": pd.to_datetime(["2023-01-01", "2024-04-15"]),
                          "end": pd.to_datetime(["2023-01-05", "2024-04-30"])})
    fig = charts.forecast_figure(history, forecast, marks=marks)
    assert [(s.name, pd.Timestamp(s.x1)) for s in fig.layout.shapes] == [
        ("event: x", pd.Timestamp("2024-04-16 12:00"))]  # cut at the last forecast day


def test_the_data_page_lists_the_calendar(backend):
    _calendar(backend)
    at = open_page(login(PLANNER.username, PLANNER.password), "data")
    assert not at.exception
    shown = table_with(at, "type", "start", "discount")
    assert list(shown.columns) == ["type", "item_id", "category", "start", "end", "name", "discount", "price"]
    assert sorted(shown["type"]) == ["event", "holiday", "price", "price", "promotion", "promotion"]
    other = open_page(login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password), "data")
    assert not other.exception
    assert "No calendar: the models forecast from sales alone." in [i.value for i in other.info]


def test_the_forecast_download_names_the_covariates_its_model_used(backend):
    client, _ = _calendar(backend)
    names = {ITEM: "n1", "DF-0003": "n3"}
    lgbm = backend.forecasts.forecast(client, [ITEM, "DF-0003"], "lgbm", 7)
    frame = results.Forecast(lgbm).export_frame(names)
    assert set(frame["covariates"]) == {"category;event;holiday;price;promo"}  # the demo items have categories
    plain = results.Forecast(backend.forecasts.forecast(client, [ITEM], "ma7", 7)).export_frame(names)
    assert "covariates" not in plain.columns  # a statistical model uses none (``models`` says so)
