"""The published plan's routes (docs/api.md, docs/planning.md): overrides, their revert, FVA, the plan.

Who may override: every user of the client (its planners and admins: the only two roles) and an API key of the
client, which acts for its client (the audit trail names it ``api key <id>``). Every read and write is the caller's
client's: another client's override ids are 404s, like ids that do not exist.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from forecasting.api import convert
from forecasting.api.dependencies import PrincipalDep, StateDep, client_of, require_admin
from forecasting.api.errors import error_responses
from forecasting.api.schemas import MAX_DB_ID, ItemId, ModelName, StorableText
from forecasting.api.security import Principal
from forecasting.applications.planning.fva import FVA_COLUMNS
from forecasting.applications.planning.overrides import KINDS, REASONS
from forecasting.storage.plans import OVERRIDE_RECORD_COLUMNS

API = "/api/v1"
#: overrides per POST
MAX_OVERRIDES = 1_000

router = APIRouter(tags=["planning"])


class OverrideIn(BaseModel):
    """One override: an item (or every item of a category) over a date range (docs/data-formats.md)."""

    model_config = ConfigDict(extra="forbid")

    item_id: ItemId | None = None
    category: StorableText | None = Field(None, max_length=200, description="instead of item_id: all its items")
    start_date: date
    end_date: date
    change: float = Field(allow_inf_nan=False)
    kind: Literal[KINDS]  # type: ignore[valid-type]
    reason: Literal[REASONS]  # type: ignore[valid-type]
    note: StorableText = Field("", max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> OverrideIn:
        if (self.item_id is None) == (self.category is None):
            raise ValueError("give exactly one of item_id and category")
        return self


class OverridesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: list[OverrideIn] = Field(min_length=1, max_length=MAX_OVERRIDES)
    client_id: int | None = None


class OverrideRecord(BaseModel):
    override_id: int
    item_id: str
    category: str
    start_date: date
    end_date: date
    change: float
    kind: str
    reason: str
    note: str
    created_by: str
    created_at: str
    old_value: float
    new_value: float
    reverted: bool
    reverted_at: str | None
    reverted_by: str | None


class OverridesResponse(BaseModel):
    client_id: int
    plan_id: int | None
    overrides: list[OverrideRecord]


class FvaRow(BaseModel):
    level: str
    key: str
    buckets: int
    actual: float
    wape_naive: float | None
    wape_plan: float | None
    wape_final: float | None
    fva_plan: float | None
    fva_final: float | None
    bias_naive: float | None
    bias_plan: float | None
    bias_final: float | None


class FvaResponse(BaseModel):
    client_id: int
    rows: list[FvaRow]


class PlanResponse(BaseModel):
    client_id: int
    plan_id: int
    model: str
    as_of: date
    horizon: int
    run_id: int
    #: POST: whether the current plan was reused (unchanged data, model and horizon)
    reused: bool = False


class PlanningModelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelName = Field(description="the model every next plan of the client is made with")


class PlanningModelResponse(BaseModel):
    client_id: int
    model: str


@router.get(f"{API}/overrides", response_model=OverridesResponse, responses=error_responses(401, 403, 422, 503))
def list_overrides(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
    item_id: Annotated[str | None, Query(max_length=200, description="one item's history")] = None,
) -> dict:
    """Every override of the caller's client, reverted ones included (the audit trail), oldest first."""
    own = client_of(principal, client_id)
    planning = state.services.planning
    plan = planning.current_plan(own)
    table = planning.overrides(own, None if item_id is None else [item_id])
    return {"client_id": own, "plan_id": None if plan is None else plan.plan_id, "overrides": _records(table)}


@router.post(f"{API}/overrides", response_model=OverridesResponse, status_code=201,
             responses=error_responses(401, 403, 404, 422, 503))
