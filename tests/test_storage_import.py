"""Imports: validated in full, one transaction, upsert with counts; what comes back out (both databases)."""
from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting.core.errors import ForecastingError, InvalidInputError, NotFoundError
from forecasting.core.history import prepare_history
from forecasting.storage import imports
from tests.support.db import database_state, inventory_frame, sales_frame


def _csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@pytest.fixture
def client(data):
    return data.create_client("Acme").client_id


def test_import_then_history_fills_missing_days_with_zero(data, client):
    result = data.import_sales(
        client, _csv("item_id,date,quantity\nB,2024-03-01,2\nA,2024-01-30,1\nA,2024-02-02,4.5\nB,2024-03-02,0\n")
    )
    assert (result.rows, result.inserted, result.updated, result.items, result.items_created) == (4, 4, 0, 2, 2)

    # every item runs to the client's last sales day (03-02): A's days after its last sale are zero sales too
    history = data.history(client, ["B", "A"])
    a_days = pd.date_range("2024-01-30", "2024-03-02")
    a_qty = np.where(a_days == "2024-01-30", 1.0, np.where(a_days == "2024-02-02", 4.5, 0.0))
    expected = pd.DataFrame(
        {
            "item_id": ["A"] * len(a_days) + ["B", "B"],
            "date": [*a_days, pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02")],
            "quantity": [*a_qty, 2.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(history, expected, check_dtype=False)
    assert history["item_id"].dtype == object and history["date"].dtype == "datetime64[ns]"
    assert data.get_client(client).as_of == date(2024, 3, 2)

    since = data.history(client, ["A", "B"], start=date(2024, 2, 1))
    assert since.groupby("item_id")["date"].agg(["min", "max"]).astype(str).values.tolist() == [
        ["2024-02-01", "2024-03-02"], ["2024-03-01", "2024-03-02"]
    ]
    assert since["quantity"].sum() == 6.5
    assert data.history(client, ["A", "B"], start=date(2024, 3, 2))["item_id"].tolist() == ["A", "B"]


def test_reimport_replaces_the_same_days_and_counts_inserted_and_updated(data, client):
    data.import_sales(client, sales_frame({"A": 5, "B": 3}, days=10, start="2024-01-01"))
    version = data.data_version(client)
    again = pd.DataFrame(
        {
            "item_id": ["A", "A", "A", "C"],
            "date": pd.to_datetime(["2024-01-10", "2024-01-11", "2024-01-12", "2024-01-05"]),
            "quantity": [100.0, 200.0, 300.0, 7.0],
        }
    )
    result = data.import_sales(client, again, move_as_of=True)  # B gains 2 zero days: confirmed
    assert (result.inserted, result.updated, result.items_created) == (3, 1, 1)
    assert data.data_version(client) == version + 1

    history = data.history(client, ["A", "C"])
    a = history[history.item_id == "A"].set_index("date")["quantity"]
    assert len(a) == 12
    assert a[pd.Timestamp("2024-01-10")] == 100.0 and a[pd.Timestamp("2024-01-12")] == 300.0
    first = sales_frame({"A": 5, "B": 3}, days=10, start="2024-01-01")
    np.testing.assert_array_equal(a.iloc[:9].to_numpy(), first.quantity.to_numpy()[:9])
    assert history[history.item_id == "C"]["quantity"].tolist() == [7.0] + [0.0] * 7  # to the as-of day 01-12


def test_covariates_are_history_columns_and_are_replaced_with_their_rows(data, client):
    data.import_sales(
        client,
        _csv("item_id,date,quantity,promo,price\nA,2024-01-01,1,0,2.5\nA,2024-01-02,2,1,2.0\nA,2024-01-04,3,1,2.5\n"),
    )
    history = data.history(client, ["A"])
    assert list(history.columns) == ["item_id", "date", "quantity", "price", "promo"]
    assert history["promo"].tolist() == [0.0, 1.0, 0.0, 1.0]  # the filled day has covariates 0
    assert history["price"].tolist() == [2.5, 2.0, 0.0, 2.5]

    data.import_sales(client, _csv("item_id,date,quantity\nA,2024-01-02,9\n"))  # the whole row is replaced
    history = data.history(client, ["A"])
    assert history["quantity"].tolist() == [1.0, 9.0, 0.0, 3.0]
    assert history["promo"].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_sales_version_changes_only_for_the_items_an_import_touches(data, database, client):
    data.import_sales(client, sales_frame({"A": 1, "B": 1}, days=5))
    before = {row[1]: row[4] for row in database_state(database)["items"]}
    data.import_sales(client, sales_frame({"B": 1}, days=2, start="2024-02-01"), move_as_of=True)
    after = {row[1]: row[4] for row in database_state(database)["items"]}
    assert after["A"] == before["A"] and after["B"] > before["B"]


BAD_SALES = {
    "repeated pair": "item_id,date,quantity\nA,2024-01-01,1\nA,2024-01-01,2\n",
    "unparsable date": "item_id,date,quantity\nA,2024-13-01,1\n",
    "negative quantity": "item_id,date,quantity\nA,2024-01-01,-1\n",
    "non-numeric quantity": "item_id,date,quantity\nA,2024-01-01,lots\n",
    "missing quantity": "item_id,date,quantity\nA,2024-01-01,\n",
    "empty item_id": "item_id,date,quantity\n,2024-01-01,1\n",
    "missing column": "item_id,quantity\nA,1\n",
    "bad row late in the file": "item_id,date,quantity\n" + "Z,2024-01-01,1\n" * 1 + "Y,2024-01-02,x\n",
}


@pytest.mark.parametrize("problem", list(BAD_SALES))
def test_every_bad_sales_file_leaves_the_database_unchanged(data, database, client, problem):
    data.import_sales(client, sales_frame({"A": 4}, days=20))
    before = database_state(database)
    with pytest.raises(InvalidInputError):
        data.import_sales(client, _csv(BAD_SALES[problem]))
    assert database_state(database) == before


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"item_id": ["A"], "date": ["2024-01-01"]}), "missing required column"),
        (pd.DataFrame({"item_id": ["A", "A"], "date": ["2024-01-01"] * 2, "quantity": [1, 2]}), "repeated"),
        (pd.DataFrame({"item_id": ["A"], "date": ["2024-01-01 10:30"], "quantity": [1]}), "unparsable date"),
        (pd.DataFrame({"item_id": [" "], "date": ["2024-01-01"], "quantity": [1]}), "empty item_id"),
        (pd.DataFrame({"item_id": ["A"], "date": ["2024-01-01"], "quantity": [np.inf]}), "finite number"),
        (
            pd.DataFrame({"item_id": ["A"], "date": ["2024-01-01"], "quantity": [1], "promo": ["x"]}),
            "non-numeric promo",
        ),
        (pd.DataFrame({"item_id": ["x" * 201], "date": ["2024-01-01"], "quantity": [1]}), "longer than 200"),
    ],
)
def test_bad_sales_frames_are_rejected_before_any_write(data, database, client, frame, message):
    before = database_state(database)
    with pytest.raises(InvalidInputError, match=message):
        data.import_sales(client, frame)
    assert database_state(database) == before


