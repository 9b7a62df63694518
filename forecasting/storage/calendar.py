"""Each client's calendar (promotions, events, holidays, planned prices): every query filters on the client."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from forecasting.core.client_calendar import ClientCalendar
from forecasting.storage.clients import bump_data_version
from forecasting.storage.models import CalendarEntry, Client, Item, SaleCovariate

_entries = CalendarEntry.__table__
_clients = Client.__table__
_items = Item.__table__
_covariates = SaleCovariate.__table__


def replace(conn: Connection, client_id: int, calendar: ClientCalendar) -> str | None:
    """Store ``calendar`` as the client's whole calendar (the old one goes), set its version, bump the data version."""
    bump_data_version(conn, client_id)  # locks the client row: two imports replace one after the other
    conn.execute(delete(_entries).where(_entries.c.client_id == client_id))
    e = calendar.entries
    if len(e):
        rows = [{"client_id": client_id, "type": t, "item_id": i, "category": c, "start_date": s, "end_date": d,
                 "name": n, "discount": _none(dc), "price": _none(p)}
                for t, i, c, s, d, n, dc, p in zip(
                    e["type"], e["item_id"], e["category"], pd.to_datetime(e["start"]).dt.date,
                    pd.to_datetime(e["end"]).dt.date, e["name"], e["discount"], e["price"])]
        conn.execute(insert(_entries), rows)
    version = calendar.version()
    conn.execute(update(_clients).where(_clients.c.id == client_id).values(calendar_version=version))
    return version


def load(conn: Connection, client_id: int) -> ClientCalendar:
    """The client's stored calendar (empty when none)."""
    query = (select(_entries.c.type, _entries.c.item_id, _entries.c.category, _entries.c.start_date,
                    _entries.c.end_date, _entries.c.name, _entries.c.discount, _entries.c.price)
             .where(_entries.c.client_id == client_id).order_by(_entries.c.id))
    rows = conn.execute(query).all()
    if not rows:
        return ClientCalendar.empty()
    t, i, c, s, d, n, dc, p = zip(*rows)
    return ClientCalendar(pd.DataFrame({
        "type": np.asarray(t, dtype=object), "item_id": np.asarray(i, dtype=object),
        "category": np.asarray(c, dtype=object), "start": pd.to_datetime(list(s)).to_numpy(),
        "end": pd.to_datetime(list(d)).to_numpy(), "name": np.asarray(n, dtype=object),
        "discount": np.asarray(dc, dtype=np.float64), "price": np.asarray(p, dtype=np.float64),
    }))


def item_categories(conn: Connection, client_id: int) -> dict[str, str]:
    """Every item of the client: its id -> its category ("" when none): what a calendar may name."""
    query = select(_items.c.external_id, _items.c.category).where(_items.c.client_id == client_id)
    return {row.external_id: row.category or "" for row in conn.execute(query)}


def covariate_names(conn: Connection, client_id: int) -> list[str]:
    """The names of the client's stored sales covariates (a sales file's extra columns), sorted."""
    query = (select(_covariates.c.name).distinct().join(_items, _items.c.id == _covariates.c.item_id)
             .where(_items.c.client_id == client_id).order_by(_covariates.c.name))
    return list(conn.execute(query).scalars())


def _none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
