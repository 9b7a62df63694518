"""The API's routes: thin wrappers that check the caller's client and call ForecastService.

Routes are plain ``def`` functions: FastAPI runs them in its thread pool, so
the blocking database and model calls do not stall the event loop.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from forecasting.api import convert
from forecasting.api.dependencies import CancelDep, PrincipalDep, ServiceDep, StateDep, client_of, require_admin
from forecasting.api.errors import error_responses
from forecasting.api.schemas import (
    MAX_DB_ID,
    BacktestRequest,
    BacktestResponse,
    ExceptionsResponse,
    ForecastRequest,
    ForecastResponse,
    HealthResponse,
    ItemsResponse,
    PolicyBody,
    PolicyResponse,
    ModelInfo,
    ModelName,
    ModelsResponse,
    ReorderRequest,
    ReorderResponse,
    StorableText,
    TokenRequest,
    TokenResponse,
)
from forecasting.applications.exceptions.rules import EXCEPTION_COLUMNS
from forecasting.applications.inventory.calculator import REORDER_COLUMNS
from forecasting.applications.inventory.targets import ClassPolicy, edited_policy
from forecasting.applications.quality import ranking
from forecasting.applications.quality.calculator import METRIC_COLUMNS, nominal_coverage
from forecasting.io.csv_export import to_csv_bytes
from forecasting.modes.factory import ModelFactory
from forecasting.services import forecast_service
from forecasting.storage.reads import ITEM_COLUMNS

API = "/api/v1"
CSV_MEDIA_TYPE = "text/csv"

router = APIRouter()


@router.get("/health", response_model=HealthResponse, tags=["service"], responses=error_responses(503))
def health(state: StateDep) -> dict:
    """Liveness and database reachability (no authentication)."""
    state.services.database.check()
    return {"status": "ok", "database": "ok"}


@router.post(f"{API}/auth/token", response_model=TokenResponse, tags=["auth"], responses=error_responses(401, 422))
def issue_token(body: TokenRequest, state: StateDep, request: Request) -> dict:
    """A short-lived access token for a user (the app's users, passwords, lockout and address throttle)."""
    address = request.client.host if request.client else None
    user = state.services.users.authenticate(body.username, body.password, address=address)
    issued = state.issuer.issue(user)
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "expires_at": issued.expires_at,
        "client_id": user.client_id,
    }


@router.post(
    f"{API}/forecast", response_model=ForecastResponse, tags=["forecasts"],
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
def forecast(body: ForecastRequest, principal: PrincipalDep, service: ServiceDep, cancel: CancelDep) -> dict:
    """Forecast items of the caller's client; a repeat of a computed request on unchanged data is ``cached``."""
    client_id = client_of(principal, body.client_id)
    result = service.forecast(
        client_id, body.item_ids, body.model, body.prediction_length, body.quantile_levels, user_id=principal.user_id,
        cancel=cancel, bucket=body.bucket,
    )
    return _forecast_payload(client_id, result)


@router.get(
    f"{API}/forecast/{{forecast_id}}", response_model=ForecastResponse, tags=["forecasts"],
    responses=error_responses(401, 404, 410, 422),
)
def get_forecast(
    forecast_id: Annotated[int, Path(ge=1, le=MAX_DB_ID)], principal: PrincipalDep, service: ServiceDep
) -> dict:
    """A stored forecast run of the caller's client."""
    return _forecast_payload(principal.client_id, service.get_forecast(principal.client_id, forecast_id))


@router.post(
    f"{API}/backtest", response_model=BacktestResponse, tags=["forecasts"],
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
def backtest(body: BacktestRequest, principal: PrincipalDep, service: ServiceDep, cancel: CancelDep) -> dict:
    """Score models on the items' last ``windows`` x ``prediction_length`` days (docs/metrics.md)."""
    client_id = client_of(principal, body.client_id)
    result = service.backtest(
        client_id, body.item_ids, body.models, body.prediction_length, body.windows, body.quantile_levels,
        user_id=principal.user_id, cancel=cancel, bucket=body.bucket,
    )
    return {
        "backtest_id": result.run_id,
        "client_id": client_id,
        "models": list(result.models),
        "prediction_length": result.horizon,
        "windows": result.windows,
        "quantile_levels": list(result.quantiles),
        "bucket": result.freq.alias,
        "created_at": result.created_at,
        "metrics": convert.records(result.metrics, METRIC_COLUMNS),
        "best": ranking.best_per_metric(result.metrics, nominal_coverage(result.quantiles)),
    }


@router.post(
    f"{API}/reorder",
    response_model=ReorderResponse,
    tags=["inventory"],
    responses={
        200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
              "description": "JSON, or the reorder CSV (formula-safe) when the Accept header prefers text/csv"},
        **error_responses(401, 403, 404, 422, 429, 503),
    },
)
def reorder(
    body: ReorderRequest,
    principal: PrincipalDep,
    service: ServiceDep,
    request: Request,
    cancel: CancelDep,
):
    """The reorder table (docs/inventory-policy.md) from the items' stored positions and parameters."""
    client_id = client_of(principal, body.client_id)
    outcome = service.reorder_plan(
        client_id,
        body.item_ids,
        body.model,
        service_level=body.service_level,
        review_period_days=body.review_period_days,
        lead_time_days=body.lead_time_days,
        user_id=principal.user_id,
        cancel=cancel,
        service_type=body.service_type,
        bucket=body.bucket,
    )
    table = outcome.table
    table.attrs.update(run_id=outcome.run_id, skipped=list(outcome.skipped), plan_id=outcome.plan_id)
    run_id = int(table.attrs["run_id"])
    if prefers_csv(request.headers.get("accept")):
        return Response(
            to_csv_bytes(table[REORDER_COLUMNS]),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="reorder-{run_id}.csv"', "X-Run-Id": str(run_id),
                     **({"X-Plan-Id": str(table.attrs["plan_id"])} if table.attrs.get("plan_id") else {})},
        )
    return {
        "reorder_id": run_id,
        "client_id": client_id,
        "model": str(table["model"].iloc[0]) if len(table) else (body.model or "ma7"),
        "plan_id": table.attrs.get("plan_id"),
        "skipped": list(table.attrs.get("skipped") or []),
        "bucket": outcome.freq.alias,
        "items": convert.records(table, REORDER_COLUMNS),
    }


