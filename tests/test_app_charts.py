"""The dashboard's chart and table builders on hand-made frames (no Streamlit session needed)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app import charts, tables
from forecasting.modes.factory import ModelFactory
from forecasting.applications.quality.calculator import OVERALL, QualityCalculator


def _history(items: dict[str, int], start: str = "2024-01-01") -> pd.DataFrame:
    parts = []
    for k, (item, days) in enumerate(items.items()):
        dates = pd.date_range(start, periods=days, freq="D")
        parts.append(pd.DataFrame({"item_id": item, "date": dates, "quantity": np.arange(days, dtype=float) + k}))
    return pd.concat(parts, ignore_index=True)


def _names(fig) -> list[str]:
    return [t.name for t in fig.data]


def test_band_levels_and_pairs():
    assert charts.band_levels([80, 50]) == (0.1, 0.25, 0.75, 0.9)
    assert charts.band_pairs(["forecast", "q0.1", "q0.25", "q0.75", "q0.9", "q0.5"]) == [
        ("q0.1", "q0.9", 80), ("q0.25", "q0.75", 50)
    ]
    # an unpaired level draws no band
    assert charts.band_pairs(["q0.1", "q0.5"]) == []
    with pytest.raises(ValueError, match="between 1% and 99%"):
        charts.band_levels([100])


def test_forecast_figure_has_history_bands_forecast_and_actuals_of_the_right_lengths():
    history = _history({"A": 200})
    model = ModelFactory.create("ma7")
    fc = model.forecast(history, 14, charts.band_levels([50, 80]))
    actuals = pd.DataFrame({"date": fc["date"], "actual": np.arange(14.0)})
    fig = charts.forecast_figure(history, fc, actuals, title="A")
    assert _names(fig) == ["History", "80% band", "80% band", "50% band", "50% band", "Forecast", "Held-out actuals"]
    by = {(t.name, t.fill): t for t in fig.data}
    # history: the last history_window(14) = 56 days before the first forecast day
    assert len(fig.data[0].x) == charts.history_window(14) == 56
    assert pd.Timestamp(fig.data[0].x[-1]) == pd.Timestamp("2024-07-18")
    np.testing.assert_array_equal(fig.data[0].y, history["quantity"].to_numpy()[-56:])
    np.testing.assert_array_equal(by[("Forecast", None)].y, fc["forecast"].to_numpy())
    np.testing.assert_array_equal(fig.data[1].y, fc["q0.1"].to_numpy())
    np.testing.assert_array_equal(by[("80% band", "tonexty")].y, fc["q0.9"].to_numpy())
    np.testing.assert_array_equal(by[("50% band", "tonexty")].y, fc["q0.75"].to_numpy())
    assert len(by[("Held-out actuals", None)].y) == 14


def test_forecast_figure_without_actuals_or_bands():
    history = _history({"A": 30})
    fc = ModelFactory.create("ma7").forecast(history, 7)
    fig = charts.forecast_figure(history, fc)
    assert _names(fig) == ["History", "Forecast"]
    assert len(fig.data[0].x) == 30  # shorter than the window: all of it


def test_small_multiples_caps_at_twelve_items_with_one_legend():
    history = _history({f"I{k:02d}": 60 for k in range(14)})
    fc = ModelFactory.create("ma7").forecast(history, 7, (0.1, 0.25, 0.75, 0.9))
    fig = charts.small_multiples_figure(history, fc)
    items = [t.meta["item_id"] for t in fig.data]
    assert sorted(set(items)) == [f"I{k:02d}" for k in range(12)]
    # per item: history, outer band (2 traces), forecast
    assert len(fig.data) == 12 * 4
    assert sum(bool(t.showlegend) for t in fig.data) == 3  # History, 80% band, Forecast once
    first = [t for t in fig.data if t.meta["item_id"] == "I05"]
    np.testing.assert_array_equal(first[-1].y, fc.loc[fc["item_id"] == "I05", "forecast"].to_numpy())


def test_comparison_figure_draws_each_model_over_the_actuals():
    history = _history({"A": 120})
    result = QualityCalculator.backtest(history, ["ma7", "seasonal-naive"], 14, quantiles=(0.1, 0.9))
    item = result.forecasts[result.forecasts["item_id"] == "A"]
    fig = charts.comparison_figure(history, item, title="A")
    names = _names(fig)
    assert names[:2] == ["History", "Held-out actuals"]
    # one label per model (the model picker's), and only the first model's band drawn until asked for
    assert names.count("MA7") == 1 and names.count("Seasonal naive") == 1
    assert names.count("MA7 80% band") == 2 and names.count("Seasonal naive 80% band") == 2
    visible = {t.name: t.visible for t in fig.data}
    assert visible["MA7 80% band"] is True and visible["Seasonal naive 80% band"] == "legendonly"
    assert visible["Seasonal naive"] is None  # every forecast line is drawn
    actual = fig.data[1]
    np.testing.assert_array_equal(actual.y, history["quantity"].to_numpy()[-14:])
    # history stops at the cutoff
    assert pd.Timestamp(fig.data[0].x[-1]) == pd.Timestamp(item["cutoff"].iloc[0])


def test_stock_projection_draws_the_tables_own_projection_and_the_stockout_where_it_goes_below_zero():
    from forecasting.applications.inventory.calculator import InventoryCalculator
    from forecasting.core.models.base import SamplePaths

    paths = SamplePaths(np.array(["a"], dtype=object), np.array(["2024-01-01"], dtype="datetime64[ns]"),
                        np.full((1, 50, 28), 10.0))
    # lead time 5: reorder point 50 is above the position 45, so the line is "reorder" and has a suggested order
    # (an "ok" line carries none, issue 19); the 20 on order are due on the 3rd day
    inventory = pd.DataFrame({"item_id": ["a"], "on_hand": [25.0], "on_order": [20.0], "lead_time_days": [5],
                              "review_period_days": [7], "on_order_due": ["2024-01-03"]})
    plan = InventoryCalculator.plan_from_paths(paths, inventory, "test")
    row = plan.table.iloc[0]
    fig = charts.stock_projection_figure(row, plan.projection)
    stock, ordered, rop = fig.data
    assert [stock.name, ordered.name, rop.name] == ["Projected stock", "With the suggested order", "Reorder point"]
    # 25 on hand, 20 more on the 3rd day (their due date), 10 sold a day
    np.testing.assert_allclose(stock.y[:6], [25, 15, 5, 15, 5, -5])
    assert pd.Timestamp(stock.x[0]) == pd.Timestamp("2023-12-31")  # today's stock, then each forecast day
    below = pd.Timestamp(stock.x[int(np.argmax(np.asarray(stock.y) < 0))])
    marker = [s for s in fig.layout.shapes if s.line.color == charts.REORDER_POINT_COLOR]
    assert below == pd.Timestamp(row["stockout_date"]) == pd.Timestamp(marker[0].x0)  # marker and line agree
    assert row["action"] == "reorder" and row["order_qty"] > 0
    np.testing.assert_allclose(np.asarray(ordered.y) - np.asarray(stock.y), [0] * 5 + [row["order_qty"]] * 24)


def _metrics() -> pd.DataFrame:
    """Two items, two models; values chosen by hand so every winner is known."""
    rows = [
        # item, model, mape, mae, rmse, wape, bias, mase, wql, coverage
        ("A", "ma7", 10.0, 1.0, 2.0, 10.0, -5.0, 0.5, 0.1, 0.70),
        ("A", "seasonal-naive", 20.0, 2.0, 1.0, 20.0, 3.0, 0.9, 0.2, 0.80),
        ("B", "ma7", 30.0, 3.0, 3.0, np.nan, 8.0, 1.0, 0.3, 0.50),
        ("B", "seasonal-naive", 30.0, 4.0, 4.0, 15.0, -2.0, 1.1, 0.2, 0.95),
        (OVERALL, "ma7", 20.0, 2.0, 2.5, 12.0, 1.0, 0.75, 0.2, 0.60),
        (OVERALL, "seasonal-naive", 25.0, 3.0, 2.5, 17.0, -0.5, 1.0, 0.2, 0.875),
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "model", "mape", "mae", "rmse", "wape", "bias", "mase", "wql",
                                        "coverage"])
    frame.insert(2, "n_points", 14)
    frame.insert(3, "n_zero_actuals", 0)
    return frame


def test_comparison_table_names_the_best_model_per_metric():
    table = tables.comparison_table(_metrics(), band_width=0.8)
    best = dict(zip(table["metric"], table["best"]))
    assert best == {
        "MAPE %": "MA7", "MAE": "MA7", "RMSE": "MA7, Seasonal naive",  # a tie names both
        "WAPE %": "MA7", "Bias %": "Seasonal naive", "MASE": "MA7", "WQL": "MA7, Seasonal naive",
        "Coverage, 80% band": "Seasonal naive",  # |0.875 - 0.8| < |0.6 - 0.8|
    }
    assert table.loc[table["metric"] == "MAE", "Seasonal naive"].item() == 3.0


def test_winner_counts_count_items_and_ties():
    counts = tables.winner_counts(_metrics(), band_width=0.8).set_index("metric").T
    assert counts.loc["MA7", "MAE"] == 2 and counts.loc["Seasonal naive", "MAE"] == 0
    assert counts.loc["MA7", "RMSE"] == 1 and counts.loc["Seasonal naive", "RMSE"] == 1
    # B's MAPE is a tie: both win
    assert counts.loc["MA7", "MAPE %"] == 2 and counts.loc["Seasonal naive", "MAPE %"] == 1
    # B's WAPE is missing for ma7: seasonal-naive wins B
    assert counts.loc["MA7", "WAPE %"] == 1 and counts.loc["Seasonal naive", "WAPE %"] == 1
    assert counts.loc["Seasonal naive", "Bias %"] == 2
    assert counts.loc["Seasonal naive", "Coverage, 80% band"] == 2  # 0.80 exact for A, 0.95 nearer than 0.50 for B


def test_table_height_fits_the_rows_up_to_the_cap():
    assert tables.table_height(3) == 35 * 4 + 3  # header and three rows, no empty space below
    assert tables.table_height(0) == tables.table_height(1)
    assert tables.table_height(200) == tables.MAX_TABLE_PX  # more than ten rows before scrolling
    assert tables.table_height(200) > tables.table_height(10)


def test_metrics_table_keeps_the_services_numbers():
    metrics = _metrics()
    table = tables.metrics_table(metrics, {"A": "apple"})
    assert table["name"].tolist() == ["apple", "apple", "", "", "", ""]
    assert table["item_id"].tolist()[-1] == tables.OVERALL_LABEL
    assert table["model"].tolist() == ["MA7", "Seasonal naive"] * 3
    np.testing.assert_array_equal(table["mase"].to_numpy(), metrics["mase"].to_numpy())


def test_reorder_view_puts_reorder_first_and_filters():
    table = pd.DataFrame({
        "item_id": ["A", "B", "C", "D"], "name": ["apple", "bread", "cheese", None],
        "category": ["fruit", "bakery", "dairy", "dairy"],
        "action": ["ok", "reorder", "ok", "reorder"], "days_of_cover": [3.0, 9.0, 1.0, 2.0], "model": "ma7",
        "on_order": [0.0, 5.0, 0.0, 0.0], "on_order_due": pd.Timestamp("2024-03-04"),
    })
    assert tables.reorder_view(table)["item_id"].tolist() == ["D", "B", "C", "A"]
    assert set(tables.reorder_view(table)["model"]) == {"MA7"} and set(table["model"]) == {"ma7"}
    arrives = tables.reorder_view(table).set_index("item_id")["on_order_due"]  # nothing on order: no date
    assert arrives.isna().tolist() == [True, False, True, True] and arrives["B"] == pd.Timestamp("2024-03-04")
    assert tables.reorder_view(table, reorder_only=True)["item_id"].tolist() == ["D", "B"]
    assert tables.reorder_view(table, categories=["dairy"])["item_id"].tolist() == ["D", "C"]
    assert tables.reorder_view(table, search="BRE")["item_id"].tolist() == ["B"]
