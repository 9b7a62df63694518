"""Reading a client's data back: item lists with their figures, and sales history as arrays.

Every function takes the client id and filters on it, including the bulk sales
reads (``item_id IN (SELECT id FROM items WHERE client_id = ...)``), so a
wrong item key can never reach another client's rows.

Sales history is the hot path (1,000 items x 730 days in under a second): on
PostgreSQL it streams through binary COPY into numpy; on SQLite, where every
fetched value costs a Python object, gap-free items fetch only quantities.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, Numeric, and_, bindparam, cast, func, select, text

from forecasting.core.history import day_numbers_to_dates, prepare_history
from forecasting.storage import bulk, clients
from forecasting.storage.models import InventoryPosition, Item, Sale

#: days counted as "recent" volume (up to the client's last sales date)
RECENT_DAYS = 28
ITEM_COLUMNS = [
    "item_id", "name", "category", "unit_cost", "lead_time_days", "review_period_days", "service_level", "moq",
    "pack_size", "service_type", "lead_time_std_days", "phase_out", "on_hand", "on_order", "on_order_due", "inventory_as_of", "first_date", "last_date",
    "total_quantity", "recent_quantity",
]
#: an item's keys (:func:`item_keys`): what reads its history and what its data's fingerprint hashes
KEY_COLUMNS = ["external_id", "pk", "sales_version", "category"]
_items = Item.__table__
_sales = Sale.__table__
_positions = InventoryPosition.__table__
#: SQLite packs (item, day) as item * 2**21 + day + 2**20 (days within +-2,870 years of 1970)
_DAY_BITS = 21
_DAY_OFFSET = 1 << 20


def item_keys(conn: Connection, client_id: int, external_ids: Sequence[str]) -> pd.DataFrame:
    """``external_id, pk, sales_version, category`` of those of the named items the client has, by external id
    (``category`` "" when none: the item attribute lgbm learns from, part of the data's fingerprint)."""
    query = select(_items.c.external_id, _items.c.id, _items.c.sales_version,
                   func.coalesce(_items.c.category, "")).where(_items.c.client_id == client_id)
    rows = []
    for chunk in bulk.chunks(list(external_ids)):
        rows += conn.execute(query.where(_items.c.external_id.in_(chunk))).all()
    frame = pd.DataFrame(rows, columns=KEY_COLUMNS)
    return frame.sort_values("external_id", kind="stable", ignore_index=True)


def key_rank(keys: pd.DataFrame, item_pk: np.ndarray) -> np.ndarray:
    """For each row's item pk, the item's position in ``keys`` (from :func:`item_keys`: by external id)."""
    pks = keys["pk"].to_numpy(dtype=np.int64)
    by_pk = np.argsort(pks)
    return by_pk[np.searchsorted(pks[by_pk], np.asarray(item_pk, dtype=np.int64))]


def load_sales(
    conn: Connection, client_id: int, pks: np.ndarray, start: date | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item pk, day number, quantity) of the items' sales from ``start`` on, ordered by pk then day."""
    pks = np.sort(np.asarray(pks, dtype=np.int64))
    if conn.dialect.name == "postgresql":
        # no ORDER BY: PostgreSQL 15 cannot walk the key index in order for a list of items and sorted
        # 730k rows on disk; rows mostly arrive in order anyway, and numpy sorts the rest faster
        sql = (
            "SELECT s.item_id, s.date - DATE '1970-01-01', s.quantity FROM sales s "
            "WHERE s.item_id = ANY(%(pks)s) AND s.item_id BETWEEN %(low)s AND %(high)s "
            "AND s.item_id IN (SELECT id FROM items WHERE client_id = %(client)s)"
            + (" AND s.date >= %(start)s" if start else "")
        )
        # the range lets the planner use the key index for a block of items (its estimate for a long ANY list
        # alone is often a scan of the whole table)
        bounds = {"low": int(pks[0]), "high": int(pks[-1])} if len(pks) else {"low": 0, "high": -1}
        item, day, quantity = bulk.copy_out(
            conn, sql, {"pks": pks.tolist(), "client": client_id, "start": start, **bounds}, ("int4", "int4", "float8")
        )
        item, day = item.astype(np.int64), day.astype(np.int64)
        if np.all((item[1:] > item[:-1]) | ((item[1:] == item[:-1]) & (day[1:] > day[:-1]))):
            return item, day, quantity
        order = np.lexsort((day, item))
        return item[order], day[order], quantity[order]
    parts = [_sqlite_sales(conn, client_id, chunk, start) for chunk in bulk.chunks(pks.tolist())]
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]


