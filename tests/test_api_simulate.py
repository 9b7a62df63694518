"""``POST /api/v1/simulate``: the service's numbers, tenant scope, validation and the cost limit (both databases)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from forecasting.api.app import create_app
from forecasting.api.settings import ApiSettings
from forecasting.modes.factory import ModelFactory
from forecasting.services.limits import RequestLimits
from forecasting.services.simulation import SimulationService
from tests.support.api import SECRET

SIMULATE = "/api/v1/simulate"


def test_simulate_returns_the_services_numbers(api):
    body = {"item_ids": ["A1", "A2"], "reviews": 4, "service_levels": [0.8, 0.95]}
    response = api.http.post(SIMULATE, json=body, headers={"X-API-Key": api.key_a})
    assert response.status_code == 200, response.text
    got = response.json()
    expected = SimulationService(api.service).simulate(api.a, ["A1", "A2"], "ma7", 4,
                                                       [{"service_level": 0.8}, {"service_level": 0.95}])
    assert got["policies"] == [{"service_level": 0.8}, {"service_level": 0.95}]
    # the API's run and the service's own: two runs of kind simulation, the API's named in its answer
    assert got["simulation_id"] < expected.run_id
    assert api.data.get_run(api.a, got["simulation_id"]).kind == "simulation"
    assert pd.DataFrame(got["classes"]).groupby("variant")["items"].sum().tolist() == [2, 2]
    items = pd.DataFrame(got["items"])
    assert list(zip(items["variant"], items["item_id"])) == [(0, "A1"), (0, "A2"), (1, "A1"), (1, "A2")]
    np.testing.assert_allclose(items["avg_stock"], expected.items["avg_stock"], rtol=1e-12)
    total = pd.DataFrame(got["total"])
    assert list(total["group"]) == ["total", "total"]
    np.testing.assert_allclose(total["fill_rate"], expected.total["fill_rate"], rtol=1e-12)


def test_simulate_is_tenant_scoped(api):
    for headers in ({"X-API-Key": api.key_b}, api.bearer("bob")):
        assert api.http.post(SIMULATE, json={"item_ids": ["A1"], "reviews": 2}, headers=headers).status_code == 404
        assert api.http.post(SIMULATE, json={"client_id": api.a}, headers=headers).status_code == 403
        whole = api.http.post(SIMULATE, json={"reviews": 2}, headers=headers).json()
        assert {r["item_id"] for r in whole["items"]} == {"B1", "SHARED"}
    assert api.http.post(SIMULATE, json={"reviews": 2}).status_code == 401


def test_simulate_validation_and_cost_limit(api):
    headers = {"X-API-Key": api.key_a}
    typed = api.http.post(SIMULATE, json={"item_ids": ["A1"], "reviews": 2, "service_type": "fill"}, headers=headers)
    assert typed.status_code == 200 and typed.json()["policies"] == [{"service_type": "fill"}]
    for body in ({"service_type": "both"}, {"reviews": 0}, {"reviews": 105}, {"service_levels": [1.0]}, {"service_levels": []},
                 {"model": "nope"}, {"extra": 1}):
        assert api.http.post(SIMULATE, json=body, headers=headers).status_code == 422, body
    one_plan = ModelFactory.cost("ma7", 3)
    app = create_app(api.database, ApiSettings(SECRET), limits=RequestLimits(max_cost_units=one_plan * 5))
    limited = TestClient(app).post(SIMULATE, json={"reviews": 6}, headers=headers)
    assert limited.status_code == 422, limited.text  # a limit, like every other cost budget
    assert "6 reviews x a reorder plan of 3 items of ma7" in limited.json()["detail"]
