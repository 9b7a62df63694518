"""GET/POST /api/v1/overrides, revert, GET /api/v1/fva and /plan: tenant-scoped (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from forecasting.services.planning import PlanningService

WEEK = {"start_date": "2024-04-30", "end_date": "2024-05-06"}


@pytest.fixture(scope="module")
def planned(api):
    """Client A's published plan: ma7 over 28 days, as of 2024-04-29 (client B has none)."""
    planning = PlanningService(api.data, api.service)
    planning.make_plan(api.a, "ma7", 28)
    return planning


def test_overrides_need_a_plan(api, planned):
    response = api.http.post("/api/v1/overrides", headers={"X-API-Key": api.key_b},
                             json={"overrides": [{"item_id": "B1", **WEEK, "change": 50, "kind": "percent",
                                                  "reason": "promotion"}]})
    assert response.status_code == 404 and "no published plan" in response.json()["detail"]
    assert api.http.get("/api/v1/plan", headers={"X-API-Key": api.key_b}).status_code == 404
    plan = api.http.get("/api/v1/plan", headers={"X-API-Key": api.key_a}).json()
    assert plan["as_of"] == "2024-04-29" and plan["model"] == "ma7" and plan["horizon"] == 28


def test_a_planner_overrides_and_the_reorder_table_uses_the_plan(api, planned):
    alice = api.bearer("alice")
    response = api.http.post("/api/v1/overrides", headers=alice, json={"overrides": [
        {"item_id": "A1", **WEEK, "change": 50, "kind": "percent", "reason": "promotion", "note": "flyer"}]})
    assert response.status_code == 201, response.text
    made = response.json()["overrides"][0]
    assert (made["created_by"], made["reason"], made["note"], made["reverted"]) == ("alice", "promotion", "flyer",
                                                                                    False)
    assert made["new_value"] == pytest.approx(1.5 * made["old_value"])
    listed = api.http.get("/api/v1/overrides", headers=alice, params={"item_id": "A1"}).json()
    assert [o["override_id"] for o in listed["overrides"]] == [made["override_id"]]
    reorder = api.http.post("/api/v1/reorder", headers=alice, json={"item_ids": ["A1"]}).json()
    assert reorder["plan_id"] == listed["plan_id"] and reorder["model"].startswith(f"plan {listed['plan_id']} ")
    fresh = api.http.post("/api/v1/reorder", headers=alice, json={"item_ids": ["A1"], "model": "ma7"}).json()
    assert fresh["plan_id"] is None and fresh["items"][0]["order_up_to"] < reorder["items"][0]["order_up_to"]
    queue = api.http.get("/api/v1/exceptions", headers=alice).json()
    assert queue["plan_id"] == listed["plan_id"]
    reverted = api.http.post(f"/api/v1/overrides/{made['override_id']}/revert", headers=alice).json()
    assert reverted["overrides"][0]["reverted"] and reverted["overrides"][0]["reverted_by"] == "alice"


def test_an_api_key_overrides_a_whole_category_for_its_client(api, planned):
    response = api.http.post("/api/v1/overrides", headers={"X-API-Key": api.key_a}, json={"overrides": [
        {"category": "cat", **WEEK, "change": 70, "kind": "total", "reason": "event"}]})
    assert response.status_code == 201, response.text
    made = response.json()["overrides"]
    assert sorted(o["item_id"] for o in made) == ["A1", "A2", "A3"]
    key = next(k for k in api.keys.list_keys(api.a) if api.key_a.startswith(k.prefix))
    assert {o["created_by"] for o in made} == {f"api key {key.key_id}"}
    assert all(o["new_value"] == pytest.approx(70) for o in made)