def _sqlite_sales(
    conn: Connection, client_id: int, pks: Sequence[int], start: date | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SQLite: a Python object per fetched value is the cost, so fetch as few values as possible.

    One aggregate per item (filtered on the client) gives its first day, last
    day and row count; items whose rows have no gaps (count = span) fetch only
    their quantities (the days follow), the others (item, day) packed in one
    integer plus the quantity. The follow-up queries read only items the
    aggregate returned.
    """
    since = " AND s.date >= ?" if start else ""
    since_param = [start.isoformat()] if start else []
    cursor = conn.connection.cursor()
    try:
        spans = cursor.execute(
            f"SELECT s.item_id, MIN(s.date), MAX(s.date), COUNT(*) FROM sales s WHERE s.item_id IN "
            f"({','.join('?' * len(pks))}) AND s.item_id IN (SELECT id FROM items WHERE client_id = ?){since} "
            "GROUP BY s.item_id ORDER BY s.item_id",
            [*pks, client_id, *since_param],
        ).fetchall()
        item = np.array([r[0] for r in spans], dtype=np.int64)
        first = np.array([r[1] for r in spans], dtype="datetime64[D]").astype(np.int64)
        last = np.array([r[2] for r in spans], dtype="datetime64[D]").astype(np.int64)
        count = np.array([r[3] for r in spans], dtype=np.int64)
        dense = count == last - first + 1

        def rows(columns: str, items: np.ndarray) -> list:
            if not len(items):
                return []
            return cursor.execute(
                f"SELECT {columns} FROM sales s WHERE s.item_id IN ({','.join('?' * len(items))}){since} "
                "ORDER BY s.item_id, s.date",
                [*items.tolist(), *since_param],
            ).fetchall()

        quantity = np.fromiter(itertools.chain.from_iterable(rows("s.quantity", item[dense])), dtype=np.float64)
        day = f"CAST(julianday(s.date) - 2440587.5 AS INTEGER) + {_DAY_OFFSET}"
        packed = np.array(rows(f"s.item_id * {1 << _DAY_BITS} + {day}, s.quantity", item[~dense]), dtype=np.float64)
    finally:
        cursor.close()
    if len(quantity) != count[dense].sum():
        raise RuntimeError("sales changed while being read (expected a snapshot)")
    dense_item = np.repeat(item[dense], count[dense])
    dense_day = np.repeat(first[dense] - _block_starts(count[dense]), count[dense]) + np.arange(len(dense_item))
    if dense.all():
        return dense_item, dense_day, quantity
    key = packed[:, 0].astype(np.int64)
    items = np.concatenate([dense_item, key >> _DAY_BITS])
    days = np.concatenate([dense_day, (key & ((1 << _DAY_BITS) - 1)) - _DAY_OFFSET])
    order = np.lexsort((days, items))
    return items[order], days[order], np.concatenate([quantity, packed[:, 1]])[order]


def _block_starts(lengths: np.ndarray) -> np.ndarray:
    """Offset of each block in the concatenation of blocks of ``lengths``."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


def started_before(conn: Connection, client_id: int, pks: np.ndarray, start: date) -> set[int]:
    """The items (of the client) that have a sale before ``start`` (one index probe per item)."""
    out: set[int] = set()
    for chunk in bulk.chunks(np.asarray(pks, dtype=np.int64).tolist()):
        out.update(
            conn.execute(
                select(_items.c.id).where(
                    _items.c.client_id == client_id,
                    _items.c.id.in_(chunk),
                    select(_sales.c.item_id).where(_sales.c.item_id == _items.c.id, _sales.c.date < start).exists(),
                )
            ).scalars()
        )
    return out


def load_covariates(
    conn: Connection, client_id: int, pks: np.ndarray, start: date | None = None
) -> pd.DataFrame:
    """Stored (non-zero) covariate values of the items: ``pk, day, name, value``."""
    sql = (
        "SELECT c.item_id, c.date, c.name, c.value FROM sales_covariates c "
        "WHERE c.item_id IN (SELECT id FROM items WHERE client_id = :client) AND c.item_id IN :pks"
        + (" AND c.date >= :start" if start else "")
    )
    stmt = text(sql).bindparams(bindparam("pks", expanding=True)).columns(date=Date)
    rows = []
    for chunk in bulk.chunks(np.asarray(pks, dtype=np.int64).tolist()):
        rows += conn.execute(stmt, {"client": client_id, "pks": chunk, "start": start}).all()
    frame = pd.DataFrame(rows, columns=["pk", "date", "name", "value"])
    frame["day"] = (
        pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[D]").astype(np.int64)
        if len(frame)
        else np.empty(0, dtype=np.int64)
    )
    return frame.drop(columns="date")


def items_table(
    conn: Connection,
    client_id: int,
    external_ids: Sequence[str] | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The client's items (:data:`ITEM_COLUMNS`): parameters, latest stock position and sales figures."""
    client_items = select(_items.c.id).where(_items.c.client_id == client_id).scalar_subquery()
    stats = (
        select(
            _sales.c.item_id,
            func.min(_sales.c.date).label("first_date"),
            func.max(_sales.c.date).label("last_date"),
            _sum(conn, _sales.c.quantity).label("total_quantity"),
        )
        .where(_sales.c.item_id.in_(client_items))
        .group_by(_sales.c.item_id)
        .subquery()
    )
    latest = (
        select(_positions.c.item_id, func.max(_positions.c.as_of).label("as_of"))
        .where(_positions.c.item_id.in_(client_items))
        .group_by(_positions.c.item_id)
        .subquery()
    )
    query = (
        select(
            _items.c.id.label("pk"),
            _items.c.external_id.label("item_id"),
            _items.c.name,
            _items.c.category,
            _items.c.unit_cost,
            _items.c.lead_time_days,
            _items.c.review_period_days,
            _items.c.service_level,
            _items.c.moq,
            _items.c.pack_size,
            _items.c.service_type,
            _items.c.lead_time_std_days,
            _items.c.phase_out,
            _positions.c.on_hand,
            _positions.c.on_order,
            _positions.c.on_order_due,
            _positions.c.as_of.label("inventory_as_of"),
            stats.c.first_date,
            stats.c.last_date,
            stats.c.total_quantity,
        )
        .select_from(_items)
        .outerjoin(stats, stats.c.item_id == _items.c.id)
        .outerjoin(latest, latest.c.item_id == _items.c.id)
        .outerjoin(_positions, and_(_positions.c.item_id == latest.c.item_id, _positions.c.as_of == latest.c.as_of))
        .where(_items.c.client_id == client_id)
        .order_by(_items.c.external_id)
    )
    if category is not None:
        query = query.where(_items.c.category == category)
    if external_ids is None:
        rows = conn.execute(query).all()
    else:
        rows = []
        for chunk in bulk.chunks(sorted(set(external_ids))):
            rows += conn.execute(query.where(_items.c.external_id.in_(chunk))).all()
    frame = pd.DataFrame(rows, columns=["pk", *ITEM_COLUMNS[:-1]])
    frame["recent_quantity"] = _recent_volume(conn, client_id, frame)
    for column in ("on_order_due", "inventory_as_of", "first_date", "last_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame = frame.astype({"unit_cost": float, "on_hand": float, "on_order": float, "total_quantity": float})
    # a sum past the float range is unknown (null), never inf
    frame["total_quantity"] = frame["total_quantity"].where(np.isfinite(frame["total_quantity"]))
    frame["lead_time_days"] = frame["lead_time_days"].astype("Int64")
    # no own level / type: the item's class cell applies (NaN / '' as in an inventory file)
    frame = frame.astype({"service_level": float, "lead_time_std_days": float, "phase_out": bool})
    frame["service_type"] = frame["service_type"].fillna("").astype(object)
    return frame.sort_values("item_id", kind="stable", ignore_index=True)


def _sum(conn: Connection, column):
    """SUM that cannot fail: PostgreSQL's sum of double precision raises past ~1.8e308, so it sums exact
    numerics there (a sum past the float range then reads as inf; SQLite's sum gives inf itself)."""
    if conn.dialect.name == "postgresql":
        return func.sum(cast(column, Numeric))
    return func.sum(column)


def _recent_volume(conn: Connection, client_id: int, frame: pd.DataFrame) -> np.ndarray:
    """Units sold in the RECENT_DAYS up to the client's last sales date (0 for items without)."""
    last = conn.execute(
        select(func.max(_sales.c.date)).where(
            _sales.c.item_id.in_(select(_items.c.id).where(_items.c.client_id == client_id).scalar_subquery())
        )
    ).scalar_one()
    if last is None or frame.empty:
        return np.zeros(len(frame))
    since = last - timedelta(days=RECENT_DAYS - 1)
    rows = conn.execute(
        select(_sales.c.item_id, _sum(conn, _sales.c.quantity))
        .where(
            _sales.c.date >= since,
            _sales.c.item_id.in_(select(_items.c.id).where(_items.c.client_id == client_id).scalar_subquery()),
        )
        .group_by(_sales.c.item_id)
    ).all()
    recent = dict(rows)
    return np.array([float(recent.get(pk, 0.0)) for pk in frame["pk"]], dtype=np.float64)


def categories(conn: Connection, client_id: int) -> list[str]:
    rows = conn.execute(
        select(_items.c.category)
        .where(_items.c.client_id == client_id, _items.c.category != "")
        .distinct()
        .order_by(_items.c.category)
    ).scalars()
    return list(rows)


def sales_days(conn: Connection, client_id: int) -> np.ndarray:
    """The distinct dates (day numbers) of the client's stored sales."""
    rows = conn.execute(
        select(_sales.c.date).distinct().join(_items, _items.c.id == _sales.c.item_id).where(_items.c.client_id == client_id)
    ).scalars()
    return np.array([np.datetime64(d, "D") for d in rows], dtype="datetime64[D]").astype(np.int64)


def history_frame(
    conn: Connection, client_id: int, keys: pd.DataFrame, start: date | None, as_of: date | None
) -> pd.DataFrame:
    """Sales (and covariates) of the keyed items in external-id order, gaps filled with zero up to ``as_of``.

    In the client's bucket (weekly, monthly: ``start`` is moved to its bucket's
    date); the frame's ``attrs["freq"]`` names it, so that models read it in that bucket.
    """
    freq = clients.get(conn, client_id).freq
    if start is not None and freq.code != "D":
        start = np.datetime64(int(freq.days_of(freq.periods(np.datetime64(start, "D").astype(np.int64)))),
                              "D").astype(object)
    item_pk, day, quantity = load_sales(conn, client_id, keys["pk"].to_numpy(), start)
    if start is not None:
        item_pk, day, quantity = _pad_to_start(conn, client_id, keys, start, item_pk, day, quantity)
    covariates = load_covariates(conn, client_id, keys["pk"].to_numpy(), start)
    if not len(item_pk):
        empty = pd.DataFrame(
            {
                "item_id": pd.Series(dtype=object),
                "date": pd.Series(dtype="datetime64[ns]"),
                "quantity": pd.Series(dtype=float),
            }
        )
        empty.attrs["freq"] = freq.alias
        return empty
    # rows arrive ordered by (pk, day); reorder blocks by external id (keys are sorted that way)
    rank = key_rank(keys, item_pk)
    order = np.argsort(rank, kind="stable")
    rank, day, quantity = rank[order], day[order], quantity[order]
    data: dict[str, np.ndarray] = {
        "item_id": keys["external_id"].to_numpy(dtype=object)[rank],
        "date": day_numbers_to_dates(day),
        "quantity": quantity,
    }
    if len(covariates):
        row_key = (rank << 32) + day
        cov_rank = key_rank(keys, covariates["pk"].to_numpy(dtype=np.int64))
        cov_key = (cov_rank << 32) + covariates["day"].to_numpy(dtype=np.int64)
        pos = np.minimum(np.searchsorted(row_key, cov_key), len(row_key) - 1)
        matched = row_key[pos] == cov_key
        names = covariates["name"].to_numpy(dtype=object)
        values = covariates["value"].to_numpy(dtype=np.float64)
        for name in sorted(set(names)):
            column = np.zeros(len(row_key))
            sel = matched & (names == name)
            column[pos[sel]] = values[sel]
            data[name] = column
    frame = prepare_history(pd.DataFrame(data), min_days=0, as_of=as_of, freq=freq).frame
    frame.attrs["freq"] = freq.alias
    return frame


def _pad_to_start(
    conn: Connection,
    client_id: int,
    keys: pd.DataFrame,
    start: date,
    item_pk: np.ndarray,
    day: np.ndarray,
    quantity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A zero row on ``start`` for items that sold before it but have no row that day, so they start there.

    (Their history runs to the as-of date, so it spans ``start`` even without a row after it.)
    """
    start_day = int(np.datetime64(start, "D").astype(np.int64))
    later = set(keys["pk"].tolist()) - set(item_pk[day == start_day].tolist())
    earlier = started_before(conn, client_id, np.array(sorted(later)), start) if later else set()
    pad = np.array(sorted(earlier), dtype=np.int64)
    if not len(pad):
        return item_pk, day, quantity
    item_pk = np.concatenate([item_pk, pad])
    day = np.concatenate([day, np.full(len(pad), start_day)])
    quantity = np.concatenate([quantity, np.zeros(len(pad))])
    order = np.lexsort((day, item_pk))
    return item_pk[order], day[order], quantity[order]
