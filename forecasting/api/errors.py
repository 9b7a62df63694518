"""Every error as JSON ``{"detail": "..."}`` with a fitting status, never a stack trace.

- 401: no or bad credentials, wrong password, locked account
- 403: a request naming another client (``client_id``), or one the caller's role or credential may not make
  (an admin's setting by a planner, an import by a service key)
- 404: unknown item or run of the caller's client (another client's ids look
  exactly like missing ones, so ids of other clients cannot be probed)
- 410: a forecast run whose stored results were removed (storage quota or pruning)
- 422: an invalid body (``detail`` plus ``errors``: where and what, without
  echoing the input), a request the forecasting code rejects, or one over a
  request limit (``detail`` names the limit)
- 429: no computation slot is free (``Retry-After`` says when to try again)
- 503: a model that cannot run here (the reason is in ``detail``), the database
  is unreachable, or (SQLite) busy with a long write (with ``Retry-After``)
- 499: (never seen) the client disconnected and its computation was cancelled
- 500: anything unexpected (logged with its traceback; the caller sees only ``internal server error``)
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from forecasting.api.schemas import ErrorResponse, ValidationErrorResponse
from forecasting.api.security import NotAuthenticatedError
from forecasting.core.errors import ForecastingError, ModelUnavailableError, NotFoundError, ResultsRemovedError
from forecasting.services.limits import BusyError, CancelledError
from forecasting.services.users import AuthenticationError
from forecasting.storage.database import DatabaseBusyError, DatabaseUnavailableError

log = logging.getLogger("forecasting.api")
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}

#: most specific first; a ForecastingError not listed is a 422
STATUS_OF: list[tuple[type[ForecastingError], int]] = [
    (NotAuthenticatedError, 401),
    (AuthenticationError, 401),
    (ResultsRemovedError, 410),
    (NotFoundError, 404),
    (BusyError, 429),
    (CancelledError, 499),
    (ModelUnavailableError, 503),
    (DatabaseUnavailableError, 503),
    (DatabaseBusyError, 503),
]


def status_of(exc: ForecastingError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 422


async def _forecasting_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ForecastingError)
    status = status_of(exc)
    if isinstance(exc, DatabaseUnavailableError):
        log.error("database unavailable: %s", exc)
        return JSONResponse({"detail": "the database is not available; try again later"}, status_code=503)
    headers = BEARER_CHALLENGE if status == 401 else None
    if isinstance(exc, (BusyError, DatabaseBusyError)):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())], "msg": e.get("msg", ""),
         "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return JSONResponse({"detail": f"invalid request: {summary}{more}", "errors": errors}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ForecastingError, _forecasting_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


_MEANING = {
    401: "not authenticated (no, invalid, expired or revoked credentials)",
    403: "the request names another client, or the caller's role or credential may not make it",
    404: "unknown item or run of the caller's client",
    410: "the run's stored results were removed (storage quota or pruning): run it again",
    422: "invalid request, or one over a request limit (detail names it)",
    429: "no computation slot is free: try again after Retry-After seconds",
    503: "the model cannot run here (reason in detail), or the database is unavailable or busy",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI entries for the error statuses a route can answer."""
    return {
        status: {"model": ValidationErrorResponse if status == 422 else ErrorResponse, "description": _MEANING[status]}
        for status in statuses
    }
