"""``POST /api/v1/simulate``: the policy simulator (docs/inventory-policy.md, simulator) for the caller's client."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from forecasting.api import convert
from forecasting.api.dependencies import CancelDep, PrincipalDep, ServiceDep, client_of
from forecasting.api.errors import error_responses
from forecasting.api.schemas import MAX_ITEMS, ClientId, ItemId, ModelName, WholeNumber
from forecasting.applications.inventory.simulation import (
    DEFAULT_REVIEWS,
    MAX_REVIEWS,
    SUMMARY_COLUMNS,
)
from forecasting.services.simulation import SimulationService

API = "/api/v1"
#: policies one request compares side by side
MAX_VARIANTS = 10

router = APIRouter()


class SimulateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"item_ids": ["SKU-1"], "model": "ma7", "reviews": 26,
                                         "service_levels": [0.9, 0.95]}]},
    )

    item_ids: list[ItemId] | None = Field(
        None, min_length=1, max_length=MAX_ITEMS, description="default: every item with a stock position"
    )
    model: ModelName = "ma7"
    reviews: WholeNumber = Field(DEFAULT_REVIEWS, ge=1, le=MAX_REVIEWS,
                                 description="reviews replayed, each the item's review period")
    service_levels: list[Annotated[float, Field(gt=0.0, lt=1.0)]] | None = Field(
        None, min_length=1, max_length=MAX_VARIANTS,
        description="one policy per cycle service level (each strictly between 0 and 1), side by side; "
                    "default one policy with the items' own levels")
    service_type: Literal["cycle", "fill"] | None = Field(
        None, description="cycle or fill-rate targets for every policy; default each item's own, else its class's")
    client_id: ClientId = None


class SimulationRow(BaseModel):
    """Results of one item, class or total under one policy (``variant``: its index in ``policies``)."""

    variant: int
    item_id: str | None = None
    name: str | None = None
    group: str | None = Field(None, description="the class of a per-class row, 'total' for the total")
    items: int | None = Field(None, description="items in a per-class or total row")
    demand: float
    served: float
    lost: float
    fill_rate: float | None
    cycles: int
    cycles_without_stockout: int
    cycle_service: float | None
    avg_stock: float
    avg_stock_value: float | None
    turns: float | None
    days: int
    days_out_of_stock: int
    orders: int
    reviews_checked: int
    reviews_covered: int
    covered_share: float | None


class SimulateResponse(BaseModel):
    client_id: int
    simulation_id: int = Field(description="the run recorded for this simulation (kind simulation)")
    model: str
    reviews: int
    policies: list[dict[str, float | str]] = Field(description="each variant's overridden policy columns")
    skipped: list[str] = Field(description="items left out for too little sales history")
    items: list[SimulationRow]
    classes: list[SimulationRow] = Field(description="per ABC x XYZ class (as of the data's last day)")
    total: list[SimulationRow]


@router.post(f"{API}/simulate", response_model=SimulateResponse, tags=["inventory"],
             responses=error_responses(401, 403, 404, 422, 429, 503))
def simulate(body: SimulateRequest, principal: PrincipalDep, service: ServiceDep, cancel: CancelDep) -> dict:
    """Replay the items' reorder policy over the last ``reviews`` reviews of the caller's own history."""
    client_id = client_of(principal, body.client_id)
    variants = [{"service_level": level} for level in body.service_levels] if body.service_levels else [{}]
    if body.service_type:
        variants = [{**v, "service_type": body.service_type} for v in variants]
    outcome = SimulationService(service).simulate(
        client_id, body.item_ids, body.model, body.reviews, variants, user_id=principal.user_id, cancel=cancel)
    columns = ["variant", *SUMMARY_COLUMNS]
    classes = convert.records(outcome.classes.rename(columns={outcome.classes.columns[1]: "group"}),
                              ["group", "items", *columns])
    return {
        "client_id": client_id,
        "simulation_id": outcome.run_id,
        "model": outcome.model,
        "reviews": outcome.reviews,
        "policies": list(outcome.variants),
        "skipped": list(outcome.skipped),
        "items": convert.records(outcome.items, ["item_id", "name", *columns]),
        "classes": classes,
        "total": convert.records(outcome.total.rename(columns={"scope": "group"}), ["group", "items", *columns]),
    }
