"""Tenant isolation: client B's ids through client A's calls are "not found", never data (both databases)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd
import pytest

from forecasting.core.errors import NotFoundError
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.users import UserService
from forecasting.storage import open_database
from tests.support.db import BACKENDS, database_state, inventory_frame, new_url, sales_frame


@dataclass
class World:
    data: DataAccess
    service: ForecastService
    a: int
    b: int
    b_user: int
    b_run: int
    a_run: int


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory) -> Iterator[World]:
    """Two clients; both have an item called SHARED with the very same sales, B also has B-ONLY."""
    for url in new_url(request.param, tmp_path_factory.mktemp("isolation")):
        database = open_database(url)
        data = DataAccess(database)
        service = ForecastService(data)
        a = data.create_client("A").client_id
        b = data.create_client("B").client_id
        data.import_sales(a, sales_frame({"SHARED": 5, "A-ONLY": 3}, days=60))
        data.import_sales(b, sales_frame({"SHARED": 5}, days=60))
        data.import_sales(b, sales_frame({"B-ONLY": 7}, days=60, seed=1))
        data.import_inventory(a, inventory_frame(["SHARED", "A-ONLY"]).assign(category="A-cat"))
        data.import_inventory(b, inventory_frame(["SHARED", "B-ONLY"]).assign(category="B-cat"))
        b_user = UserService(database, bcrypt_rounds=4).create_user(b, "b-planner", "b-password-1").user_id
        b_run = service.forecast(b, ["B-ONLY"], "ma7", 7).run_id
        a_run = service.forecast(a, ["A-ONLY"], "ma7", 7).run_id
        yield World(data, service, a, b, b_user, b_run, a_run)
        database.dispose()


CROSS_CLIENT_CALLS: dict[str, Callable[[World], object]] = {
    "list_items": lambda w: w.data.list_items(w.a, ["B-ONLY"]),
    "history": lambda w: w.data.history(w.a, ["SHARED", "B-ONLY"]),
    "history_snapshot": lambda w: w.data.history_snapshot(w.a, ["B-ONLY"]),
    "inventory": lambda w: w.data.inventory(w.a, ["B-ONLY"]),
    "update_item": lambda w: w.data.update_item(w.a, "B-ONLY", lead_time_days=1),
    "update_items": lambda w: w.data.update_items(w.a, {"B-ONLY": {"moq": 1}}),
    "get_run": lambda w: w.data.get_run(w.a, w.b_run),
    "run_forecast": lambda w: w.data.run_forecast(w.a, w.b_run),
    "require_user": lambda w: w.data.require_user(w.a, w.b_user),
    "lookup_forecast": lambda w: w.data.lookup_forecast(w.a, ["B-ONLY"], lambda fingerprint: fingerprint),
    "service.history": lambda w: w.service.history(w.a, ["B-ONLY"]),
    "service.forecast": lambda w: w.service.forecast(w.a, ["B-ONLY"], "ma7", 7),
    "service.forecast as B's user": lambda w: w.service.forecast(w.a, ["SHARED"], "ma7", 7, user_id=w.b_user),
    "service.get_forecast": lambda w: w.service.get_forecast(w.a, w.b_run),
    "service.backtest": lambda w: w.service.backtest(w.a, ["B-ONLY"], ["ma7"], 7),
    "service.reorder": lambda w: w.service.reorder(w.a, ["B-ONLY"]),
}

UNKNOWN_CLIENT_CALLS: dict[str, Callable[[World], object]] = {
    "get_client": lambda w: w.data.get_client(999),
    "data_version": lambda w: w.data.data_version(999),
    "list_items": lambda w: w.data.list_items(999),
    "categories": lambda w: w.data.categories(999),
    "history": lambda w: w.data.history(999, ["SHARED"]),
    "inventory": lambda w: w.data.inventory(999),
    "list_runs": lambda w: w.data.list_runs(999),
    "import_sales": lambda w: w.data.import_sales(999, sales_frame({"X": 1}, days=2)),
    "import_inventory": lambda w: w.data.import_inventory(999, inventory_frame(["X"])),
    "service.forecast": lambda w: w.service.forecast(999, ["SHARED"], "ma7", 7),
    "service.reorder": lambda w: w.service.reorder(999),
}


@pytest.mark.parametrize("call", list(CROSS_CLIENT_CALLS))
def test_another_clients_ids_are_not_found(world, call):
    before = database_state(world.data.database)
    with pytest.raises(NotFoundError):
        CROSS_CLIENT_CALLS[call](world)
    after = database_state(world.data.database)
    assert after == before


@pytest.mark.parametrize("call", list(UNKNOWN_CLIENT_CALLS))
def test_an_unknown_client_is_not_found(world, call):
    with pytest.raises(NotFoundError, match="client 999"):
        UNKNOWN_CLIENT_CALLS[call](world)


def test_listings_show_only_the_clients_own_rows(world):
    assert world.data.list_items(world.a)["item_id"].tolist() == ["A-ONLY", "SHARED"]
    assert world.data.categories(world.a) == ["A-cat"]
    assert world.data.inventory(world.a)["item_id"].tolist() == ["A-ONLY", "SHARED"]
    assert world.data.list_runs(world.a)["run_id"].tolist() == [world.a_run]
    assert world.data.get_run(world.a, world.a_run).client_id == world.a


def test_the_same_item_id_means_each_clients_own_data(world):
    a = world.data.history(world.a, ["SHARED"])
    b = world.data.history(world.b, ["SHARED"])
    pd.testing.assert_frame_equal(a, b)  # same numbers were imported for both...
    world.data.import_sales(world.b, pd.DataFrame({"item_id": ["SHARED"], "date": ["2024-01-01"], "quantity": [999.0]}))
    assert world.data.history(world.b, ["SHARED"])["quantity"].iloc[0] == 999.0
    pd.testing.assert_frame_equal(world.data.history(world.a, ["SHARED"]), a)  # ...but B's import left A's alone


def test_identical_data_of_another_client_is_never_a_cache_hit(world):
    a = world.service.forecast(world.a, ["A-ONLY"], "ma7", 9)
    world.data.import_sales(world.b, world.data.history(world.a, ["A-ONLY"]))  # the very data A has
    b = world.service.forecast(world.b, ["A-ONLY"], "ma7", 9)
    assert b.cached is False and b.run_id != a.run_id
    pd.testing.assert_frame_equal(a.forecast, b.forecast)
