"""Writing validated sales and inventory frames: one transaction, bulk paths, upsert counts.

Every import first bumps the client's ``data_version`` (``UPDATE ... RETURNING``):
the row lock this takes serialises imports of the same client on PostgreSQL,
so two processes importing at once cannot interleave (SQLite serialises all
writers anyway). Items met for the first time are created. Sales of items that
had no rows before go straight into ``sales`` (COPY / executemany); otherwise
the rows are staged in a temporary table, the rows that already exist are
counted, those whose quantity changed are updated and the others inserted.

Covariate columns (``promo``, ``price``...) are stored long, one row per item,
day and name, and only where the value is non-zero: the history that models
see treats a missing covariate value as 0, so zeros need no row.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, func, insert, select, update

from forecasting.applications.inventory.inventory_input import Inventory
from forecasting.core.as_of import AsOfMove, AsOfMoveError, as_of_move
from forecasting.core.history import to_day_numbers
from forecasting.core.sales import SALES_COLUMNS
from forecasting.storage import bulk
from forecasting.storage.clients import bump_data_version, extend_as_of, get
from forecasting.storage.models import InventoryPosition, Item, Sale, SaleCovariate

_items = Item.__table__
_positions = InventoryPosition.__table__
_covariates = SaleCovariate.__table__
_sales = Sale.__table__


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: rows inserted and replaced, items touched and created."""

    kind: str
    rows: int
    inserted: int
    updated: int
    items: int
    items_created: int
    data_version: int

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.rows:,} rows ({self.inserted:,} inserted, {self.updated:,} updated) "
            f"for {self.items:,} items ({self.items_created:,} new)"
        )


def ensure_items(conn: Connection, client_id: int, external_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primary keys for ``external_ids`` (unique), creating missing items; plus a mask of the created ones."""
    existing = dict(
        conn.execute(select(_items.c.external_id, _items.c.id).where(_items.c.client_id == client_id)).all()
    )
    created = np.array([e not in existing for e in external_ids], dtype=bool)
    if created.any():
        conn.execute(insert(_items), [{"client_id": client_id, "external_id": e} for e in external_ids[created]])
        new = set(external_ids[created].tolist())
        for external_id, pk in conn.execute(
            select(_items.c.external_id, _items.c.id).where(_items.c.client_id == client_id)
        ):
            if external_id in new:
                existing[external_id] = pk
    pks = np.array([existing[e] for e in external_ids], dtype=np.int64)
    return pks, created


def sales_as_of_move(conn: Connection, client_id: int, frame: pd.DataFrame) -> AsOfMove | None:
    """What importing the validated sales ``frame`` would do to the as-of date of the client's other items."""
    return _as_of_move(conn, client_id, pd.Timestamp(frame["date"].max()).date(), pd.unique(frame["item_id"]))


def _as_of_move(conn: Connection, client_id: int, last: date, item_ids: Iterable[str]) -> AsOfMove | None:
    """The move of an upload ending on ``last`` and holding ``item_ids`` (see :func:`as_of_move`)."""
    stored = conn.execute(
        select(_items.c.external_id).where(
            _items.c.client_id == client_id,
            select(_sales.c.item_id).where(_sales.c.item_id == _items.c.id).exists(),
        )
    ).scalars()
    return as_of_move(get(conn, client_id).as_of, last, stored, item_ids)


def _refuse_unconfirmed_move(conn: Connection, client_id: int, last: date, item_ids: Iterable[str]) -> None:
    """Raise :class:`AsOfMoveError` when the upload would move other items' as-of date (nothing written yet)."""
    move = _as_of_move(conn, client_id, last, item_ids)
    if move is not None:
        raise AsOfMoveError(move)


def write_sales(
    conn: Connection, client_id: int, frame: pd.DataFrame, move_as_of: bool = False, version: int | None = None
) -> ImportResult:
    """Upsert a validated sales frame (item_id, date, quantity, covariates...) for the client.

    Unless ``move_as_of``, an upload that would move the as-of date of items it
    does not contain is refused (:class:`AsOfMoveError`, nothing written); the
    check runs under the import's lock, so a concurrent import cannot slip by it.
    ``version``: the data version already taken by an import of several parts (:func:`write_sales_parts`).
    """
    version = bump_data_version(conn, client_id) if version is None else version
    if not move_as_of:
        _refuse_unconfirmed_move(conn, client_id, pd.Timestamp(frame["date"].max()).date(), pd.unique(frame["item_id"]))
    codes, uniques = pd.factorize(frame["item_id"], sort=False)
    pks, created = ensure_items(conn, client_id, np.asarray(uniques, dtype=object))
    item = pks[codes]
    day = to_day_numbers(frame["date"])
    # key order makes every index insert an append (a file sorted by date would scatter them)
    order = slice(None) if _in_key_order(item, day) else np.lexsort((day, item))
    item, day = item[order], day[order]
    quantity = frame["quantity"].to_numpy(dtype=np.float64)[order]
    covariates = [c for c in frame.columns if c not in SALES_COLUMNS]

    if created.all():  # no earlier rows can exist for these items: straight in
        _insert_sales(conn, item, day, quantity)
        updated = 0
    else:
        _stage_sales(conn, item, day, quantity)
        updated = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM _stage_sales s JOIN sales t ON t.item_id = s.item_id AND t.date = s.date"
        ).scalar_one()
        # rows that exist are rewritten only where the quantity changed (re-imports mostly repeat days);
        # the rest are inserted (no conflict can remain: imports of a client are serialised, see above)
        conn.exec_driver_sql(
            "UPDATE sales SET quantity = s.quantity FROM _stage_sales s WHERE sales.item_id = s.item_id "
            "AND sales.date = s.date AND sales.quantity <> s.quantity"
        )
        conn.exec_driver_sql(
            "INSERT INTO sales (item_id, date, quantity) SELECT item_id, date, quantity FROM _stage_sales "
            "WHERE true ON CONFLICT (item_id, date) DO NOTHING"
        )
        if _has_covariates(conn, pks):
            conn.exec_driver_sql(
                "DELETE FROM sales_covariates WHERE EXISTS (SELECT 1 FROM _stage_sales s "
                "WHERE s.item_id = sales_covariates.item_id AND s.date = sales_covariates.date)"
            )
        _drop_stage(conn)
    for name in covariates:
        values = frame[name].to_numpy(dtype=np.float64)[order]
        keep = np.isfinite(values) & (values != 0)
        _insert_covariate(conn, name, item[keep], day[keep], values[keep])
    for chunk in bulk.chunks(pks.tolist()):
        conn.execute(
            update(_items)
            .where(_items.c.client_id == client_id, _items.c.id.in_(chunk))
            .values(sales_version=version)
        )
    extend_as_of(conn, client_id, np.datetime64(int(day.max()), "D").astype(object))
    return ImportResult(
        kind="sales",
        rows=len(frame),
        inserted=len(frame) - int(updated),
        updated=int(updated),
        items=len(pks),
        items_created=int(created.sum()),
        data_version=version,
    )