def test_bad_overrides_are_rejected_with_every_problem_and_nothing_stored(api, planned):
    before = api.http.get("/api/v1/overrides", headers={"X-API-Key": api.key_a}).json()["overrides"]
    response = api.http.post("/api/v1/overrides", headers={"X-API-Key": api.key_a}, json={"overrides": [
        {"item_id": "A1", **WEEK, "change": 5, "kind": "percent", "reason": "event"},
        {"item_id": "NOPE", **WEEK, "change": 5, "kind": "percent", "reason": "event"},
        {"item_id": "A1", "start_date": "2024-05-06", "end_date": "2024-05-01", "change": 5, "kind": "percent",
         "reason": "event"},
        {"item_id": "A1", **WEEK, "change": -120, "kind": "percent", "reason": "event"},
        {"item_id": "A1", "start_date": "2024-04-01", "end_date": "2024-04-02", "change": 5, "kind": "total",
         "reason": "event"},
    ]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    for text in ["unknown item", "end_date before start_date", "percentage below -100", "outside the plan's horizon"]:
        assert text in detail
    assert api.http.get("/api/v1/overrides", headers={"X-API-Key": api.key_a}).json()["overrides"] == before
    bad_reason = api.http.post("/api/v1/overrides", headers={"X-API-Key": api.key_a}, json={"overrides": [
        {"item_id": "A1", **WEEK, "change": 5, "kind": "percent", "reason": "whim"}]})
    assert bad_reason.status_code == 422


def test_a_second_client_never_sees_changes_or_counts_the_first_clients_overrides(api, planned):
    mine = api.http.get("/api/v1/overrides", headers={"X-API-Key": api.key_a}).json()["overrides"]
    assert mine
    bob = api.bearer("bob")
    assert api.http.get("/api/v1/overrides", headers=bob).json()["overrides"] == []
    assert api.http.get("/api/v1/overrides", headers=bob, params={"client_id": api.a}).status_code == 403
    for override in mine:
        response = api.http.post(f"/api/v1/overrides/{override['override_id']}/revert", headers=bob)
        assert response.status_code == 404
    assert api.http.get("/api/v1/overrides", headers={"X-API-Key": api.key_a}).json()["overrides"] == mine
    sneaky = api.http.post("/api/v1/overrides", headers={"X-API-Key": api.key_b}, json={"overrides": [
        {"item_id": "A1", **WEEK, "change": 5, "kind": "percent", "reason": "event"}]})
    assert sneaky.status_code == 404  # B has no plan, and A1 is not B's
    assert api.http.get("/api/v1/fva", headers={"X-API-Key": api.key_b}).json()["rows"] == []
    assert api.http.get("/api/v1/fva", headers={"X-API-Key": api.key_a}).status_code == 200
    reorder_b = api.http.post("/api/v1/reorder", headers=bob, json={}).json()
    assert reorder_b["plan_id"] is None and reorder_b["model"] == "ma7"


def test_the_planning_model_is_an_admins_setting_and_the_next_plan_uses_it(api, planned):
    api.users.create_user(api.a, "ada", "correct-horse-1", "admin")
    ada, alice = api.bearer("ada"), api.bearer("alice")
    assert api.http.get("/api/v1/planning-model", headers=alice).json() == {"client_id": api.a, "model": "auto"}
    for caller in (alice, {"X-API-Key": api.key_a}):  # a planner and an API key may read it, not change it
        refused = api.http.put("/api/v1/planning-model", headers=caller, json={"model": "seasonal-naive"})
        assert refused.status_code == 403 and "only an admin" in refused.json()["detail"]
    assert api.http.put("/api/v1/planning-model", headers=ada, json={"model": "no-such"}).status_code == 422
    changed = api.http.put("/api/v1/planning-model", headers=ada, json={"model": "seasonal-naive"})
    assert changed.status_code == 200 and changed.json() == {"client_id": api.a, "model": "seasonal-naive"}
    assert api.http.get("/api/v1/planning-model", headers={"X-API-Key": api.key_b}).json()["model"] == "auto"
    before = api.http.get("/api/v1/plan", headers=alice).json()
    made = api.http.post("/api/v1/plan", headers=alice).json()  # on demand, by a planner
    assert (made["model"], made["reused"], made["horizon"]) == ("seasonal-naive", False, before["horizon"])
    assert made["plan_id"] != before["plan_id"]
    again = api.http.post("/api/v1/plan", headers={"X-API-Key": api.key_a}).json()
    assert again["reused"] and again["plan_id"] == made["plan_id"]
    reorder = api.http.post("/api/v1/reorder", headers=alice, json={"item_ids": ["A1"]}).json()
    assert reorder["plan_id"] == made["plan_id"] and reorder["model"].startswith(f"plan {made['plan_id']} "
                                                                                  "(seasonal-naive")
    assert api.http.get("/api/v1/plan", headers=api.bearer("bob")).status_code == 404  # B's plan: still none
    api.http.put("/api/v1/planning-model", headers=ada, json={"model": "ma7"})
