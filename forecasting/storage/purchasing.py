"""Suppliers, item-supplier links and purchase orders of a client: every query filters on the client."""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, update

from forecasting.storage.models import (
    InventoryPosition,
    Item,
    ItemSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    User,
)

_sup = Supplier.__table__
_links = ItemSupplier.__table__
_orders = PurchaseOrder.__table__
_lines = PurchaseOrderLine.__table__
_items = Item.__table__
_pos = InventoryPosition.__table__
_users = User.__table__

SUPPLIER_FIELDS = ("lead_time_days", "lead_time_std_days", "order_days", "review_period_days", "min_order_value", "min_order_qty",
                   "capacity_units", "currency")
LINK_FIELDS = ("pack_size", "moq", "unit_cost", "lead_time_days", "lead_time_std_days", "supplier_item_code")


def _none(value: object) -> object:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def write_suppliers(conn: Connection, client_id: int, suppliers: pd.DataFrame, links: pd.DataFrame) -> None:
    """Suppliers upserted by name, then each linked item's link replaced (items not in the file keep theirs)."""
    existing = dict(conn.execute(select(_sup.c.name, _sup.c.id).where(_sup.c.client_id == client_id)).all())
    for row in suppliers.to_dict("records"):
        values = {f: _none(row[f]) for f in SUPPLIER_FIELDS}
        values["lead_time_days"] = int(values["lead_time_days"])
        if values["review_period_days"] is not None:
            values["review_period_days"] = int(values["review_period_days"])
        if row["supplier"] in existing:
            conn.execute(update(_sup).where(_sup.c.id == existing[row["supplier"]]).values(values))
        else:
            existing[row["supplier"]] = conn.execute(
                insert(_sup).values(client_id=client_id, name=row["supplier"], **values).returning(_sup.c.id)
            ).scalar_one()
    if links.empty:
        return
    pks = dict(conn.execute(select(_items.c.external_id, _items.c.id).where(
        _items.c.client_id == client_id, _items.c.external_id.in_(links["item_id"].tolist()))).all())
    conn.execute(delete(_links).where(_links.c.item_id.in_(list(pks.values()))))
    rows = []
    for row in links.to_dict("records"):
        values = {f: _none(row[f]) for f in LINK_FIELDS}
        if values["lead_time_days"] is not None:
            values["lead_time_days"] = int(values["lead_time_days"])
        rows.append({"item_id": pks[row["item_id"]], "supplier_id": existing[row["supplier"]], **values})
    conn.execute(insert(_links), rows)


def delete_supplier(conn: Connection, client_id: int, name: str) -> bool:
    """Delete a supplier of the client with its item links and draft orders; False: no such supplier.

    A supplier named by approved orders is kept (the order history names it):
    the caller refuses that case first (:func:`has_approved`).
    """
    supplier_id = conn.execute(select(_sup.c.id).where(_sup.c.client_id == client_id, _sup.c.name == name)
                               ).scalar_one_or_none()
    if supplier_id is None:
        return False
    orders = select(_orders.c.id).where(_orders.c.client_id == client_id, _orders.c.supplier_id == supplier_id)
    conn.execute(delete(_lines).where(_lines.c.order_id.in_(orders)))
    conn.execute(delete(_orders).where(_orders.c.client_id == client_id, _orders.c.supplier_id == supplier_id))
    conn.execute(delete(_links).where(_links.c.supplier_id == supplier_id))
    conn.execute(delete(_sup).where(_sup.c.id == supplier_id, _sup.c.client_id == client_id))
    return True


def has_approved(conn: Connection, client_id: int, name: str) -> bool:
    """Whether approved lines of the client's orders name this supplier."""
    query = (select(func.count()).select_from(_lines).join(_orders, _orders.c.id == _lines.c.order_id)
             .join(_sup, _sup.c.id == _orders.c.supplier_id)
             .where(_orders.c.client_id == client_id, _sup.c.client_id == client_id, _sup.c.name == name,
                    _lines.c.state == "approved"))
    return conn.execute(query).scalar_one() > 0


def delete_link(conn: Connection, client_id: int, item_id: str) -> bool:
    """Remove an item's supplier link (its own lead time and pack size apply again); False: it had none."""
    mine = select(_items.c.id).where(_items.c.client_id == client_id, _items.c.external_id == item_id)
    return conn.execute(delete(_links).where(_links.c.item_id.in_(mine))).rowcount > 0


