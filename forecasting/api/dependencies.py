"""FastAPI dependencies: the app's shared state, the caller (one dependency for both ways to
authenticate), the caller's client, the ForecastService, and the cancel token of a computation."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from forecasting.api.security import Principal, TokenIssuer, resolve_principal
from forecasting.api.settings import ApiSettings
from forecasting.io.uploads import UploadLimits
from forecasting.services.container import Services
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import CancelToken

#: how often a computing request checks whether its client is still connected
DISCONNECT_POLL_S = 0.5

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AccessToken",
    description="a user's access token from POST /api/v1/auth/token",
)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="a client's service key (python -m forecasting create-api-key, or the Admin page)",
)


@dataclass(frozen=True)
class ApiState:
    """What every request shares: the services (one engine and pool) built once, settings, the token issuer,
    the upload limits."""

    services: Services
    settings: ApiSettings
    issuer: TokenIssuer
    uploads: UploadLimits


async def get_state(request: Request) -> ApiState:
    """(``async``: no I/O, so FastAPI need not hand it to a worker thread.)"""
    return request.app.state.api


def get_principal(
    state: Annotated[ApiState, Depends(get_state)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The caller, from ``Authorization: Bearer`` or ``X-API-Key``; a 401 when neither identifies one."""
    token = bearer.credentials if bearer is not None else None
    return resolve_principal(token, api_key, state.issuer, state.services.users, state.services.api_keys)


async def get_service(state: Annotated[ApiState, Depends(get_state)]) -> ForecastService:
    """The shared ForecastService; each of its calls is its own database transaction (no I/O here)."""
    return state.services.forecasts


async def watch_disconnect(request: Request) -> AsyncIterator[CancelToken]:
    """A token set when the client disconnects, so that the computation stops (its run fails) instead
    of running on for nobody. The watcher runs on the event loop while the route computes in a thread."""
    token = CancelToken()

    async def watch() -> None:
        while not token.cancelled:
            if await request.is_disconnected():
                token.cancel("the client disconnected")
                return
            await asyncio.sleep(DISCONNECT_POLL_S)

    watcher = asyncio.create_task(watch())
    try:
        yield token
    finally:
        watcher.cancel()


def client_of(principal: Principal, requested: int | None) -> int:
    """The client a request acts for: the caller's own; naming another one is a 403."""
    if requested is not None and requested != principal.client_id:
        raise HTTPException(status_code=403, detail=f"client {requested} is not the client of these credentials")
    return principal.client_id


def require_admin(principal: Principal, state: ApiState, what: str) -> None:
    """A 403 unless the caller is a user token of an admin of its client (API keys and planners may not ``what``)."""
    users = state.services.users
    if principal.user_id is None or users.get_user(principal.client_id, principal.user_id).role != "admin":
        raise HTTPException(status_code=403, detail=f"only an admin of the client may {what}")


StateDep = Annotated[ApiState, Depends(get_state)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ServiceDep = Annotated[ForecastService, Depends(get_service)]
CancelDep = Annotated[CancelToken, Depends(watch_disconnect)]
