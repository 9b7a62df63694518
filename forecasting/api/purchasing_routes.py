"""Purchase-order and supplier routes (issue 19): the caller's orders, edits and approval by a person.

Roles (docs/inventory-policy.md, "Who may do what"): any user of the client
(planner or admin) proposes, edits draft lines and approves; a service key (no
person behind it) reads orders and suppliers but changes nothing, since every
change records who made it. Suppliers and item links are changed by admins
only (here with an admin's token, on the Data page, or with ``import-suppliers``
by an operator), checked by the supplier file's rules.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from forecasting.api import convert
from forecasting.api.dependencies import PrincipalDep, StateDep, client_of
from forecasting.api.errors import error_responses
from forecasting.api.schemas import MAX_DB_ID, ModelName
from forecasting.services.purchasing import LINE_COLUMNS, PurchasingService

API = "/api/v1"
router = APIRouter()


class OrderLine(BaseModel):
    order: str
    supplier: str
    currency: str
    item_id: str
    name: str
    supplier_item_code: str
    state: str = Field(description="draft, approved or removed")
    reason: str = Field(description="order now, review due, minimum (pulled forward) or added")
    qty_needed: float = Field(description="order-up-to level minus inventory position, before rounding")
    qty_rounded: float = Field(description="rounded up to whole packs, at least the MOQ")
    order_qty: float = Field(description="the quantity ordered (the rounded one unless edited)")
    unit_cost: float | None
    order_value: float | None = Field(description="order_qty x unit_cost in cents")
    lead_time_days: int
    due_date: date | None
    approved_by: str | None
    approved_at: datetime | None
    edit_reason: str
    edited_by: str | None
    line: int


class OrdersResponse(BaseModel):
    client_id: int
    lines: list[OrderLine]


class SupplierOut(BaseModel):
    name: str
    lead_time_days: int
    lead_time_std_days: float | None
    order_days: str
    review_period_days: int | None
    min_order_value: float
    min_order_qty: float
    capacity_units: float | None
    currency: str


class SupplierLinkOut(BaseModel):
    item_id: str
    supplier: str
    pack_size: float
    moq: float
    unit_cost: float | None
    lead_time_days: int | None
    lead_time_std_days: float | None
    supplier_item_code: str


class SuppliersResponse(BaseModel):
    client_id: int
    suppliers: list[SupplierOut]
    links: list[SupplierLinkOut]


class SupplierIn(BaseModel):
    """A supplier's terms (docs/data-formats.md, supplier file): the same rules as the file."""

    lead_time_days: int = Field(description="whole days >= 0")
    lead_time_std_days: float | None = Field(default=None, description="the lead time's standard deviation in "
                                             "days (>= 0); none: each item's own")
    order_days: str = Field(default="", max_length=40, description='weekdays orders are placed, "mon,thu"')
    review_period_days: int | None = Field(default=None, description="days between reviews (no order days)")
    min_order_value: float | None = Field(default=None, description="minimum value of an order (>= 0)")
    min_order_qty: float | None = Field(default=None, description="minimum units of an order (>= 0)")
    capacity_units: float | None = Field(default=None, description="units one order may hold (> 0)")
    currency: str = Field(default="", max_length=3)


class LinkIn(BaseModel):
    """An item's supplier link (docs/data-formats.md, supplier file's item record)."""

    supplier: str = Field(max_length=200)
    pack_size: float | None = Field(default=None, description="> 0; default 1")
    moq: float | None = Field(default=None, description=">= 0; default 0")
    unit_cost: float | None = Field(default=None, description=">= 0; none: the item's own cost")
    lead_time_days: int | None = Field(default=None, description="overrides the supplier's lead time")
    lead_time_std_days: float | None = Field(default=None, description="overrides the supplier's lead-time "
                                             "standard deviation")
    supplier_item_code: str = Field(default="", max_length=200)


class LineEdit(BaseModel):
    client_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    quantity: float = Field(gt=0, le=1e9)
    reason: str = Field(min_length=1, max_length=500)


class LineRemoval(BaseModel):
    client_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    reason: str = Field(min_length=1, max_length=500)