def item_terms(conn: Connection, client_id: int) -> pd.DataFrame:
    """The supplier terms of each linked item, which win over the item's own (docs/data-formats.md).

    ``item_id`` (the client's id), ``lead_time_days`` (the link's override, else
    the supplier's), ``lead_time_std_days`` (likewise; None: the item's own),
    ``pack_size``, ``moq`` and ``unit_cost`` (the link's; None: the item's own
    cost). Items without a link are absent: their own fields apply.
    """
    query = (select(_items.c.external_id.label("item_id"),
                    func.coalesce(_links.c.lead_time_days, _sup.c.lead_time_days).label("lead_time_days"),
                    func.coalesce(_links.c.lead_time_std_days, _sup.c.lead_time_std_days).label("lead_time_std_days"),
                    _links.c.pack_size, _links.c.moq, _links.c.unit_cost)
             .join(_items, _items.c.id == _links.c.item_id).join(_sup, _sup.c.id == _links.c.supplier_id)
             .where(_items.c.client_id == client_id, _sup.c.client_id == client_id))
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=["item_id", "lead_time_days", "lead_time_std_days", "pack_size", "moq", "unit_cost"])


def suppliers(conn: Connection, client_id: int) -> pd.DataFrame:
    """The client's suppliers (``id, name`` and their terms), by name."""
    query = select(_sup.c.id, _sup.c.name, *[_sup.c[f] for f in SUPPLIER_FIELDS]).where(
        _sup.c.client_id == client_id).order_by(_sup.c.name)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=["id", "name", *SUPPLIER_FIELDS])


def links(conn: Connection, client_id: int) -> pd.DataFrame:
    """Item-supplier links: ``item_id`` (the client's id), ``supplier`` (name) and LINK_FIELDS."""
    query = (select(_items.c.external_id.label("item_id"), _sup.c.name.label("supplier"),
                    *[_links.c[f] for f in LINK_FIELDS])
             .join(_items, _items.c.id == _links.c.item_id).join(_sup, _sup.c.id == _links.c.supplier_id)
             .where(_items.c.client_id == client_id, _sup.c.client_id == client_id))
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=["item_id", "supplier", *LINK_FIELDS])


def clear_drafts(conn: Connection, client_id: int) -> None:
    """Remove the client's draft lines, and the orders left without a line."""
    mine = select(_orders.c.id).where(_orders.c.client_id == client_id)
    conn.execute(delete(_lines).where(_lines.c.order_id.in_(mine), _lines.c.state == "draft"))
    used = select(_lines.c.order_id)
    conn.execute(delete(_orders).where(_orders.c.client_id == client_id, _orders.c.id.not_in(used)))


def draft_order_supplier(conn: Connection, client_id: int, order_id: int) -> str | None:
    """The supplier name ("" none) of the client's order ``order_id`` while it is a draft (no approved line,
    even if every line was removed); None: no such draft order."""
    row = conn.execute(select(func.coalesce(_sup.c.name, "")).select_from(_orders)
                       .outerjoin(_sup, _sup.c.id == _orders.c.supplier_id)
                       .where(_orders.c.client_id == client_id, _orders.c.id == order_id)).first()
    approved = conn.execute(select(func.count()).where(_lines.c.order_id == order_id,
                                                       _lines.c.state == "approved")).scalar_one()
    return None if row is None or approved else row[0]


def add_order(conn: Connection, client_id: int, supplier_id: int | None, user_id: int | None) -> int:
    return conn.execute(insert(_orders).values(client_id=client_id, supplier_id=supplier_id, created_by=user_id)
                        .returning(_orders.c.id)).scalar_one()


def add_lines(conn: Connection, client_id: int, order_id: int, lines: pd.DataFrame) -> None:
    """Draft lines on an order; ``lines`` has ``item_id`` (the client's ids) and the line columns."""
    pks = dict(conn.execute(select(_items.c.external_id, _items.c.id).where(
        _items.c.client_id == client_id, _items.c.external_id.in_(lines["item_id"].tolist()))).all())
    rows = [{"order_id": order_id, "item_id": pks[r["item_id"]], "reason": r["reason"],
             "qty_needed": float(r["qty_needed"]), "qty_rounded": float(r["qty_rounded"]),
             "order_qty": float(r["order_qty"]), "unit_cost": _none(float(r["unit_cost"])),
             "lead_time_days": int(r["lead_time_days"])} for r in lines.to_dict("records")]
    if rows:
        conn.execute(insert(_lines), rows)


