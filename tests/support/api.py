"""Shared fixtures of the REST API tests (no tests here): two clients with data, users, keys, the app.

``api`` is module-scoped and parametrised like ``tests.support.db.db_url``:
SQLite always, PostgreSQL (a schema of its own) when TEST_DATABASE_URL is set.
Tests that change users or keys make their own, so that they do not disturb
the others sharing the module's database.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from forecasting.api.app import create_app
from forecasting.api.settings import ApiSettings
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.users import UserService
from forecasting.storage import Database, open_database
from forecasting.services.api_keys import ApiKeyService
from tests.support.db import BACKENDS, inventory_frame, new_url, sales_frame

PASSWORD = "correct-horse-1"
SECRET = "test-secret-" + "x" * 40
A_SALES = {"A1": 5.0, "A2": 2.0, "A3": 9.0, "SHARED": 4.0}
B_SALES = {"B1": 7.0, "SHARED": 30.0}
SALES_DAYS = 120
#: an item of A with 3 days of sales: too short for any model
SHORT_ITEM = "A-NEW"
#: A1's name starts like a spreadsheet formula (the reorder CSV must neutralise it)
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


@dataclass
class ApiWorld:
    url: str
    database: Database
    app: FastAPI
    http: TestClient
    data: DataAccess
    service: ForecastService
    users: UserService
    keys: ApiKeyService
    a: int
    b: int
    key_a: str
    key_b: str
    alice: int
    bob: int

    def token(self, username: str, password: str = PASSWORD) -> str:
        response = self.http.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


def build_world(url: str) -> ApiWorld:
    """Clients A and B (each with an item SHARED, different sales), alice of A, bob of B, a key each."""
    database = open_database(url)
    data = DataAccess(database)
    users = UserService(database, bcrypt_rounds=4)
    keys = ApiKeyService(database)
    a = data.create_client("Acme").client_id
    b = data.create_client("Bolt").client_id
    data.import_sales(a, sales_frame(A_SALES, days=SALES_DAYS, seed=0))
    data.import_sales(b, sales_frame(B_SALES, days=SALES_DAYS, seed=1))
    data.import_sales(a, sales_frame({SHORT_ITEM: 3.0}, days=3, start="2024-04-27", seed=2))
    inventory_a = inventory_frame(["A1", "A2", "A3"])
    inventory_a.loc[0, "name"] = FORMULA_NAME
    data.import_inventory(a, inventory_a)
    data.import_inventory(b, inventory_frame(["B1", "SHARED"], lead_time_days=5))
    alice = users.create_user(a, "alice", PASSWORD).user_id
    bob = users.create_user(b, "bob", PASSWORD).user_id
    app = create_app(database, ApiSettings(SECRET))
    return ApiWorld(
        url=url,
        database=database,
        app=app,
        http=TestClient(app),
        data=data,
        service=ForecastService(data),
        users=users,
        keys=keys,
        a=a,
        b=b,
        key_a=keys.create(a, "erp").key,
        key_b=keys.create(b, "erp").key,
        alice=alice,
        bob=bob,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory) -> Iterator[ApiWorld]:
    for url in new_url(request.param, tmp_path_factory.mktemp("api")):
        world = build_world(url)
        with world.http:
            yield world
        world.database.dispose()