def test_a_failure_in_the_middle_of_writing_rolls_everything_back(data, database, client, monkeypatch):
    data.import_sales(client, sales_frame({"A": 4}, days=20))
    before = database_state(database)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "_insert_covariate", fail)  # runs after the sales rows are written
    with pytest.raises(RuntimeError, match="disk full"):
        data.import_sales(client, sales_frame({"A": 4, "NEW": 2}, days=30, promo=True))
    assert database_state(database) == before


def test_import_for_an_unknown_client_writes_nothing(data, database, client):
    before = database_state(database)
    with pytest.raises(NotFoundError, match="client 999 does not exist"):
        data.import_sales(999, sales_frame({"A": 1}, days=3))
    assert database_state(database) == before


def test_inventory_import_stores_parameters_and_positions(data, client):
    data.import_sales(client, sales_frame({"A": 4, "B": 2}, days=30))
    first = data.import_inventory(
        client,
        _csv("item_id,on_hand,on_order,lead_time_days,moq,pack_size,unit_cost,name,category\n"
             "A,10,5,3,12,6,1.5,Apples,Fruit\nC,0,0,2,0,1,,,\n"),
        as_of=date(2024, 2, 1),
    )
    assert (first.inserted, first.updated, first.items_created) == (2, 0, 1)
    items = data.list_items(client).set_index("item_id")
    a = items.loc["A"]
    assert (a["name"], a["category"], a["lead_time_days"], a["review_period_days"]) == ("Apples", "Fruit", 3, 7)
    assert (a["moq"], a["pack_size"], a["unit_cost"]) == (12.0, 6.0, 1.5)
    # no service_level in the file: none stored, the item's class cell of the client's policy applies
    assert np.isnan(a["service_level"]) and a["service_type"] == "" and not a["phase_out"]
    assert (a["on_hand"], a["on_order"], a["inventory_as_of"]) == (10.0, 5.0, pd.Timestamp("2024-02-01"))
    assert np.isnan(items.loc["B", "on_hand"]) and pd.isna(items.loc["B", "lead_time_days"])

    # a later position without name/category/cost keeps them; the same day is replaced
    second = data.import_inventory(client, _csv("item_id,on_hand,on_order,lead_time_days\nA,7,0,4\n"),
                                   as_of=date(2024, 2, 1))
    assert (second.inserted, second.updated) == (0, 1)
    third = data.import_inventory(client, _csv("item_id,on_hand,on_order,lead_time_days\nA,3,1,4\n"),
                                  as_of=date(2024, 2, 8))
    assert (third.inserted, third.updated) == (1, 0)
    a = data.list_items(client, ["A"]).iloc[0]
    assert (a["name"], a["unit_cost"], a["lead_time_days"], a["on_hand"], a["on_order"]) == ("Apples", 1.5, 4, 3.0, 1.0)
    assert a["inventory_as_of"] == pd.Timestamp("2024-02-08")

    inventory = data.inventory(client)
    assert inventory["item_id"].tolist() == ["A", "C"]
    assert list(inventory.columns) == [
        "item_id", "on_hand", "on_order", "lead_time_days", "review_period_days", "service_level", "moq",
        "pack_size", "unit_cost", "name", "category", "on_order_due", "service_type", "lead_time_std_days",
        "phase_out", "as_of",
    ]
    assert inventory["on_order_due"].isna().all()  # not given: the stock on order arrives after the lead time
    with pytest.raises(ForecastingError, match="no inventory position for item"):
        data.inventory(client, ["A", "B"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("item_id,on_hand,on_order,lead_time_days\nA,1,0,-2\n", "lead_time_days"),
        ("item_id,on_hand,on_order,lead_time_days,review_period_days\nA,1,0,300,100\n", "at most 365"),
        ("item_id,on_hand,on_order,lead_time_days\nA,1,0,2\nA,1,0,2\n", "repeated"),
        ("item_id,on_hand,lead_time_days\nA,1,2\n", "on_order"),
    ],
)
def test_bad_inventory_files_leave_the_database_unchanged(data, database, client, text, message):
    data.import_inventory(client, inventory_frame(["A"]))
    before = database_state(database)
    with pytest.raises(InvalidInputError, match=message):
        data.import_inventory(client, _csv(text))
    assert database_state(database) == before