def order_lines(conn: Connection, client_id: int, states: Sequence[str] | None = None) -> pd.DataFrame:
    """The client's order lines with their order, supplier, item, approver and editor names."""
    approver, editor = _users.alias("approver"), _users.alias("editor")
    query = (
        select(_lines.c.id.label("line"), _orders.c.id.label("order_id"), func.coalesce(_sup.c.name, "").label(
            "supplier"), func.coalesce(_sup.c.currency, "").label("currency"),
            _items.c.external_id.label("item_id"), _items.c.name, _lines.c.state, _lines.c.reason,
            func.coalesce(_links.c.supplier_item_code, "").label("supplier_item_code"),
            _lines.c.qty_needed, _lines.c.qty_rounded, _lines.c.order_qty, _lines.c.unit_cost,
            _lines.c.lead_time_days, _lines.c.edit_reason, editor.c.username.label("edited_by"), _lines.c.edited_at,
            approver.c.username.label("approved_by"), _lines.c.approved_at, _lines.c.due_date, _orders.c.created_at)
        .join(_orders, _orders.c.id == _lines.c.order_id)
        .join(_items, _items.c.id == _lines.c.item_id)
        .outerjoin(_sup, _sup.c.id == _orders.c.supplier_id)
        .outerjoin(_links, _links.c.item_id == _lines.c.item_id)
        .outerjoin(approver, approver.c.id == _lines.c.approved_by)
        .outerjoin(editor, editor.c.id == _lines.c.edited_by)
        .where(_orders.c.client_id == client_id, _items.c.client_id == client_id)
        .order_by(_orders.c.id, _lines.c.id)
    )
    if states is not None:
        query = query.where(_lines.c.state.in_(list(states)))
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in query.selected_columns])


def update_line(conn: Connection, client_id: int, line_id: int, **values: object) -> int:
    """Change a draft line of the client; the number of lines changed (0: none such)."""
    mine = select(_orders.c.id).where(_orders.c.client_id == client_id)
    return conn.execute(update(_lines).where(_lines.c.id == line_id, _lines.c.order_id.in_(mine),
                                             _lines.c.state == "draft").values(values)).rowcount


def approve_line(conn: Connection, line_id: int, user_id: int | None, at: datetime, due: date) -> None:
    """Mark a draft line approved: from now on it is an arrival of its item on ``due`` (see :func:`arrivals`)."""
    conn.execute(update(_lines).where(_lines.c.id == line_id, _lines.c.state == "draft").values(
        state="approved", approved_by=user_id, approved_at=at, due_date=due))


def arrivals(conn: Connection, client_id: int) -> pd.DataFrame:
    """Approved lines still to arrive: ``item_id, quantity, due_date`` (docs/inventory-policy.md).

    A line counts until its item gets an inventory snapshot dated after the day
    it was approved: that snapshot's on hand and on order are taken to hold it.
    """
    mine = select(_items.c.id).where(_items.c.client_id == client_id)
    latest = (select(_pos.c.item_id, func.max(_pos.c.as_of).label("as_of")).where(_pos.c.item_id.in_(mine))
              .group_by(_pos.c.item_id).subquery())
    query = (select(_items.c.external_id.label("item_id"), _lines.c.order_qty.label("quantity"), _lines.c.due_date,
                    _lines.c.approved_at, latest.c.as_of)
             .join(_orders, _orders.c.id == _lines.c.order_id)
             .join(_items, _items.c.id == _lines.c.item_id)
             .outerjoin(latest, latest.c.item_id == _lines.c.item_id)
             .where(_orders.c.client_id == client_id, _items.c.client_id == client_id, _lines.c.state == "approved")
             .order_by(_lines.c.due_date, _lines.c.id))
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["item_id", "quantity", "due_date", "approved_at", "as_of"])
    approved_on = pd.to_datetime(frame["approved_at"], utc=True).dt.tz_localize(None).dt.normalize()
    open_ = frame["as_of"].isna() | (approved_on >= pd.to_datetime(frame["as_of"]))
    return frame.loc[open_, ["item_id", "quantity", "due_date"]].astype({"quantity": float}).reset_index(drop=True)


def last_approved(conn: Connection, client_id: int) -> dict[str, date]:
    """Per supplier name, the day of its latest approved line (for review periods)."""
    query = (select(_sup.c.name, func.max(_lines.c.approved_at)).join(_orders, _orders.c.supplier_id == _sup.c.id)
             .join(_lines, _lines.c.order_id == _orders.c.id)
             .where(_orders.c.client_id == client_id, _lines.c.state == "approved").group_by(_sup.c.name))
    return {name: at.date() for name, at in conn.execute(query).all() if at is not None}