class LineAddition(LineEdit):
    item_id: str = Field(min_length=1, max_length=200)


class ApproveRequest(BaseModel):
    client_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    orders: list[Annotated[str, Field(max_length=30)]] | None = Field(
        default=None, max_length=1000, description="order ids such as PO-7; none and no lines: every draft")
    lines: list[Annotated[int, Field(ge=1, le=MAX_DB_ID)]] | None = Field(default=None, max_length=10000)


class ApproveResponse(BaseModel):
    client_id: int
    approved: int


@router.get(f"{API}/purchase-orders", response_model=OrdersResponse, tags=["purchasing"],
            responses=error_responses(401, 403, 422))
def purchase_orders(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
    status: Annotated[Literal["draft", "approved", "removed", "all"], Query(
        description="which lines: the proposal (draft), the order history (approved), or all")] = "all",
) -> dict:
    """The caller's purchase-order lines (proposals are made with POST /purchase-orders/propose)."""
    own = client_of(principal, client_id)
    lines = state.services.purchasing.lines(own, None if status == "all" else (status,))
    return {"client_id": own, "lines": _records(lines)}


@router.get(f"{API}/suppliers", response_model=SuppliersResponse, tags=["purchasing"],
            responses=error_responses(401, 403, 422))
def suppliers(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """The caller's suppliers and item links (admins change them with PUT / DELETE or a supplier file)."""
    return _suppliers(state, client_of(principal, client_id))


@router.post(f"{API}/purchase-orders/propose", response_model=OrdersResponse, tags=["purchasing"],
             responses=error_responses(401, 403, 422))
def propose(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
    model: Annotated[ModelName, Query(description="the demand model of the reorder table")] = "ma7",
    budget: Annotated[float | None, Query(ge=0, le=1e15, description="cap on the total value")] = None,
) -> dict:
    """Replace the caller's draft orders by today's proposal (a planner's or admin's token)."""
    own = client_of(principal, client_id)
    _person(principal)
    lines = state.services.purchasing.propose(own, model, principal.user_id, budget=budget).lines
    return {"client_id": own, "lines": _records(lines)}


@router.post(f"{API}/purchase-orders/approve", response_model=ApproveResponse, tags=["purchasing"],
             responses=error_responses(401, 403, 404, 422))
def approve(body: ApproveRequest, principal: PrincipalDep, state: StateDep) -> dict:
    """Approve draft orders or lines: they become stock on order (a planner's or admin's token)."""
    own = client_of(principal, body.client_id)
    _person(principal)
    count = state.services.purchasing.approve(own, principal.user_id, body.orders, body.lines)
    return {"client_id": own, "approved": count}


@router.put(f"{API}/suppliers/{{name:path}}", response_model=SuppliersResponse, tags=["purchasing"],
            responses=error_responses(401, 403, 422))
def put_supplier(name: str, body: SupplierIn, principal: PrincipalDep, state: StateDep) -> dict:
    """Create or update the caller's supplier ``name`` (an admin's token)."""
    own = _admin(principal, state)
    state.services.purchasing.save_supplier(own, {"supplier": name, **body.model_dump()})
    return _suppliers(state, own)


@router.delete(f"{API}/suppliers/{{name:path}}", response_model=SuppliersResponse, tags=["purchasing"],
               responses=error_responses(401, 403, 404, 422))
def delete_supplier(name: str, principal: PrincipalDep, state: StateDep) -> dict:
    """Delete a supplier with its item links and draft orders (an admin's token; refused once it has
    approved orders)."""
    own = _admin(principal, state)
    state.services.purchasing.delete_supplier(own, name)
    return _suppliers(state, own)


@router.put(f"{API}/item-suppliers/{{item_id:path}}", response_model=SuppliersResponse, tags=["purchasing"],
            responses=error_responses(401, 403, 422))
def put_link(item_id: str, body: LinkIn, principal: PrincipalDep, state: StateDep) -> dict:
    """Link the caller's item to one of its suppliers, replacing its link (an admin's token)."""
    own = _admin(principal, state)
    state.services.purchasing.save_link(own, {"item_id": item_id, **body.model_dump()})
    return _suppliers(state, own)


@router.delete(f"{API}/item-suppliers/{{item_id:path}}", response_model=SuppliersResponse, tags=["purchasing"],
               responses=error_responses(401, 403, 404))
def delete_link(item_id: str, principal: PrincipalDep, state: StateDep) -> dict:
    """Remove an item's supplier link: its own lead time and pack size apply again (an admin's token)."""
    own = _admin(principal, state)
    state.services.purchasing.delete_link(own, item_id)
    return _suppliers(state, own)


@router.patch(f"{API}/purchase-orders/lines/{{line}}", response_model=OrdersResponse, tags=["purchasing"],
              responses=error_responses(401, 403, 404, 422))
def edit_line(line: Annotated[int, Path(ge=1, le=MAX_DB_ID)], body: LineEdit, principal: PrincipalDep,
              state: StateDep) -> dict:
    """Change a draft line's quantity, with a reason (a planner's or admin's token): the draft lines."""
    return _change_drafts(principal, body.client_id, state, lambda purchasing, own: purchasing.edit_line(
        own, line, body.quantity, body.reason, principal.user_id))


@router.post(f"{API}/purchase-orders/lines/{{line}}/remove", response_model=OrdersResponse, tags=["purchasing"],
             responses=error_responses(401, 403, 404, 422))
def remove_line(line: Annotated[int, Path(ge=1, le=MAX_DB_ID)], body: LineRemoval, principal: PrincipalDep,
                state: StateDep) -> dict:
    """Take a draft line off its order, with a reason (kept in the history as removed): the draft lines."""
    return _change_drafts(principal, body.client_id, state, lambda purchasing, own: purchasing.remove_line(
        own, line, body.reason, principal.user_id))


@router.post(f"{API}/purchase-orders/{{order}}/lines", response_model=OrdersResponse, tags=["purchasing"],
             responses=error_responses(401, 403, 404, 422))
def add_line(order: Annotated[str, Path(max_length=30)], body: LineAddition, principal: PrincipalDep,
             state: StateDep) -> dict:
    """Add an item of the order's supplier to a draft order, with a quantity and a reason: the draft lines."""
    return _change_drafts(principal, body.client_id, state, lambda purchasing, own: purchasing.add_line(
        own, order, body.item_id, body.quantity, body.reason, principal.user_id))


def _change_drafts(principal, client_id: int | None, state,
                   change: Callable[[PurchasingService, int], object]) -> dict:
    """Apply ``change`` to the caller's client's draft orders (a user's token): its draft lines afterwards."""
    own = client_of(principal, client_id)
    _person(principal)
    purchasing = state.services.purchasing
    change(purchasing, own)
    return {"client_id": own, "lines": _records(purchasing.lines(own, ("draft",)))}


def _suppliers(state, own: int) -> dict:
    purchasing = state.services.purchasing
    sup, links = purchasing.suppliers(own), purchasing.links(own)
    return {"client_id": own, "suppliers": convert.records(sup, list(SupplierOut.model_fields)),
            "links": convert.records(links, list(SupplierLinkOut.model_fields))}


def _admin(principal, state) -> int:
    """The caller's client, when the caller is an admin of it (a user's token): else a 403."""
    users = state.services.users
    if principal.user_id is None or users.get_user(principal.client_id, principal.user_id).role != "admin":
        raise HTTPException(status_code=403, detail="only an admin of the client may change its suppliers")
    return principal.client_id


def _records(lines) -> list[dict]:
    """Lines as records, ``approved_at`` keeping its time (the other dates are days)."""
    records = convert.records(lines, [c for c in LINE_COLUMNS if c != "approved_at"])
    for record, at in zip(records, lines["approved_at"]):
        record["approved_at"] = None if pd.isna(at) else at
    return records


def _person(principal) -> None:
    if principal.user_id is None:
        raise HTTPException(status_code=403,
                            detail="proposing, editing and approving orders need a user's token, not a service key")
