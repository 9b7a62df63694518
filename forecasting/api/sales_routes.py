"""POST /api/v1/sales: a sales file imported for the caller's client, then the plan made again (docs/planning.md).

The same import as the Data page's upload and ``import-sales``: the file is read by the Data page's reader
within the upload limits (``server.maxUploadSize``, 2 million rows), then goes through
:meth:`PlanningService.import_sales`, the one entry of every caller (the bucket rules, the as-of move
confirmation, then a new plan with the client's planning model). Who may import: as on the Data page, a
planner or an admin of the client (a user's token); a service key only reads (403), as for the calendar.
A bad file is a 422 listing every problem, nothing imported. Two imports of one client at once run one after
the other (the client's row is locked while an import decides its bucket and writes).

The multipart body is read by the route itself, after the caller is authenticated and allowed to import (a
parameter declared as a form field would make FastAPI read up to the upload limit first, for anyone).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from forecasting.api.dependencies import ApiState, PrincipalDep, StateDep, client_of
from forecasting.api.errors import error_responses
from forecasting.api.plan_routes import PlanResponse
from forecasting.core.as_of import AsOfMoveError
from forecasting.core.errors import ForecastingError, InvalidInputError
from forecasting.io.sales_csv import read_sales_csv
from forecasting.io.uploads import UNNAMED, read_upload

PATH = "/api/v1/sales"
#: file kinds that neither the Data page nor this route reads: named, so that the answer says what to do
NOT_CSV = {".parquet": "a Parquet file", ".pq": "a Parquet file", ".xlsx": "an Excel file", ".xls": "an Excel file"}

router = APIRouter(tags=["data"])


def _upper(value: object) -> object:
    """``w`` is ``W``, as on the command line."""
    return value.strip().upper() if isinstance(value, str) else value


class SalesForm(BaseModel):
    """The form fields beside the file."""

    model_config = ConfigDict(extra="forbid")

    freq: Annotated[Literal["D", "W", "M"] | None, BeforeValidator(_upper)] = Field(
        None, description="the file's bucket, D, W or M (any case); absent: the client's, or detected from the "
        "dates at the first import; one that differs from the client's changes it where every stored date fits it "
        "(else 422)")
    move_as_of: bool = Field(False, description="true confirms an import that moves the data's as-of date for items "
                             "not in the file (they get zero-sales days); without it such an import is refused")
    client_id: int | None = Field(None, description="optional: must be the caller's own client")


#: the request body in the OpenAPI document (the route reads it itself, see the module docstring)
BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "sales CSV: item_id,date,quantity"
                            "[,covariates] (docs/data-formats.md), as the Data page takes it"},
                   **SalesForm.model_json_schema()["properties"]},
}}}}


class SalesImportResponse(BaseModel):
    client_id: int
    file: str
    rows: int = Field(description="rows of the file, all imported")
    inserted: int = Field(description="rows new to the database")
    updated: int = Field(description="rows that replaced a stored (item, date)")
    items: int = Field(description="items in the file")
    items_created: int = Field(description="of those, items new to the client")
    bucket: str = Field(description="the client's bucket now, as pandas spells it: D, W-FRI, MS, ME")
    bucket_label: str = Field(description="the same for people: daily, weekly (Fridays), monthly (1st), ...")
    bucket_source: Literal["forced", "detected", "client"] = Field(
        description="forced: the freq field; detected: from the file's dates (the client's first import); client: "
        "the client's stored bucket, which the file's dates fit")
    as_of: date = Field(description="the data's as-of date after the import (the last sales date of all items)")
    data_version: int = Field(description="the client's data version after the import")
    plan_status: Literal["made", "reused", "not refreshed", "no plan"] = Field(
        description="made (or reused: unchanged data) on the new sales; not refreshed: see plan_problem, the "
        "earlier plan stays in force; no plan: the client has none yet (POST /api/v1/plan makes the first)")
    plan: PlanResponse | None = Field(description="the plan in force after the import (null: none)")
    plan_problem: str = Field("", description="why the plan was not made again (over a request limit, no free "
                              "computation slot, ...): the import stands")


@router.post(PATH, response_model=SalesImportResponse, responses=error_responses(401, 403, 422, 503),
             openapi_extra={"requestBody": BODY})
async def import_sales(request: Request, principal: PrincipalDep, state: StateDep) -> dict:
    """Import a sales file (new days added, stored days replaced), then make the plan again: a planner's or admin's
    token. Every problem of a bad file in one 422, nothing imported."""
    if principal.user_id is None:
        raise HTTPException(status_code=403, detail="importing sales needs a user's token (a planner or an admin "
                            "of the client), not a service key")
    async with request.form(max_files=1, max_fields=len(SalesForm.model_fields)) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestValidationError([{"loc": ("body", "file"), "msg": "a file is required", "type": "missing"}])
        fields = {k: v for k, v in form.multi_items() if k != "file" and v != ""}  # an empty field is an absent one
        try:
            options = SalesForm.model_validate(fields)
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        own = client_of(principal, options.client_id)
        name = Path(upload.filename or UNNAMED).name
        content = await upload.read()
    return await run_in_threadpool(_import, state, own, name, content, options)


def _import(state: ApiState, own: int, name: str, content: bytes, options: SalesForm) -> dict:
    """The import and its answer (blocking: database and, after it, the plan's computation)."""
    kind = NOT_CSV.get(Path(name).suffix.lower())
    if kind:
        raise InvalidInputError(f"sales file {name} is {kind}: this upload takes a CSV file, as the Data page does "
                                "(the command line's import-sales reads Parquet too)")
    frame = read_upload(read_sales_csv, name, content, state.uploads)
    services = state.services
    before = services.data.get_client(own)
    try:
        done = services.planning.import_sales(own, frame, move_as_of=options.move_as_of, freq=options.freq)
    except AsOfMoveError as exc:
        raise ForecastingError(f"{exc.move.message()}; nothing imported: send move_as_of=true to import it "
                               "anyway") from None
    client = services.data.get_client(own)
    plan = done.plan.plan if done.plan else services.planning.current_plan(own)
    status = ("not refreshed" if done.problem else "no plan" if done.plan is None
              else "reused" if done.plan.reused else "made")
    result = done.result
    return {
        "client_id": own, "file": name, "rows": result.rows, "inserted": result.inserted, "updated": result.updated,
        "items": result.items, "items_created": result.items_created, "bucket": client.freq.alias,
        "bucket_label": client.freq.label,
        "bucket_source": "forced" if options.freq else "detected" if before.as_of is None else "client",
        "as_of": client.as_of, "data_version": result.data_version, "plan_status": status,
        "plan": None if plan is None else {
            "client_id": own, "plan_id": plan.plan_id, "model": plan.model, "as_of": plan.as_of,
            "horizon": plan.horizon, "run_id": plan.run_id, "reused": bool(done.plan and done.plan.reused)},
        "plan_problem": done.problem,
    }
