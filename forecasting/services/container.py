"""The one place the services are built: the app, the API and the CLI all call :func:`build_services`."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from forecasting.services.api_keys import ApiKeyService
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.limits import RequestLimits
from forecasting.services.planning import PlanningService
from forecasting.services.purchasing import PurchasingService
from forecasting.services.run_recovery import recover
from forecasting.services.users import DEFAULT_BCRYPT_ROUNDS, UserService
from forecasting.storage import Database, DatabaseBusyError, DatabaseUnavailableError, open_database


@dataclass(frozen=True)
class Services:
    """Every service over one database (one engine and connection pool per process)."""

    database: Database
    data: DataAccess
    forecasts: ForecastService
    users: UserService
    api_keys: ApiKeyService
    #: the published plan, overrides and forecast value added (docs/planning.md)
    planning: PlanningService
    purchasing: PurchasingService


def build_services(
    database: Database | str | None = None,
    bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS,
    limits: RequestLimits | None = None,
) -> Services:
    """The services over ``database``: a Database, a URL, or None for ``$DATABASE_URL`` / data/app.db.

    A URL (or None) is opened and migrated to the newest schema first; runs whose process died are then marked
    failed and their results removed (:func:`forecasting.services.run_recovery.recover`).
    ``limits``: the request limits of the app and the API (None: a batch job's, unlimited).
    """
    db = database if isinstance(database, Database) else open_database(database)
    try:
        recover(db)
    except (DatabaseUnavailableError, DatabaseBusyError) as exc:  # the API starts anyway (503 until it is back)
        logging.getLogger(__name__).warning("abandoned runs not checked: %s", exc)
    data = DataAccess(db)
    forecasts = ForecastService(data, limits)
    return Services(db, data, forecasts, UserService(db, bcrypt_rounds), ApiKeyService(db),
                    PlanningService(data, forecasts), PurchasingService(data, forecasts))