def test_items_too_short_to_forecast_are_known_before_an_import(data, client):
    data.import_sales(client, _csv("item_id,date,quantity\nA,2024-03-01,2\nA,2024-03-10,1\nB,2024-03-08,1\n"))
    # stored: A from 03-01, B from 03-08, as of 03-10 (B has 3 days)
    upload = pd.DataFrame({
        "item_id": ["B", "C", "D"],
        "date": pd.to_datetime(["2024-03-12", "2024-03-12", "2024-03-01"]),
        "quantity": [1.0, 1.0, 1.0],
    })
    short = data.too_short_to_forecast(client, upload)
    # the upload moves the as-of date to 03-12: B has 5 days, C 1; D starts 03-01 (12 days); A is not in the file
    assert short.to_dict("list") == {
        "item_id": ["C", "B"],
        "first_date": [pd.Timestamp("2024-03-12"), pd.Timestamp("2024-03-08")],
        "days": [1, 5],
    }
    inventory = pd.DataFrame({"item_id": ["A", "B", "Z"]})
    short = data.too_short_to_forecast(client, inventory)
    assert short["item_id"].tolist() == ["Z", "B"] and short["days"].tolist() == [0, 3]
    assert pd.isna(short["first_date"].iloc[0])


def test_list_items_figures_and_categories(data, client):
    data.import_sales(
        client,
        _csv("item_id,date,quantity\nA,2024-01-01,5\nA,2024-01-20,1\nA,2024-02-10,2\nB,2024-01-15,4\nB,2024-01-16,6\n"),
    )
    data.import_inventory(
        client, _csv("item_id,on_hand,on_order,lead_time_days,category\nA,1,0,2,Fruit\nB,1,0,2,Veg\n")
    )
    items = data.list_items(client).set_index("item_id")
    assert items.loc["A", "first_date"] == pd.Timestamp("2024-01-01")
    assert items.loc["A", "last_date"] == pd.Timestamp("2024-02-10")
    assert items.loc["A", "total_quantity"] == 8.0
    # recent = the 28 days up to the client's last sales day (2024-02-10): from 2024-01-14 on
    assert items.loc["A", "recent_quantity"] == 3.0
    assert items.loc["B", "recent_quantity"] == 10.0
    assert data.categories(client) == ["Fruit", "Veg"]
    assert data.list_items(client, category="Veg").item_id.tolist() == ["B"]
    with pytest.raises(NotFoundError, match="unknown item"):
        data.list_items(client, ["A", "NOPE"])