def write_sales_parts(
    conn: Connection,
    client_id: int,
    parts: Iterable[pd.DataFrame],
    last: date,
    item_ids: Iterable[str],
    move_as_of: bool = False,
) -> ImportResult:
    """Upsert a sales file a part at a time (each a validated frame of items no other part has), as one import.

    ``last`` and ``item_ids``: the whole file's last date and items, for the as-of rule of :func:`write_sales`.
    """
    version = bump_data_version(conn, client_id)
    if not move_as_of:
        _refuse_unconfirmed_move(conn, client_id, last, item_ids)
    results = [write_sales(conn, client_id, part, move_as_of=True, version=version) for part in parts]
    counts = ("rows", "inserted", "updated", "items", "items_created")
    return ImportResult("sales", *(sum(getattr(r, c) for r in results) for c in counts), data_version=version)


def write_inventory(conn: Connection, client_id: int, inventory: Inventory, as_of: date) -> ImportResult:
    """Store item parameters and the stock position as of ``as_of`` (one position per item and day)."""
    version = bump_data_version(conn, client_id)
    pks, created = ensure_items(conn, client_id, inventory.item_ids)
    conn.execute(
        update(_items)
        .where(_items.c.id == bindparam("pk"), _items.c.client_id == client_id)
        .values(
            lead_time_days=bindparam("p_lead"),
            review_period_days=bindparam("p_review"),
            service_level=bindparam("p_level"),
            service_type=bindparam("p_type"),
            lead_time_std_days=bindparam("p_lead_std"),
            phase_out=bindparam("p_phase_out"),
            moq=bindparam("p_moq"),
            pack_size=bindparam("p_pack"),
            # absent optional values keep what the item had
            unit_cost=func.coalesce(bindparam("p_cost"), _items.c.unit_cost),
            name=func.coalesce(func.nullif(bindparam("p_name"), ""), _items.c.name),
            category=func.coalesce(func.nullif(bindparam("p_category"), ""), _items.c.category),
        ),
        [
            {
                "pk": int(pk),
                "p_lead": int(lead),
                "p_review": int(review),
                # no level / type in the file: NULL, the item's class cell applies
                "p_level": None if np.isnan(level) else float(level),
                "p_type": str(kind) or None,
                "p_lead_std": float(lead_std),
                "p_phase_out": bool(phase_out),
                "p_moq": float(moq),
                "p_pack": float(pack),
                "p_cost": None if not np.isfinite(cost) else float(cost),
                "p_name": str(name),
                "p_category": str(category),
            }
            for pk, lead, review, level, kind, lead_std, phase_out, moq, pack, cost, name, category in zip(
                pks,
                inventory.lead_time_days,
                inventory.review_period_days,
                inventory.service_level,
                inventory.service_type,
                inventory.lead_time_std_days,
                inventory.phase_out,
                inventory.moq,
                inventory.pack_size,
                inventory.unit_cost,
                inventory.name,
                inventory.category,
            )
        ],
    )
    updated = 0
    for chunk in bulk.chunks(pks.tolist()):
        updated += conn.execute(
            select(func.count()).where(_positions.c.as_of == as_of, _positions.c.item_id.in_(chunk))
        ).scalar_one()
    stmt = bulk.insert_on_conflict(conn, _positions)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[_positions.c.item_id, _positions.c.as_of],
            set_={"on_hand": stmt.excluded.on_hand, "on_order": stmt.excluded.on_order,
                  "on_order_due": stmt.excluded.on_order_due},
        ),
        [
            {"item_id": int(pk), "as_of": as_of, "on_hand": float(on_hand), "on_order": float(on_order),
             "on_order_due": None if np.isnat(due) else due.astype("datetime64[D]").astype(object)}
            for pk, on_hand, on_order, due in zip(pks, inventory.on_hand, inventory.on_order, inventory.on_order_due)
        ],
    )
    return ImportResult(
        kind="inventory",
        rows=len(pks),
        inserted=len(pks) - int(updated),
        updated=int(updated),
        items=len(pks),
        items_created=int(created.sum()),
        data_version=version,
    )


