"""Issue 19 through the REST API (both databases): purchase orders are the caller's own, approval needs a person."""
from __future__ import annotations

from forecasting.services.purchasing import PurchasingService
from tests.support.api import PASSWORD

SUPPLIERS = b"""record,supplier,lead_time_days,currency,item_id,pack_size,unit_cost,supplier_item_code
supplier,Acme Supply,4,EUR,,,,
item,Acme Supply,,,A1,5,1.25,X-1
"""


def test_purchase_orders_are_tenant_scoped_and_approval_needs_a_users_token(api):
    purchasing = PurchasingService(api.data, api.service)
    purchasing.import_suppliers(api.a, SUPPLIERS)
    alice, bob = api.bearer("alice"), api.bearer("bob")
    mine = api.http.get("/api/v1/suppliers", headers=alice).json()
    assert [s["name"] for s in mine["suppliers"]] == ["Acme Supply"] and mine["links"][0]["supplier_item_code"] == "X-1"
    assert api.http.get("/api/v1/suppliers", headers=bob).json() == {"client_id": api.b, "suppliers": [], "links": []}
    assert api.http.get(f"/api/v1/suppliers?client_id={api.a}", headers=bob).status_code == 403

    proposed = api.http.post("/api/v1/purchase-orders/propose", headers=alice)
    assert proposed.status_code == 200, proposed.text
    lines = proposed.json()["lines"]
    assert lines and {line["state"] for line in lines} == {"draft"}
    acme = [line for line in lines if line["supplier"] == "Acme Supply"]
    assert [line["item_id"] for line in acme] == ["A1"] and acme[0]["order_qty"] % 5 == 0

    # B sees none of A's orders, cannot name A's client, cannot approve A's orders or lines
    assert api.http.get("/api/v1/purchase-orders", headers=bob).json() == {"client_id": api.b, "lines": []}
    assert api.http.get(f"/api/v1/purchase-orders?client_id={api.a}", headers=bob).status_code == 403
    order, line = acme[0]["order"], acme[0]["line"]
    assert api.http.post("/api/v1/purchase-orders/approve", json={"orders": [order]}, headers=bob).status_code == 404
    assert api.http.post("/api/v1/purchase-orders/approve", json={"lines": [line]}, headers=bob).status_code == 404
    # a service key reads but does not approve (an approval records who approved)
    key = {"X-API-Key": api.key_a}
    assert api.http.get("/api/v1/purchase-orders", headers=key).status_code == 200
    assert api.http.post("/api/v1/purchase-orders/approve", json={}, headers=key).status_code == 403

    approved = api.http.post("/api/v1/purchase-orders/approve", json={"orders": [order]}, headers=alice)
    assert approved.status_code == 200 and approved.json()["approved"] == 1
    history = api.http.get("/api/v1/purchase-orders?status=approved", headers=alice).json()["lines"]
    assert [(h["item_id"], h["approved_by"]) for h in history] == [("A1", "alice")]
    assert history[0]["approved_at"] is not None and history[0]["due_date"] is not None
    assert api.http.get("/api/v1/purchase-orders", headers=bob).json()["lines"] == []


def _admin(api, username: str, client: int) -> dict[str, str]:
    api.users.create_user(client, username, PASSWORD, "admin")
    return api.bearer(username)


def test_admins_edit_suppliers_planners_and_keys_cannot_and_clients_stay_apart(api):
    admin, alice, bob = _admin(api, "a-boss", api.a), api.bearer("alice"), api.bearer("bob")
    terms = {"lead_time_days": 6, "lead_time_std_days": 1.5, "min_order_value": 50, "currency": "EUR"}
    # planners and service keys do not change suppliers
    assert api.http.put("/api/v1/suppliers/Zeta", json=terms, headers=alice).status_code == 403
    assert api.http.put("/api/v1/suppliers/Zeta", json=terms, headers={"X-API-Key": api.key_a}).status_code == 403
    made = api.http.put("/api/v1/suppliers/Zeta", json=terms, headers=admin)
    assert made.status_code == 200, made.text
    zeta = {s["name"]: s for s in made.json()["suppliers"]}["Zeta"]
    assert (zeta["lead_time_days"], zeta["min_order_value"], zeta["currency"]) == (6, 50.0, "EUR")
    assert zeta["lead_time_std_days"] == 1.5
    changed = api.http.put("/api/v1/suppliers/Zeta", json={**terms, "lead_time_days": 8}, headers=admin).json()
    assert {s["name"]: s["lead_time_days"] for s in changed["suppliers"]}["Zeta"] == 8
    # the supplier file's rules, every problem in one answer, nothing changed
    bad = api.http.put("/api/v1/suppliers/Zeta", json={"lead_time_days": -1, "order_days": "someday",
                                                       "capacity_units": 0, "lead_time_std_days": -2},
                       headers=admin)
    assert bad.status_code == 422
    for problem in ("lead_time_days must be a whole number of days >= 0", "order_days must be weekdays",
                    "capacity_units must be a number > 0", "lead_time_std_days must be a number of days >= 0"):
        assert problem in bad.json()["detail"]
    assert "Traceback" not in bad.text and "SELECT" not in bad.text
    link = {"supplier": "Zeta", "pack_size": 6, "unit_cost": 1.5, "supplier_item_code": "Z-2"}
    assert api.http.put("/api/v1/item-suppliers/A2", json=link, headers=alice).status_code == 403
    linked = api.http.put("/api/v1/item-suppliers/A2", json=link, headers=admin)
    assert linked.status_code == 200, linked.text
    assert {x["item_id"]: x["supplier_item_code"] for x in linked.json()["links"]}["A2"] == "Z-2"
    zero = api.http.put("/api/v1/item-suppliers/A2", json={**link, "pack_size": 0, "supplier": "Nobody"},
                        headers=admin)
    assert zero.status_code == 422 and "pack_size must be a number > 0" in zero.json()["detail"]
    assert "unknown supplier" in zero.json()["detail"]
    # the plan uses the link's pack and the supplier's lead time
    assert api.data.inventory(api.a, ["A2"]).iloc[0][["lead_time_days", "pack_size", "lead_time_std_days"]
                                                     ].tolist() == [8, 6.0, 1.5]

    # B's admin: another client's supplier and item are not found, and B's own data is unchanged
    b_admin = _admin(api, "b-boss", api.b)
    assert api.http.delete("/api/v1/suppliers/Zeta", headers=b_admin).status_code == 404
    assert api.http.delete("/api/v1/item-suppliers/A2", headers=b_admin).status_code == 404
    assert api.http.put("/api/v1/item-suppliers/A2", json=link, headers=b_admin).status_code == 422  # not B's
    assert api.http.get("/api/v1/suppliers", headers=bob).json()["suppliers"] == []

    assert api.http.delete("/api/v1/item-suppliers/A2", headers=alice).status_code == 403
    unlinked = api.http.delete("/api/v1/item-suppliers/A2", headers=admin)
    assert unlinked.status_code == 200 and "A2" not in {x["item_id"] for x in unlinked.json()["links"]}
    assert api.data.inventory(api.a, ["A2"]).iloc[0]["lead_time_days"] == 3  # its own again
    assert api.http.delete("/api/v1/suppliers/Zeta", headers=alice).status_code == 403
    gone = api.http.delete("/api/v1/suppliers/Zeta", headers=admin)
    assert gone.status_code == 200 and "Zeta" not in {s["name"] for s in gone.json()["suppliers"]}