@router.get(
    f"{API}/exceptions", response_model=ExceptionsResponse, tags=["inventory"],
    responses=error_responses(401, 403, 422, 429, 503),
)
def exceptions(
    principal: PrincipalDep,
    service: ServiceDep,
    cancel: CancelDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
    model: Annotated[ModelName | None, Query(description="the demand model of the reorder rules (default: the "
                                                        "published plan with its overrides, else ma7)")] = None,
) -> dict:
    """What needs attention today: the caller's ranked exception queue (cached while the data is unchanged)."""
    own = client_of(principal, client_id)
    outcome = service.exceptions(own, model, user_id=principal.user_id, cancel=cancel)
    return {
        "exceptions_id": outcome.run_id,
        "client_id": own,
        "cached": outcome.cached,
        "data_as_of": outcome.as_of,
        "model": outcome.model,
        "plan_id": outcome.plan_id,
        "items": convert.records(outcome.queue, EXCEPTION_COLUMNS),
    }


@router.get(f"{API}/models", response_model=ModelsResponse, tags=["catalogue"], responses=error_responses(401))
def models(principal: PrincipalDep) -> dict:
    """Every model, whether it can run here, and why not."""
    out = []
    for name in ModelFactory.names():
        model = ModelFactory.create(name)
        status = model.availability()
        out.append(ModelInfo(name=name, available=status.available, reason=status.reason,
                             description=model.description))
    return {"models": out}


@router.get(
    f"{API}/items", response_model=ItemsResponse, tags=["catalogue"], responses=error_responses(401, 403, 422)
)
def items(
    principal: PrincipalDep,
    service: ServiceDep,
    client_id: Annotated[int | None, Query(description="optional: must be the caller's own client")] = None,
    category: Annotated[StorableText | None, Query(max_length=200)] = None,
) -> dict:
    """The caller's items with parameters, stock position and sales figures."""
    own = client_of(principal, client_id)
    frame = service.data.list_items(own, category=category)
    return {"client_id": own, "items": convert.records(frame, ITEM_COLUMNS)}


def prefers_csv(accept: str | None) -> bool:
    """True when the Accept header ranks text/csv above application/json (ties: the one listed first)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if media not in (CSV_MEDIA_TYPE, "application/json", "*/*", "application/*", "text/*"):
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        kind = "csv" if media in (CSV_MEDIA_TYPE, "text/*") else "json"
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, position, kind)
    return best is not None and best[2] == "csv"


def _forecast_payload(client_id: int, result: forecast_service.ForecastOutcome) -> dict:
    return {
        "forecast_id": result.run_id,
        "client_id": client_id,
        "model": result.model,
        "model_version": result.model_version,
        "created_at": result.created_at,
        "cached": result.cached,
        "source_forecast_id": result.source_run_id,
        "prediction_length": result.horizon,
        "quantile_levels": list(result.quantiles),
        "bucket": result.freq.alias,
        "covariates": list(result.covariates),
        "items": convert.forecast_items(result.forecast, result.quantiles),
    }


def _policy_answer(client_id: int, policy: ClassPolicy) -> dict:
    return {"client_id": client_id, "levels": dict(policy.levels), "types": dict(policy.types),
            "abc_thresholds": tuple(policy.abc_thresholds)}


@router.get(f"{API}/policy", response_model=PolicyResponse, tags=["catalogue"], responses=error_responses(401, 403))
def get_policy(principal: PrincipalDep, service: ServiceDep) -> dict:
    """The caller's policy by class: service level and type per ABC x XYZ cell, ABC thresholds."""
    return _policy_answer(principal.client_id, service.data.policy(principal.client_id))


@router.put(
    f"{API}/policy", response_model=PolicyResponse, tags=["catalogue"], responses=error_responses(401, 403, 422)
)
def put_policy(body: PolicyBody, principal: PrincipalDep, state: StateDep) -> dict:
    """Change the caller's policy by class: admins only (a user token of an admin of the client)."""
    require_admin(principal, state, "change its policy")
    data = state.services.data
    policy = edited_policy(data.policy(principal.client_id), body.levels, body.types, body.abc_thresholds)
    data.save_policy(principal.client_id, policy)
    return _policy_answer(principal.client_id, policy)
