"""Demo data: a reproducible, store-like generator, and an idempotent load with working demo logins."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.services.container import build_services
from forecasting.services.data_access import DataAccess
from forecasting.services.demo_data import DEMO_CLIENTS, DEMO_USERS, demo_end, generate, load_demo, write_files
from forecasting.services.users import UserService
from tests.support.db import database_state

FOODS, NORTHWIND = DEMO_CLIENTS


@pytest.fixture(scope="module")
def foods() -> tuple[pd.DataFrame, pd.DataFrame]:
    sales, inventory = generate(FOODS)
    return sales.assign(date=pd.to_datetime(sales["date"])), inventory


def test_the_generator_is_reproducible():
    first, second = generate(NORTHWIND), generate(NORTHWIND)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_demo_foods_looks_like_a_grocery_store(foods):
    sales, inventory = foods
    spans = sales.groupby("item_id")["date"].agg(["min", "max", "size"])
    assert len(spans) == 200
    end = pd.Timestamp(demo_end())  # yesterday: a newcomer's first screen is current data
    assert end == pd.Timestamp.now("UTC").normalize().tz_localize(None) - pd.Timedelta(days=1)
    assert sales["date"].max() == end and sales["date"].min() == end - pd.Timedelta(days=3 * 365 - 1)
    before_end = sales[sales["date"] < end]
    assert not ((before_end["date"].dt.month == 12) & (before_end["date"].dt.day == 25)).any()  # closed at Christmas

    new = spans["min"] > end - pd.Timedelta(days=300)
    assert new.sum() >= 5
    not_stocked = sorted(set(spans.index) - set(inventory["item_id"]))  # discontinued: no stock position
    assert len(not_stocked) >= 5
    assert (spans.loc[not_stocked, "max"] <= end - pd.Timedelta(days=60)).all()

    daily_mean = sales.groupby("item_id")["quantity"].sum() / ((spans["max"] - spans["min"]).dt.days + 1)
    slow = daily_mean < 1
    assert slow.sum() >= 15  # intermittent slow movers: rows only on days with sales

    regular = sales[sales.item_id.isin(daily_mean.index[daily_mean > 5])]
    promo_lift = regular.groupby("promo")["quantity"].mean()
    assert set(sales["promo"].unique()) == {0, 1} and promo_lift[1] > 1.3 * promo_lift[0]
    by_weekday = regular[regular.promo == 0].groupby(regular["date"].dt.dayofweek)["quantity"].mean()
    assert by_weekday[5] > 1.2 * by_weekday[1]  # Saturdays beat Tuesdays
    inventory_cats = inventory.set_index("item_id")["category"]
    drinks = regular[regular.item_id.map(inventory_cats) == "Beverages"]
    by_month = drinks.groupby(drinks["date"].dt.month)["quantity"].mean()
    assert by_month[7] > 1.2 * by_month[1]  # summer peak

    parameters = ["lead_time_days", "review_period_days", "service_level", "pack_size", "unit_cost"]
    assert inventory[parameters].notna().all().all()
    assert inventory["name"].is_unique and (inventory["category"] != "").all()


def test_demo_files_are_written_for_each_client(tmp_path):
    write_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo_foods_inventory.csv", "demo_foods_sales.csv", "northwind_inventory.csv", "northwind_sales.csv",
    ]
    sales = pd.read_csv(tmp_path / "northwind_sales.csv")
    pd.testing.assert_frame_equal(sales, generate(NORTHWIND)[0].astype({"quantity": np.int64}))


def test_load_demo_command_is_idempotent_and_its_logins_work(db_url, database, demo_folder, capsys):
    argv = ["load-demo", "--folder", str(demo_folder), "--database-url", db_url]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Demo Foods: sales: ") and out[1].startswith("Northwind Retail: sales: ")
    assert "  Demo Foods: planner / planner-demo-1 (planner)" in out
    state = database_state(database)

    again = load_demo(build_services(database, bcrypt_rounds=4), demo_folder)
    assert again == ["Demo Foods: already loaded", "Northwind Retail: already loaded"]
    assert database_state(database) == state

    data, users = DataAccess(database), UserService(database, bcrypt_rounds=4)
    sales, inventory = generate(FOODS)
    foods = data.client_by_name("Demo Foods").client_id
    items = data.list_items(foods)
    assert len(items) == 200 and int(items["total_quantity"].sum()) == int(sales["quantity"].sum())
    assert items["on_hand"].notna().sum() == len(inventory)
    for user in DEMO_USERS:
        logged_in = users.authenticate(user.username, user.password)
        assert (logged_in.client_name, logged_in.role) == (user.client, user.role)
    northwind = data.client_by_name("Northwind Retail").client_id
    assert set(data.list_items(northwind)["item_id"].str[:3]) == {"NW-"}
    assert np.isin(data.list_items(foods)["item_id"].str[:3], ["DF-"]).all()


def test_load_demo_ends_yesterday_and_brings_an_older_demo_up_to_yesterday(database, tmp_path):
    services = build_services(database, bcrypt_rounds=4)
    data = DataAccess(database)
    older = demo_end() - pd.Timedelta(days=20)
    load_demo(services, tmp_path, end=older)
    foods = data.client_by_name("Demo Foods").client_id
    assert data.get_client(foods).as_of == older
    before = data.history(foods, ["DF-0001"])

    report = load_demo(services, tmp_path)  # what scripts/run_app.sh runs every start
    assert report[0].startswith(f"Demo Foods: brought up to {demo_end():%Y-%m-%d} from {older:%Y-%m-%d}: ")
    assert data.get_client(foods).as_of == demo_end()
    assert data.get_client(data.client_by_name("Northwind Retail").client_id).as_of == demo_end()
    after = data.history(foods, ["DF-0001"])
    kept = after[pd.to_datetime(after["date"]).dt.date <= older].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before.reset_index(drop=True))  # the earlier history stays
    assert len(after) == len(before) + 20
    stopped = set(generate(FOODS)[0]["item_id"]) - set(generate(FOODS)[1]["item_id"])  # discontinued items
    recent = data.list_items(foods).set_index("item_id")["last_date"]
    assert (pd.to_datetime(recent[sorted(stopped)]).dt.date <= older).all()  # stay discontinued
    assert load_demo(services, tmp_path)[:2] == ["Demo Foods: already loaded", "Northwind Retail: already loaded"]
