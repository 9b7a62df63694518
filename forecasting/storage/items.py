"""Items of a client: resolving their ids and writing parameter edits."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from sqlalchemy import Connection, bindparam, func, select, update

from forecasting.core.errors import NotFoundError, listed
from forecasting.storage import bulk, reads
from forecasting.storage.clients import get as get_client
from forecasting.storage.models import Item, Sale

_items = Item.__table__
_sales = Sale.__table__


def resolve(conn: Connection, client_id: int, ids: Sequence[str]) -> pd.DataFrame:
    """Keys (``external_id, pk, sales_version, category``) of the named items; any unknown one is a NotFoundError.

    An unknown client is a NotFoundError too, and another client's items look
    exactly like missing ones.
    """
    keys = reads.item_keys(conn, client_id, ids)
    if len(keys) != len(ids):
        get_client(conn, client_id)
        missing = sorted(set(ids) - set(keys["external_id"]))
        raise NotFoundError(f"unknown item(s) for this client: {listed(missing)}")
    return keys


def cycles(conn: Connection, client_id: int, pks: Sequence[int]) -> dict[int, tuple[int | None, int, float]]:
    """Stored (lead time, review period, lead-time std) of the items, by primary key."""
    query = select(_items.c.id, _items.c.lead_time_days, _items.c.review_period_days,
                   _items.c.lead_time_std_days).where(_items.c.client_id == client_id)
    out: dict[int, tuple[int | None, int, float]] = {}
    for chunk in bulk.chunks(list(pks)):
        out.update({row.id: (row.lead_time_days, row.review_period_days, row.lead_time_std_days) for row in conn.execute(
            query.where(_items.c.id.in_(chunk)))})
    return out


def write_values(
    conn: Connection, client_id: int, pk_of: Mapping[str, int], values: Mapping[str, Mapping[str, object]]
) -> None:
    """One executemany per set of changed columns (items changing the same fields share a statement)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for item_id, row in values.items():
        groups.setdefault(tuple(sorted(row)), []).append(
            {"item_pk": pk_of[item_id], **{f"new_{c}": v for c, v in row.items()}}
        )
    for columns, rows in groups.items():
        statement = (
            update(_items)
            .where(_items.c.id == bindparam("item_pk"), _items.c.client_id == client_id)
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        conn.execute(statement, rows)


def keys_page(conn: Connection, client_id: int, after: str | None, limit: int) -> pd.DataFrame:
    """Keys (``external_id, pk, sales_version, category``: :func:`reads.item_keys`) of the client's next ``limit``
    items with sales after ``after``.

    Keyset pagination on the (client, id) index, in the database's order of
    the ids (its collation; callers that need code-point order sort the keys).
    """
    query = (
        select(_items.c.external_id, _items.c.id, _items.c.sales_version, func.coalesce(_items.c.category, ""))
        .where(
            _items.c.client_id == client_id,
            select(_sales.c.item_id).where(_sales.c.item_id == _items.c.id).exists(),
        )
        .order_by(_items.c.external_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(_items.c.external_id > after)
    return pd.DataFrame(conn.execute(query).all(), columns=reads.KEY_COLUMNS)
