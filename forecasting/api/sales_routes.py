"""POST /api/v1/sales: a sales file imported for the caller's client, then the plan made again (docs/planning.md).

The same import as the Data page's upload and ``import-sales``: the file is read by the Data page's reader
within the upload limits (``server.maxUploadSize``, 2 million rows), then goes through
:meth:`PlanningService.import_sales`, the one entry of every caller (the bucket rules, the as-of move
confirmation, then a new plan with the client's planning model). Who may import: as on the Data page, a
planner or an admin of the client (a user's token); a service key only reads (403), as for the calendar.
A bad file is a 422 listing every problem, nothing imported. Two imports of one client at once run one after
the other (the client's row is locked while an import decides its bucket and writes).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field

from forecasting.api.dependencies import PrincipalDep, StateDep, client_of
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


@router.post(PATH, response_model=SalesImportResponse, responses=error_responses(401, 403, 422, 503))
def import_sales(
    principal: PrincipalDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description="sales CSV: item_id,date,quantity[,covariates] "
                                     "(docs/data-formats.md), as the Data page takes it")],
    freq: Annotated[Literal["D", "W", "M"] | None, Form(
        description="the file's bucket, D, W or M; absent: the client's, or detected from the dates at the first "
        "import; one that differs from the client's changes it where every stored date fits it (else 422)")] = None,
    move_as_of: Annotated[bool, Form(
        description="confirm an import that moves the data's as-of date for items not in the file (they get "
        "zero-sales days); without it such an import is refused")] = False,
    client_id: Annotated[int | None, Form(description="optional: must be the caller's own client")] = None,
) -> dict:
    """Import a sales file (new days added, stored days replaced), then make the plan again: a planner's or admin's
    token. Every problem of a bad file in one 422, nothing imported."""
    own = client_of(principal, client_id)
    if principal.user_id is None:
        raise HTTPException(status_code=403, detail="importing sales needs a user's token (a planner or an admin "
                            "of the client), not a service key")
    name = Path(file.filename or UNNAMED).name
    kind = NOT_CSV.get(Path(name).suffix.lower())
    if kind:
        raise InvalidInputError(f"sales file {name} is {kind}: this upload takes a CSV file, as the Data page does "
                                "(the command line's import-sales reads Parquet too)")
    frame = read_upload(read_sales_csv, name, file.file.read(), state.uploads)
    services = state.services
    before = services.data.get_client(own)
    try:
        done = services.planning.import_sales(own, frame, move_as_of=move_as_of, freq=freq)
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
        "bucket_source": "forced" if freq else "detected" if before.as_of is None else "client",
        "as_of": client.as_of, "data_version": result.data_version, "plan_status": status,
        "plan": None if plan is None else {
            "client_id": own, "plan_id": plan.plan_id, "model": plan.model, "as_of": plan.as_of,
            "horizon": plan.horizon, "run_id": plan.run_id, "reused": bool(done.plan and done.plan.reused)},
        "plan_problem": done.problem,
    }
