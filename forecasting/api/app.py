"""The FastAPI application: ``create_app()`` wires the database, settings, security and routes.

Run it on the loopback interface with one command (docs at http://127.0.0.1:8000/docs)::

    FORECASTING_JWT_SECRET=... .venv/bin/uvicorn --factory forecasting.api.app:create_app --host 127.0.0.1 --port 8000

or ``python -m forecasting serve-api [--host 127.0.0.1 --port 8000]``. The
database comes from ``DATABASE_URL`` (default: the SQLite file data/app.db)
and is migrated to the newest schema on start.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forecasting.api import calendar_routes, plan_routes, purchasing_routes, routes, sales_routes, simulation_routes
from forecasting.api.dependencies import ApiState
from forecasting.api.errors import install_error_handlers
from forecasting.api.security import TokenIssuer
from forecasting.api.settings import ApiSettings
from forecasting.io.uploads import UploadLimits
from forecasting.services.container import build_services
from forecasting.services.limits import RequestLimits
from forecasting.storage import Database

TITLE = "Forecasting API"
VERSION = "1.0.0"
#: request bodies above this are refused (413); the largest valid request is about 2.3 MB (the sales upload's
#: limit is the upload limit's, plus MULTIPART_BYTES)
MAX_BODY_BYTES = 4 * 1024 * 1024
#: room for a multipart body's boundaries, part headers and form fields around the uploaded file
MULTIPART_BYTES = 64 * 1024


def create_app(
    database: Database | str | None = None,
    settings: ApiSettings | None = None,
    limits: RequestLimits | None = None,
    uploads: UploadLimits | None = None,
) -> FastAPI:
    """The API over ``database`` (a Database, a URL, or default ``$DATABASE_URL``) with ``settings``
    (default: from the environment; raises ConfigurationError in production mode without a JWT secret),
    request ``limits`` (default: docs/security.md's, with any ``FORECAST_LIMIT_*`` variable applied) and the
    sales upload's ``uploads`` limits (default: the app's, ``server.maxUploadSize`` and 2 million rows)."""
    settings = settings or ApiSettings.from_env()
    uploads = uploads or UploadLimits.from_config()
    owned = not isinstance(database, Database)
    services = build_services(database, limits=limits or RequestLimits.from_env())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            services.database.dispose()

    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description="Forecasts, backtests and reorder tables for service callers, over the same "
        "ForecastService as the app and the CLI. Authenticate with a user's access token "
        "(POST /api/v1/auth/token) or a client's X-API-Key.",
        lifespan=lifespan,
    )
    app.state.api = ApiState(services=services, settings=settings, issuer=TokenIssuer(settings), uploads=uploads)
    install_error_handlers(app)
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES,
                       uploads={sales_routes.PATH: uploads.max_bytes + MULTIPART_BYTES})
    app.include_router(routes.router)
    app.include_router(purchasing_routes.router)
    app.include_router(simulation_routes.router)
    app.include_router(plan_routes.router)
    app.include_router(calendar_routes.router)
    app.include_router(sales_routes.router)
    return app


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes (an upload route's: ``uploads[path]``) with a JSON 413.

    A body announced too large (Content-Length) is refused before it is read;
    one sent without a length is cut off where it passes the limit (the
    HTTPException raised while the route reads it becomes the JSON answer).
    FastAPI's own ``max_body_size`` answers in plain text, hence this.
    """

    def __init__(self, app: ASGIApp, limit: int, uploads: dict[str, int]):
        self.app = app
        self.limit = limit
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.limit)
        detail = f"request body too large: at most {limit} bytes"
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=detail)
            return message

        await self.app(scope, limited, send)
