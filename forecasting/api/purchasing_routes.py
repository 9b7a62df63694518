"""Purchase-order routes (issue 19): the caller's orders, and approval by a person.

Roles: any user of the client (planner or admin) proposes and approves; a
service key (no person behind it) may read orders but not approve them, since
an approval records who approved. Suppliers are read here and edited only by
admins (the Data page, or ``import-suppliers`` by an operator).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from forecasting.api import convert
from forecasting.api.dependencies import PrincipalDep, StateDep, client_of
from forecasting.api.errors import error_responses
from forecasting.api.schemas import MAX_DB_ID, ModelName
from forecasting.services.purchasing import LINE_COLUMNS

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
    supplier_item_code: str


class SuppliersResponse(BaseModel):
    client_id: int
    suppliers: list[SupplierOut]
    links: list[SupplierLinkOut]


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
    """The caller's suppliers and item links (read-only here: admins change them with a supplier file)."""
    own = client_of(principal, client_id)
    purchasing = state.services.purchasing
    sup, links = purchasing.suppliers(own), purchasing.links(own)
    return {"client_id": own, "suppliers": convert.records(sup, list(SupplierOut.model_fields)),
            "links": convert.records(links, list(SupplierLinkOut.model_fields))}


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


def _records(lines) -> list[dict]:
    """Lines as records, ``approved_at`` keeping its time (the other dates are days)."""
    records = convert.records(lines, [c for c in LINE_COLUMNS if c != "approved_at"])
    for record, at in zip(records, lines["approved_at"]):
        record["approved_at"] = None if pd.isna(at) else at
    return records


def _person(principal) -> None:
    if principal.user_id is None:
        raise HTTPException(status_code=403, detail="approving and proposing need a user's token, not a service key")