def _in_key_order(item: np.ndarray, day: np.ndarray) -> bool:
    return bool(np.all((item[1:] > item[:-1]) | ((item[1:] == item[:-1]) & (day[1:] > day[:-1]))))


def _insert_sales(conn: Connection, item: np.ndarray, day: np.ndarray, quantity: np.ndarray) -> None:
    if conn.dialect.name == "postgresql":
        bulk.copy_in(conn, "sales", ("item_id", "date", "quantity"), ("int4", "date", "float8"), (item, day, quantity))
    else:
        bulk.executemany(
            conn,
            "INSERT INTO sales (item_id, date, quantity) VALUES (?, ?, ?)",
            zip(item.tolist(), bulk.day_strings(day), quantity.tolist()),
        )


def _stage_sales(conn: Connection, item: np.ndarray, day: np.ndarray, quantity: np.ndarray) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE TEMP TABLE _stage_sales (item_id integer NOT NULL, date date NOT NULL, "
            "quantity double precision NOT NULL) ON COMMIT DROP"
        )
        bulk.copy_in(
            conn, "_stage_sales", ("item_id", "date", "quantity"), ("int4", "date", "float8"), (item, day, quantity)
        )
        conn.exec_driver_sql("ANALYZE _stage_sales")
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp._stage_sales")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE _stage_sales (item_id INTEGER NOT NULL, date DATE NOT NULL, "
            "quantity FLOAT NOT NULL, PRIMARY KEY (item_id, date)) WITHOUT ROWID"
        )
        bulk.executemany(
            conn,
            "INSERT INTO _stage_sales (item_id, date, quantity) VALUES (?, ?, ?)",
            zip(item.tolist(), bulk.day_strings(day), quantity.tolist()),
        )


def _has_covariates(conn: Connection, pks: np.ndarray) -> bool:
    return any(
        conn.execute(select(_covariates.c.item_id).where(_covariates.c.item_id.in_(chunk)).limit(1)).first()
        for chunk in bulk.chunks(pks.tolist())
    )


def _drop_stage(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":  # PostgreSQL drops it on commit
        conn.exec_driver_sql("DROP TABLE temp._stage_sales")


def _insert_covariate(conn: Connection, name: str, item: np.ndarray, day: np.ndarray, values: np.ndarray) -> None:
    if not len(item):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS _stage_covariate (item_id integer NOT NULL, date date NOT NULL, "
            "value double precision NOT NULL) ON COMMIT DROP"
        )
        conn.exec_driver_sql("TRUNCATE _stage_covariate")
        bulk.copy_in(
            conn, "_stage_covariate", ("item_id", "date", "value"), ("int4", "date", "float8"), (item, day, values)
        )
        conn.exec_driver_sql(
            "INSERT INTO sales_covariates (item_id, date, name, value) "
            "SELECT item_id, date, %(name)s, value FROM _stage_covariate",
            {"name": name},
        )
    else:
        bulk.executemany(
            conn,
            "INSERT INTO sales_covariates (item_id, date, name, value) VALUES (?, ?, ?, ?)",
            zip(item.tolist(), bulk.day_strings(day), [name] * len(item), values.tolist()),
        )
