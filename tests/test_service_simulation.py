"""The simulator's entry points: a client's stored data (both databases), file mode and the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.modes.factory import ModelFactory
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import LimitExceededError, RequestLimits
from forecasting.services.simulation import SimulationService, simulate_policy
from tests.support.db import inventory_frame, sales_frame

ITEMS = {"A": 5.0, "B": 2.0, "C": 9.0}


@pytest.fixture
def client(data):
    client_id = data.create_client("Acme").client_id
    data.import_sales(client_id, sales_frame(ITEMS, days=120))
    data.import_inventory(client_id, inventory_frame(list(ITEMS)))
    return client_id


def test_a_clients_simulation_is_the_file_mode_simulation_of_its_stored_data(data, client):
    outcome = SimulationService(ForecastService(data)).simulate(client, reviews=8,
                                                                variants=[{"service_level": 0.8}, {}])
    expected = simulate_policy(sales_frame(ITEMS, days=120), inventory_frame(list(ITEMS)), "ma7", 8,
                               [{"service_level": 0.8}, {}])
    pd.testing.assert_frame_equal(outcome.items, expected.items)
    pd.testing.assert_frame_equal(outcome.total, expected.total)
    assert list(outcome.total["variant"]) == [0, 1]
    pd.testing.assert_frame_equal(outcome.classes, expected.classes)
    assert outcome.items.loc[0, "name"] == "name A"
    assert (outcome.total["cycles"] == 3 * 8).all()
    runs = data.list_runs(client)
    run = runs.iloc[0]  # recorded like a reorder run: kind, model, items, status, duration
    assert (run["kind"], run["model"], run["n_items"], run["status"]) == ("simulation", "ma7", 3, "succeeded")
    assert run["duration_s"] > 0 and outcome.run_id is not None


def test_a_failed_simulation_is_a_failed_run(data, client):
    data.update_item(client, "A", review_period_days=0)  # the simulator needs a review period of at least 1 day
    with pytest.raises(ForecastingError, match="review period of at least 1 day"):
        SimulationService(ForecastService(data)).simulate(client, reviews=2)
    run = data.list_runs(client).iloc[0]
    assert (run["kind"], run["status"]) == ("simulation", "failed") and "review period" in run["error"]


def test_a_simulation_is_tenant_scoped_and_within_the_limits(data, client):
    other = data.create_client("Other").client_id
    data.import_sales(other, sales_frame({"X": 1.0}, days=120))
    with pytest.raises(NotFoundError):
        SimulationService(ForecastService(data)).simulate(other, ["A"], reviews=2)
    one_plan = ModelFactory.cost("ma7", 3)
    limited = SimulationService(ForecastService(data, RequestLimits(max_cost_units=one_plan * 10)))
    assert len(limited.simulate(client, reviews=10).items) == 3
    with pytest.raises(LimitExceededError, match=rf"11 reviews x a reorder plan of 3 items of ma7 = {11 * one_plan}"):
        limited.simulate(client, reviews=11)


def test_chunks_give_the_same_numbers_and_short_histories_are_skipped():
    sales = pd.concat([sales_frame(ITEMS, days=120), sales_frame({"NEW": 3.0}, days=20, start="2024-04-10")])
    inventory = inventory_frame([*ITEMS, "NEW"])
    whole = simulate_policy(sales, inventory, "ma7", reviews=4)
    chunked = simulate_policy(sales, inventory, "ma7", reviews=4, chunk_items=2)
    pd.testing.assert_frame_equal(whole.items, chunked.items)
    assert whole.skipped == ("NEW",)  # 20 days of history: none left before its first review 28 days ago
    with pytest.raises(ForecastingError, match="ask for fewer reviews"):
        simulate_policy(sales, inventory, "ma7", reviews=40)


def test_classes_from_the_history_known_at_each_review_and_a_dead_item_holds_nothing():
    sales = sales_frame(ITEMS, days=120)
    inventory = inventory_frame(list(ITEMS)).assign(phase_out=[0, 0, 1], service_level=[0.9, np.nan, 0.9])
    outcome = simulate_policy(sales, inventory, "ma7", reviews=4)
    items = outcome.items.set_index("item_id")
    assert list(items["abc_xyz"]) == [a + x for a, x in zip(items["abc"], items["xyz"])]
    assert items.loc["C", "lifecycle"] == "dead"  # the planner's phase-out flag
    assert items.loc["C", "served"] == 0 and items.loc["C", "orders"] == 0 and items.loc["C", "avg_stock"] == 0
    assert items.loc["A", "served"] > 0
    assert outcome.classes["items"].sum() == 3
    by_class = outcome.classes.set_index("abc_xyz")
    for cell, rows in items.groupby("abc_xyz"):
        assert by_class.loc[cell, "served"] == pytest.approx(rows["served"].sum())


def test_fill_rate_targets_flow_into_the_simulation():
    sales = sales_frame(ITEMS, days=120)
    inventory = inventory_frame(list(ITEMS))
    both = simulate_policy(sales, inventory, "ma7", reviews=6,
                           variants=[{"service_type": "cycle"}, {"service_type": "fill"}]).total
    assert both.loc[1, "avg_stock"] < both.loc[0, "avg_stock"]  # a 95% fill rate needs less stock than 95% cycles


def write_files(tmp_path: Path) -> tuple[Path, Path]:
    sales = tmp_path / "sales.csv"
    sales_frame(ITEMS, days=120).to_csv(sales, index=False)
    inventory = tmp_path / "inventory.csv"
    inventory_frame(list(ITEMS)).to_csv(inventory, index=False)
    return sales, inventory


def test_cli_file_mode_writes_items_and_totals(tmp_path, capsys):
    sales, inventory = write_files(tmp_path)
    code = main(["simulate", "--input", str(sales), "--inventory", str(inventory), "--reviews", "6",
                 "--service-levels", "0.8,0.95", "--output", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    total = pd.read_csv(tmp_path / "out" / "total.csv")
    items = pd.read_csv(tmp_path / "out" / "items.csv")
    assert list(total["policy_service_level"]) == [0.8, 0.95] and len(items) == 6
    expected = simulate_policy(sales_frame(ITEMS, days=120), inventory_frame(list(ITEMS)), "ma7", 6,
                               [{"service_level": 0.8}, {"service_level": 0.95}]).total
    assert total["fill_rate"].tolist() == pytest.approx(expected["fill_rate"].round(6).tolist())
    classes = pd.read_csv(tmp_path / "out" / "classes.csv")
    assert classes.groupby("variant")["items"].sum().tolist() == [3, 3]


@pytest.mark.parametrize("args, message", [
    (["--reviews", "0"], "reviews must be a whole number from 1 to 104"),
    (["--service-levels", "1.5"], "service level"),
    (["--model", "nope"], "unknown model"),
])
def test_cli_bad_input_is_one_error_line_and_exit_2(tmp_path, capsys, args, message):
    sales, inventory = write_files(tmp_path)
    code = main(["simulate", "--input", str(sales), "--inventory", str(inventory), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_needs_files_or_a_client(capsys):
    assert main(["simulate"]) == 2
    assert "simulate needs --input" in capsys.readouterr().err


def test_cli_database_mode(db_url, tmp_path, capsys):
    from forecasting.services.container import build_services

    services = build_services(db_url)
    client = services.data.create_client("Acme").client_id
    services.data.import_sales(client, sales_frame(ITEMS, days=120))
    services.data.import_inventory(client, inventory_frame(list(ITEMS)))
    code = main(["simulate", "--client", "Acme", "--items", "A,B", "--reviews", "3", "--database-url", db_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    total = out.splitlines()
    assert total[0].startswith("variant,scope,items,demand") and total[1].startswith("0,total,2,")


def test_chunks_rank_abc_over_the_whole_catalogue():
    """A chunk of slow sellers alone would hold an A item; the class targets must come from all items."""
    rates = {"A1": 20.0, "A2": 18.0, "S1": 1.0, "S2": 1.2, "S3": 0.8, "S4": 1.1}
    # no own service level: each item's class cell decides its target
    sales, inventory = sales_frame(rates, days=150), inventory_frame(list(rates)).drop(columns="service_level")
    whole = simulate_policy(sales, inventory, "ma7", reviews=4)
    chunked = simulate_policy(sales, inventory, "ma7", reviews=4, chunk_items=2)
    pd.testing.assert_frame_equal(whole.items, chunked.items)
    assert "A" not in set(whole.items.loc[whole.items["item_id"].str.startswith("S"), "abc"])


def test_a_weekly_clients_simulation_replays_its_weeks(data):
    """Constant 70 a week: ma7 forecasts 70 with no error; L = 7 days, R = 14 days (2 weeks), 4 reviews.

    S = 70 x 21 / 7 = 210; an order placed at the end of a review week is received at the end of the next week.
    Every review orders what the last 2 weeks sold (140) and each arrives in time: never a lost sale.
    """
    fridays = pd.date_range(end="2024-06-28", periods=40, freq="W-FRI")
    sales = pd.DataFrame({"item_id": np.repeat(["A", "NEW"], [40, 9]),
                          "date": np.concatenate([fridays, fridays[-9:]]), "quantity": 70.0})
    inventory = inventory_frame(["A", "NEW"], lead_time_days=7).assign(review_period_days=14)
    client = data.create_client("Weekly").client_id
    data.import_sales(client, sales)
    data.import_inventory(client, inventory)
    outcome = SimulationService(ForecastService(data)).simulate(client, reviews=4)
    assert outcome.skipped == ("NEW",)  # 9 weeks: 1 before its first review 8 weeks ago, fewer than 7
    a = outcome.items.set_index("item_id").loc["A"]
    assert a["demand"] == 8 * 70 and a["served"] == 8 * 70 and a["lost"] == 0 and a["orders"] == 3
    assert a["days"] == 8 * 7 and a["cycles"] == 4 and a["days_out_of_stock"] == 0
    expected = simulate_policy(sales, inventory, "ma7", 4)
    pd.testing.assert_frame_equal(outcome.items, expected.items)
