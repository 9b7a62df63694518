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
    apply_terms(conn, client_id)


def apply_terms(conn: Connection, client_id: int) -> None:
    """Copy each linked item's supplier terms onto the item's parameters, which the reorder table reads.

    Lead time: the link's override, else the supplier's; its standard deviation
    likewise when either gives one (else the item keeps its own); pack size and
    MOQ: the link's; unit cost: the link's when given. So the reorder table, its
    proposals and their due dates all use the supplier's terms (an inventory
    import sets the item's own again until the next supplier import).
    """
    query = (select(_links.c.item_id, _links.c.pack_size, _links.c.moq, _links.c.unit_cost,
                    func.coalesce(_links.c.lead_time_days, _sup.c.lead_time_days).label("lead"),
                    func.coalesce(_links.c.lead_time_std_days, _sup.c.lead_time_std_days).label("lead_std"))
             .join(_sup, _sup.c.id == _links.c.supplier_id).where(_sup.c.client_id == client_id))
    for row in conn.execute(query).all():
        values = {"lead_time_days": row.lead, "pack_size": row.pack_size, "moq": row.moq}
        if row.unit_cost is not None:
            values["unit_cost"] = row.unit_cost
        if row.lead_std is not None:
            values["lead_time_std_days"] = row.lead_std
        conn.execute(update(_items).where(_items.c.id == row.item_id, _items.c.client_id == client_id)
                     .values(values))


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


def approve_line(conn: Connection, item_pk_of_line: int, line_id: int, user_id: int | None, at: datetime,
                 due: date, qty: float) -> None:
    """Mark a line approved and add it to its item's latest stock on order (arriving on ``due``)."""
    conn.execute(update(_lines).where(_lines.c.id == line_id).values(
        state="approved", approved_by=user_id, approved_at=at, due_date=due))
    latest = select(func.max(_pos.c.as_of)).where(_pos.c.item_id == item_pk_of_line).scalar_subquery()
    row = conn.execute(select(_pos.c.as_of, _pos.c.on_order, _pos.c.on_order_due).where(
        _pos.c.item_id == item_pk_of_line, _pos.c.as_of == latest)).first()
    if row is None:
        return
    # one due date per position: stock already on order keeps the later of the two (never arrives too early)
    new_due = due if not row.on_order or row.on_order_due is None else max(row.on_order_due, due)
    conn.execute(update(_pos).where(_pos.c.item_id == item_pk_of_line, _pos.c.as_of == row.as_of).values(
        on_order=float(row.on_order) + qty, on_order_due=new_due))


def line_item_pks(conn: Connection, client_id: int, line_ids: Sequence[int]) -> dict[int, int]:
    """Item primary key of each of the client's draft lines among ``line_ids``."""
    query = (select(_lines.c.id, _lines.c.item_id).join(_orders, _orders.c.id == _lines.c.order_id)
             .where(_orders.c.client_id == client_id, _lines.c.state == "draft", _lines.c.id.in_(list(line_ids))))
    return dict(conn.execute(query).all())


def last_approved(conn: Connection, client_id: int) -> dict[str, date]:
    """Per supplier name, the day of its latest approved line (for review periods)."""
    query = (select(_sup.c.name, func.max(_lines.c.approved_at)).join(_orders, _orders.c.supplier_id == _sup.c.id)
             .join(_lines, _lines.c.order_id == _orders.c.id)
             .where(_orders.c.client_id == client_id, _lines.c.state == "approved").group_by(_sup.c.name))
    return {name: at.date() for name, at in conn.execute(query).all() if at is not None}