def test_update_item_validates_and_bumps_the_data_version(data, client):
    data.import_inventory(client, inventory_frame(["A"]))
    version = data.data_version(client)
    data.update_item(client, "A", lead_time_days=9, service_level=0.9, name="Better name", unit_cost=None)
    a = data.list_items(client, ["A"]).iloc[0]
    assert (a["lead_time_days"], a["service_level"], a["name"]) == (9, 0.9, "Better name")
    assert np.isnan(a["unit_cost"])
    assert data.data_version(client) == version + 1

    for params, message in [
        ({"lead_time_days": 2.5}, "lead_time_days must be a whole number"),
        ({"service_level": 1}, "service_level must be a number strictly between 0 and 1"),
        ({"pack_size": 0}, "pack_size must be a number > 0"),
        ({"moq": "many"}, "moq must be a number >= 0"),
        ({"colour": "red"}, "unknown item parameter"),
        ({}, "nothing to update"),
        ({"lead_time_days": 300, "review_period_days": 100}, "at most 365"),
    ]:
        with pytest.raises(ForecastingError, match=message):
            data.update_item(client, "A", **params)
    assert data.data_version(client) == version + 1


def test_history_equals_the_cores_gap_filling_for_many_items_with_and_without_gaps(data, client):
    rng = np.random.default_rng(7)
    frame = sales_frame({f"I{i:02d}": float(i % 5) for i in range(30)}, days=200, promo=True)
    sparse = frame["item_id"].isin([f"I{i:02d}" for i in range(0, 30, 3)]).to_numpy()
    keep = ~sparse | (rng.random(len(frame)) < 0.6)  # every third item loses ~40% of its rows
    frame = frame[keep].sample(frac=1.0, random_state=1)  # and the file is not sorted
    data.import_sales(client, frame)
    ids = sorted(frame["item_id"].unique())

    expected = prepare_history(frame).frame
    pd.testing.assert_frame_equal(data.history(client, ids[::-1]), expected, check_dtype=False)

    start = pd.Timestamp("2024-03-15")
    since = data.history(client, ids, start=start.date())
    pd.testing.assert_frame_equal(since, expected[expected.date >= start].reset_index(drop=True), check_dtype=False)
