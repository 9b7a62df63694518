"""The caller's calendar (issue 22): promotions, events, holidays and planned prices, read and replaced.

GET answers any credential of the client; PUT replaces the whole calendar and
needs a person's token (a planner or an admin of the client, as the Data
page's imports): a service key reads only. A bad calendar is a 422 listing
every problem (rows counted as in the CSV: the first entry is row 2) and
changes nothing.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from forecasting.api.dependencies import PrincipalDep, StateDep, client_of
from forecasting.api.errors import error_responses
from forecasting.core.client_calendar import COLUMNS, MAX_ROWS, ClientCalendar

API = "/api/v1"
router = APIRouter()


class CalendarEntry(BaseModel):
    type: Literal["promotion", "event", "holiday", "price"]
    item_id: str = Field("", max_length=200, description="one item (or empty)")
    category: str = Field("", max_length=200, description="every item of a category (or empty)")
    start: date
    end: date | None = Field(None, description="last day, inclusive (empty: the start day only)")
    name: str = Field("", max_length=200)
    discount: float | None = Field(None, description="promotions: the fraction off, 0 to below 1")
    price: float | None = Field(None, description="a promotion's price, or a planned price")


class CalendarBody(BaseModel):
    client_id: int | None = Field(None, description="optional: must be the caller's own client")
    entries: list[CalendarEntry] = Field(max_length=MAX_ROWS)


class CalendarResponse(BaseModel):
    client_id: int
    version: str | None = Field(description="changes with any entry (part of the forecast cache key); null: none")
    covariates: list[str] = Field(description="the covariates the calendar gives the models that use them")
    entries: list[CalendarEntry]


@router.get(f"{API}/calendar", response_model=CalendarResponse, tags=["catalogue"],
            responses=error_responses(401, 403, 422))
def get_calendar(
    principal: PrincipalDep,
    state: StateDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
) -> dict:
    """The caller's calendar."""
    own = client_of(principal, client_id)
    return _answer(own, state.services.data.calendar(own))


@router.put(f"{API}/calendar", response_model=CalendarResponse, tags=["catalogue"],
            responses=error_responses(401, 403, 422))
def put_calendar(body: CalendarBody, principal: PrincipalDep, state: StateDep) -> dict:
    """Replace the caller's calendar (a planner's or admin's token); every problem listed, nothing half-imported."""
    own = client_of(principal, body.client_id)
    if principal.user_id is None:
        raise HTTPException(status_code=403, detail="changing the calendar needs a user's token, not a service key")
    raw = pd.DataFrame([{c: "" if (v := getattr(e, c)) is None else str(v) for c in COLUMNS} for e in body.entries],
                       columns=list(COLUMNS))
    return _answer(own, state.services.data.import_calendar(own, raw))


def _answer(client_id: int, calendar: ClientCalendar) -> dict:
    table = calendar.table()
    entries = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
               for row in table.to_dict("records")]
    return {"client_id": client_id, "version": calendar.version(), "covariates": calendar.covariates,
            "entries": entries}