def add_overrides(body: OverridesRequest, principal: PrincipalDep, state: StateDep) -> dict:
    """Override the published plan (all rows checked first: any problem rejects them all, nothing stored)."""
    own = client_of(principal, body.client_id)
    rows = pd.DataFrame([o.model_dump() for o in body.overrides])
    rows["item_id"] = rows["item_id"].fillna("")
    rows["category"] = rows["category"].fillna("")
    for column in ("start_date", "end_date"):
        rows[column] = rows[column].map(str)
    planning = state.services.planning
    ids = planning.add_overrides(own, rows, _author(principal, state), source="overrides")
    table = planning.overrides(own)
    return {"client_id": own, "plan_id": planning.current_plan(own).plan_id,
            "overrides": _records(table[table["override_id"].isin(ids)])}


@router.post(f"{API}/overrides/{{override_id}}/revert", response_model=OverridesResponse,
             responses=error_responses(401, 403, 404, 422, 503))
def revert_override(
    override_id: Annotated[int, Path(ge=1, le=MAX_DB_ID)], principal: PrincipalDep, state: StateDep,
) -> dict:
    """Revert one override of the caller's client: the plan applies again (the record stays, marked reverted)."""
    own = principal.client_id
    planning = state.services.planning
    planning.revert(own, override_id, _author(principal, state))
    table = planning.overrides(own)
    plan = planning.current_plan(own)
    return {"client_id": own, "plan_id": None if plan is None else plan.plan_id,
            "overrides": _records(table[table["override_id"] == override_id])}


@router.get(f"{API}/fva", response_model=FvaResponse, responses=error_responses(401, 403, 422, 503))
def fva(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """Forecast value added of the caller's client (docs/planning.md): naive vs plan vs final, per level and key."""
    own = client_of(principal, client_id)
    return {"client_id": own, "rows": convert.records(state.services.planning.fva(own), FVA_COLUMNS)}


@router.get(f"{API}/plan", response_model=PlanResponse, responses=error_responses(401, 403, 404, 422, 503))
def plan(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """The caller's current published plan (404 before the first); its numbers: ``python -m forecasting plan``."""
    own = client_of(principal, client_id)
    current = state.services.planning.require_plan(own)
    return {"client_id": own, "plan_id": current.plan_id, "model": current.model, "as_of": current.as_of,
            "horizon": current.horizon, "run_id": current.run_id}


@router.post(f"{API}/plan", response_model=PlanResponse, responses=error_responses(401, 403, 404, 422, 429, 503))
def make_plan(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """Make the caller's plan now (on demand) with the client's planning model over all its items, within the
    request limits (beyond them: 422 naming the limit; the batch command ``plan`` has none); reused when nothing
    changed since the current plan."""
    own = client_of(principal, client_id)
    planning = state.services.planning
    current = planning.current_plan(own)
    outcome = planning.make_plan(own, None, current.horizon if current else None,
                                 user_id=principal.user_id)
    made = outcome.plan
    return {"client_id": own, "plan_id": made.plan_id, "model": made.model, "as_of": made.as_of,
            "horizon": made.horizon, "run_id": made.run_id, "reused": outcome.reused}


@router.get(f"{API}/planning-model", response_model=PlanningModelResponse, responses=error_responses(401, 403, 422))
def get_planning_model(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """The model the caller's client's plan is made with (``auto`` unless an admin set another)."""
    own = client_of(principal, client_id)
    return {"client_id": own, "model": state.services.planning.planning_model(own)}


@router.put(f"{API}/planning-model", response_model=PlanningModelResponse, responses=error_responses(401, 403, 422))
def put_planning_model(body: PlanningModelBody, principal: PrincipalDep, state: StateDep) -> dict:
    """Set the client's planning model: admins only (a user token of an admin of the client); the next plan uses
    it (the next sales import, or POST /api/v1/plan)."""
    require_admin(principal, state, "change its planning model")
    own = principal.client_id
    return {"client_id": own, "model": state.services.planning.set_planning_model(own, body.model)}


def _author(principal: Principal, state) -> str:
    """Who the audit trail names: the user's username, or the API key acting for its client."""
    if principal.user_id is not None:
        return state.services.users.get_user(principal.client_id, principal.user_id).username
    return f"api key {principal.api_key_id}"


def _records(table: pd.DataFrame) -> list[dict]:
    out = table.copy()
    for column in ("created_at", "reverted_at"):
        out[column] = [None if pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in out[column]]
    return convert.records(out, OVERRIDE_RECORD_COLUMNS)
