"""Property-based run of the OpenAPI schema with schemathesis: no generated request gets a 5xx.

A bounded number of examples per operation, in process (ASGI), on SQLite,
authenticated with a service key of a client whose items are those of the
schema's examples (so that the examples phase reaches the models). Skipped
when schemathesis is not installed.

The schema is read from an app over a database that is never opened (building
the OpenAPI document needs none); the requests go to an app over real data,
built by a fixture. (``schemathesis.pytest.from_fixture`` would do both in one,
but schemathesis 4.32 sets a pytest node attribute that pytest 9 removed.)
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (pip install schemathesis==4.32.5)"
)

from hypothesis import HealthCheck, settings  # noqa: E402  (schemathesis brings hypothesis)

from forecasting.api.app import create_app  # noqa: E402
from forecasting.api.settings import ApiSettings  # noqa: E402
from forecasting.services.data_access import DataAccess  # noqa: E402
from forecasting.services.users import UserService  # noqa: E402
from forecasting.storage import Database, open_database  # noqa: E402
from forecasting.services.api_keys import ApiKeyService  # noqa: E402
from tests.support.db import inventory_frame, sales_frame  # noqa: E402
from tests.support.api import PASSWORD, SECRET  # noqa: E402

MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_dict(create_app(Database("sqlite://"), ApiSettings(SECRET)).openapi())


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory) -> Iterator[tuple[object, str]]:
    """(app, API key) over a client with the schema examples' items SKU-1 and SKU-2; no Chronos-2 weights."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CHRONOS_MODEL", str(tmp_path_factory.mktemp("no-weights") / "missing"))
    database = open_database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    data = DataAccess(database)
    client = data.create_client("Fuzz").client_id
    data.import_sales(client, sales_frame({"SKU-1": 5.0, "SKU-2": 2.0}, days=90))
    data.import_inventory(client, inventory_frame(["SKU-1", "SKU-2"]))
    UserService(database, bcrypt_rounds=4).create_user(client, "fuzzer", PASSWORD)
    key = ApiKeyService(database).create(client, "fuzz").key
    yield create_app(database, ApiSettings(SECRET)), key
    database.dispose()
    patch.undo()


def no_unexpected_server_error(ctx, response, case) -> None:
    """No 5xx but the documented 503 of a model that cannot run here (Chronos-2 without weights)."""
    if response.status_code == 503:
        assert response.json()["detail"].startswith("model chronos-2 cannot run here: "), response.content[:300]
        return
    assert response.status_code < 500, f"{response.status_code}: {response.content[:300]!r}"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case, fuzz_world):
    app, key = fuzz_world
    case.call_and_validate(app=app, headers={"X-API-Key": key}, checks=[no_unexpected_server_error])
