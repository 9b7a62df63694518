"""Chronos-2 through the paths users take: the file-mode CLI (forecast, backtest, reorder) and the
ForecastService (computed, then cached; reorder table), on the tiny random-weight model."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from forecasting.cli import main
from tests.support.db import inventory_frame, sales_frame

ITEMS = {"A": 6.0, "B": 2.0, "C": 12.0}


def _write(tmp_path, frame: pd.DataFrame, name: str) -> str:
    path = tmp_path / name
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return str(path)


def test_cli_forecast_backtest_and_reorder_with_chronos2(tiny_chronos_dir, tmp_path, capsys):
    sales = _write(tmp_path, sales_frame(ITEMS, days=90), "sales.csv")

    assert main(["forecast", "--input", sales, "--model", "chronos-2", "--horizon", "14"]) == 0
    forecast = pd.read_csv(io.StringIO(capsys.readouterr().out), parse_dates=["date"])
    assert list(forecast.columns) == ["item_id", "date", "model", "forecast", "q0.1", "q0.5", "q0.9", "covariates"]
    assert len(forecast) == 3 * 14 and set(forecast["model"]) == {"chronos-2"} and set(forecast["covariates"]) == {"none"}
    assert forecast["date"].min() == pd.Timestamp("2024-03-31")  # 90 days from 2024-01-01, then the next day
    np.testing.assert_allclose(forecast["forecast"], forecast["q0.5"], atol=1e-6)
    q = forecast[["q0.1", "q0.5", "q0.9"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all() and (q >= 0).all()

    assert main(["backtest", "--input", sales, "--model", "ma7,chronos-2", "--horizon", "7", "--windows", "2"]) == 0
    metrics = pd.read_csv(io.StringIO(capsys.readouterr().out))
    overall = metrics[metrics.item_id == "__overall__"].set_index("model")
    assert list(overall.index) == ["ma7", "chronos-2"] and overall.loc["chronos-2", "n_points"] == 3 * 2 * 7

    inventory = tmp_path / "inv.csv"
    inventory_frame(list(ITEMS), lead_time_days=5).to_csv(inventory, index=False)
    assert main(["reorder", "--input", sales, "--inventory", str(inventory), "--model", "chronos-2"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(table["item_id"]) == sorted(ITEMS) and set(table["model"]) == {"chronos-2"}
    assert (table["order_up_to"] >= table["reorder_point"]).all() and (table["reorder_point"] > 0).all()


def test_service_runs_caches_and_reorders_with_chronos2(tiny_chronos_dir, service, data):
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame(ITEMS, days=90))
    data.import_inventory(client, inventory_frame(list(ITEMS), lead_time_days=5))

    first = service.forecast(client, ["A", "C"], "chronos-2", 10, (0.1, 0.5, 0.9))
    second = service.forecast(client, ["A", "C"], "chronos-2", 10, (0.1, 0.5, 0.9))
    assert (first.cached, second.cached) == (False, True)
    assert first.model_version.startswith("chronos-forecasting")
    pd.testing.assert_frame_equal(second.forecast, first.forecast)
    assert len(first.forecast) == 2 * 10

    table = service.reorder(client, model="chronos-2")
    assert sorted(table["item_id"]) == sorted(ITEMS) and set(table["model"]) == {"chronos-2"}