def test_planners_edit_remove_and_add_draft_lines_through_the_api(api):
    admin, alice, bob = _admin(api, "a-chief", api.a), api.bearer("alice"), api.bearer("bob")
    api.http.put("/api/v1/suppliers/Omega", json={"lead_time_days": 2}, headers=admin)
    for item in ("A1", "A3"):
        api.http.put(f"/api/v1/item-suppliers/{item}", json={"supplier": "Omega", "pack_size": 2}, headers=admin)
    lines = api.http.post("/api/v1/purchase-orders/propose", headers=alice).json()["lines"]
    omega = [x for x in lines if x["supplier"] == "Omega"]
    assert omega, lines
    line, order = omega[0]["line"], omega[0]["order"]
    # edit needs a reason; B cannot touch A's line; a service key cannot either
    assert api.http.patch(f"/api/v1/purchase-orders/lines/{line}", json={"quantity": 40, "reason": ""},
                          headers=alice).status_code == 422
    assert api.http.patch(f"/api/v1/purchase-orders/lines/{line}", json={"quantity": 40, "reason": "promo"},
                          headers=bob).status_code == 404
    assert api.http.patch(f"/api/v1/purchase-orders/lines/{line}", json={"quantity": 40, "reason": "promo"},
                          headers={"X-API-Key": api.key_a}).status_code == 403
    edited = api.http.patch(f"/api/v1/purchase-orders/lines/{line}", json={"quantity": 40, "reason": "promo"},
                            headers=alice)
    assert edited.status_code == 200, edited.text
    mine = {x["line"]: x for x in edited.json()["lines"]}[line]
    assert (mine["order_qty"], mine["edit_reason"], mine["edited_by"]) == (40.0, "promo", "alice")
    # remove it, then add it back to the same order with a new quantity
    assert api.http.post(f"/api/v1/purchase-orders/lines/{line}/remove", json={"reason": "x"},
                         headers=bob).status_code == 404
    removed = api.http.post(f"/api/v1/purchase-orders/lines/{line}/remove", json={"reason": "bought locally"},
                            headers=alice)
    assert removed.status_code == 200 and line not in {x["line"] for x in removed.json()["lines"]}
    item = omega[0]["item_id"]
    assert api.http.post(f"/api/v1/purchase-orders/{order}/lines",
                         json={"item_id": item, "quantity": 10, "reason": "back"}, headers=bob).status_code == 404
    wrong = api.http.post(f"/api/v1/purchase-orders/{order}/lines",
                          json={"item_id": "A2", "quantity": 10, "reason": "not Omega's"}, headers=alice)
    assert wrong.status_code == 422 and "not an item of supplier 'Omega'" in wrong.json()["detail"]
    added = api.http.post(f"/api/v1/purchase-orders/{order}/lines",
                          json={"item_id": item, "quantity": 10, "reason": "back after all"}, headers=alice)
    assert added.status_code == 200, added.text
    new = [x for x in added.json()["lines"] if x["order"] == order and x["item_id"] == item]
    assert [(x["order_qty"], x["reason"], x["edit_reason"], x["lead_time_days"]) for x in new] == [
        (10.0, "added", "back after all", 2)]  # Omega's lead time, the one the plan uses
    twice = api.http.post(f"/api/v1/purchase-orders/{order}/lines",
                          json={"item_id": item, "quantity": 5, "reason": "again"}, headers=alice)
    assert twice.status_code == 422 and "already" in twice.json()["detail"]
    for name in ("A1", "A3"):
        api.http.delete(f"/api/v1/item-suppliers/{name}", headers=admin)
