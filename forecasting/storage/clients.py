"""Clients (tenants): creating them, finding them, and the data version every write of theirs bumps."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from forecasting.core.calendar import DAILY, Frequency
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.storage.ids import whole_id
from forecasting.storage.models import Client

_clients = Client.__table__


@dataclass(frozen=True)
class ClientInfo:
    client_id: int
    name: str
    data_version: int
    #: the data's "as of" date: last sales date over all items (None before any sales)
    as_of: date | None = None
    #: the bucket of the client's sales (daily before any import)
    freq: Frequency = DAILY
    #: the version of the client's calendar (None: no calendar); part of the forecast cache key
    calendar_version: str | None = None


def create(conn: Connection, name: str) -> ClientInfo:
    """A new client; names are unique (a taken name is a ForecastingError)."""
    try:
        with conn.begin_nested():
            client_id = conn.execute(insert(_clients).values(name=name).returning(_clients.c.id)).scalar_one()
    except IntegrityError:
        raise ForecastingError(f"a client named {name!r} already exists") from None
    return ClientInfo(int(client_id), name, 0)


def get(conn: Connection, client_id: int, lock: bool = False) -> ClientInfo:
    """The client, or NotFoundError (also for ids that are not whole numbers). ``lock`` (in a write): PostgreSQL
    locks the client's row until commit, so that what an import decides from it (its bucket) holds while it
    writes; SQLite's writes are serialised anyway."""
    query = select(_clients).where(_clients.c.id == whole_id(client_id, "client id"))
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFoundError(f"client {client_id} not found")
    return _info(row)


def by_name(conn: Connection, name: str) -> ClientInfo:
    row = conn.execute(select(_clients).where(_clients.c.name == str(name).strip())).mappings().first()
    if row is None:
        raise NotFoundError(f"client {name!r} not found")
    return _info(row)


def bump_data_version(conn: Connection, client_id: int) -> int:
    """Increment and return the client's data version (locks the client row until commit)."""
    row = conn.execute(
        update(_clients)
        .where(_clients.c.id == client_id)
        .values(data_version=_clients.c.data_version + 1)
        .returning(_clients.c.data_version)
    ).first()
    if row is None:
        raise NotFoundError(f"client {client_id} does not exist")
    return int(row[0])


def extend_as_of(conn: Connection, client_id: int, last_day: date) -> None:
    """Move the client's as-of date to ``last_day`` when that is later (sales are never deleted)."""
    conn.execute(
        update(_clients)
        .where(_clients.c.id == client_id, (_clients.c.sales_as_of.is_(None)) | (_clients.c.sales_as_of < last_day))
        .values(sales_as_of=last_day)
    )


def set_freq(conn: Connection, client_id: int, freq: Frequency) -> None:
    """Store the bucket of the client's sales (the first import's, or one forced by the importer)."""
    conn.execute(update(_clients).where(_clients.c.id == client_id).values(sales_freq=freq.alias))


def planning_model(conn: Connection, client_id: int) -> str | None:
    """The client's planning model as an admin set it (None: never set, the default applies)."""
    row = conn.execute(select(_clients.c.planning_model).where(_clients.c.id == whole_id(client_id, "client id"))).first()
    if row is None:
        raise NotFoundError(f"client {client_id} not found")
    return row.planning_model


def set_planning_model(conn: Connection, client_id: int, model: str) -> None:
    """Store the client's planning model (a model name the caller has checked)."""
    conn.execute(update(_clients).where(_clients.c.id == client_id).values(planning_model=model))


def _info(row) -> ClientInfo:
    return ClientInfo(int(row["id"]), row["name"], int(row["data_version"]), row["sales_as_of"],
                      Frequency.parse(row["sales_freq"]), row["calendar_version"])
