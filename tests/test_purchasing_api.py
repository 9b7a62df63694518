"""Issue 19 through the REST API (both databases): purchase orders are the caller's own, approval needs a person."""
from __future__ import annotations

from forecasting.services.purchasing import PurchasingService

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
