"""Purchasing: suppliers, today's order proposals, edits, approval and PO exports (issue 19).

The one entry point of the CLI, the API and the app for purchase orders. The
rules live in :mod:`forecasting.applications.purchasing.proposals`; this
service reads the reorder table and the supplier terms, stores draft orders,
and approves lines: an approved line is an arrival of its item on its due
date (today + its lead time), kept as a line of its own
(:meth:`DataAccess.arrivals`), never folded into the item's stock on order, so
the next reorder plan and the attention queue count each one on its day and
do not propose it again.
Nothing is sent anywhere: exports are files for the planner.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from forecasting.applications.purchasing.proposals import (
    NO_SUPPLIER,
    SupplierTerms,
    apply_budget,
    draft_orders,
    money,
    proposal_lines,
    pull_forward_candidates,
    review_due,
)
from forecasting.core.errors import InvalidInputError, NotFoundError
from forecasting.io.csv_export import to_csv_bytes
from forecasting.io.suppliers_csv import WEEKDAYS, check_link, check_supplier, read_suppliers_csv
from forecasting.io.xlsx_export import to_xlsx_bytes
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.storage import clients
from forecasting.storage import purchasing as store

#: columns of the order lines every caller shows and exports (the CLI's ``orders`` output)
LINE_COLUMNS = ["order", "supplier", "currency", "item_id", "name", "supplier_item_code", "state", "reason",
                "qty_needed", "qty_rounded", "order_qty", "unit_cost", "order_value", "lead_time_days", "due_date", "approved_by",
                "approved_at", "edit_reason", "edited_by", "line"]
#: what a supplier receives in a PO export (no internal ids beyond the order number)
EXPORT_COLUMNS = ["order", "supplier", "supplier_item_code", "item_id", "name", "order_qty", "unit_cost",
                  "order_value", "currency", "due_date"]


@dataclass(frozen=True)
class Proposal:
    """Today's draft orders: their lines (LINE_COLUMNS), the lines left out by the budget."""

    lines: pd.DataFrame
    over_budget: pd.DataFrame


def order_label(order_id: int) -> str:
    return f"PO-{order_id}"


class PurchasingService:
    """Suppliers and purchase orders of a client."""

    def __init__(self, data: DataAccess, forecasts: ForecastService):
        self.data = data
        self.forecasts = forecasts
        self.database = data.database

    # --- suppliers ---------------------------------------------------------------------------------------------

    def import_suppliers(self, client_id: int, source: str | Path | bytes) -> tuple[int, int]:
        """Import a supplier file (all problems at once, nothing imported on any): (suppliers, item links)."""
        known = set(self.data.list_items(client_id)["item_id"].astype(str))
        parsed = read_suppliers_csv(source, known)
        with self.database.write() as conn:
            clients.get(conn, client_id)
            store.write_suppliers(conn, client_id, parsed.suppliers, parsed.links)
            clients.bump_data_version(conn, client_id)
        return len(parsed.suppliers), len(parsed.links)

    def save_supplier(self, client_id: int, record: Mapping[str, object]) -> None:
        """Create or update (by name) one supplier, checked by the supplier file's rules (admins: the caller checks)."""
        row = check_supplier(record)
        with self.database.write() as conn:
            clients.get(conn, client_id)
            store.write_suppliers(conn, client_id, row, row.iloc[0:0])
            clients.bump_data_version(conn, client_id)

    def delete_supplier(self, client_id: int, name: str) -> None:
        """Delete a supplier with its item links and draft orders; refused while approved orders name it."""
        with self.database.write() as conn:
            clients.get(conn, client_id)
            if store.has_approved(conn, client_id, name):
                raise InvalidInputError(f"supplier {name!r} has approved orders in the order history: "
                                        "remove its item links instead")
            if not store.delete_supplier(conn, client_id, name):
                raise NotFoundError(f"no supplier {name!r} for this client")
            clients.bump_data_version(conn, client_id)

    def save_link(self, client_id: int, record: Mapping[str, object]) -> None:
        """Link an item to a supplier (replacing its link), checked by the supplier file's rules."""
        known = set(self.data.list_items(client_id)["item_id"].astype(str))
        row = check_link(record, set(self.suppliers(client_id)["name"]), known)
        with self.database.write() as conn:
            clients.get(conn, client_id)
            store.write_suppliers(conn, client_id, pd.DataFrame(columns=["supplier"]), row)
            clients.bump_data_version(conn, client_id)

    def delete_link(self, client_id: int, item_id: str) -> None:
        """Remove an item's supplier link: its own lead time, pack size, MOQ and cost apply again."""
        with self.database.write() as conn:
            clients.get(conn, client_id)
            if not store.delete_link(conn, client_id, str(item_id)):
                raise NotFoundError(f"item {item_id!r} has no supplier link for this client")
            clients.bump_data_version(conn, client_id)

    def suppliers(self, client_id: int) -> pd.DataFrame:
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return store.suppliers(conn, client_id).drop(columns="id")

    def links(self, client_id: int) -> pd.DataFrame:
        with self.database.read() as conn:
            clients.get(conn, client_id)
            return store.links(conn, client_id)

    # --- proposals ---------------------------------------------------------------------------------------------

    def propose(self, client_id: int, model: str = "ma7", user_id: int | None = None, today: date | None = None,
                budget: float | None = None) -> Proposal:
        """Replace the client's draft orders by today's proposal (docs/inventory-policy.md, purchase proposals).

        ``budget``: cap on the total value (None: no cap); the lines left out are returned, not stored.
        """
        if budget is not None and not (math.isfinite(budget) and budget >= 0):
            raise InvalidInputError(f"budget must be a number >= 0, got {budget!r}")
        today = today or self.order_date()
        table = self.forecasts.reorder(client_id, None, model, user_id=user_id)
        own = self.data.inventory(client_id, table["item_id"].tolist())[["item_id", "pack_size", "moq"]]
        table = table.merge(own, on="item_id", how="left")  # the items' own packs where no supplier is linked
        with self.database.read() as conn:
            sup = store.suppliers(conn, client_id)
            links = store.links(conn, client_id)
            last = store.last_approved(conn, client_id)
        terms = {r["name"]: _terms(r) for r in sup.to_dict("records")}
        due = {name: review_due(today, t.order_weekdays, t.review_period_days, last.get(name))
               for name, t in terms.items()}
        lines = proposal_lines(table, links, due)
        drafted, _ = draft_orders(lines, terms, pull_forward_candidates(table, links, lines))
        kept, dropped = apply_budget(drafted, budget, terms)
        ids = dict(zip(sup["name"], sup["id"]))
        with self.database.write() as conn:
            clients.get(conn, client_id)
            store.clear_drafts(conn, client_id)
            for (_, supplier), group in kept.groupby(["order", "supplier"], sort=True):
                order_id = store.add_order(conn, client_id, None if supplier == NO_SUPPLIER else ids[supplier],
                                           user_id)
                store.add_lines(conn, client_id, order_id, group)
        return Proposal(self.lines(client_id, ("draft",)), dropped)

    def lines(self, client_id: int, states: Sequence[str] | None = None) -> pd.DataFrame:
        """The client's order lines (LINE_COLUMNS): drafts, approved ones (the order history), removed ones."""
        with self.database.read() as conn:
            clients.get(conn, client_id)
            frame = store.order_lines(conn, client_id, states)
        frame["order"] = frame["order_id"].map(order_label)
        frame["order_value"] = money(frame["order_qty"].to_numpy(float) * frame["unit_cost"].to_numpy(float))
        return frame[LINE_COLUMNS].reset_index(drop=True)

    @staticmethod
    def orders(lines: pd.DataFrame) -> pd.DataFrame:
        """One row per order of ``lines``: supplier, lines, units and value (the sum of the lines' cents)."""
        live = lines[lines["state"] != "removed"]
        return (live.groupby(["order", "supplier", "currency"], sort=False)
                .agg(lines=("line", "size"), units=("order_qty", "sum"), value=("order_value", "sum"),
                     state=("state", lambda s: "approved" if (s == "approved").all() else "draft"))
                .reset_index())

    @staticmethod
    def order_date() -> date:
        """The day orders are placed on: today (UTC), the real date, not the data's as-of date.

        An approved line is due today + its lead time; the plan counts it
        arriving on that day (:meth:`DataAccess.arrivals`).
        """
        return datetime.now(UTC).date()

    # --- edits and approval ------------------------------------------------------------------------------------

    def edit_line(self, client_id: int, line_id: int, quantity: float, reason: str, user_id: int | None) -> None:
        """Change a draft line's quantity; the reason is required and kept."""
        if not (isinstance(quantity, (int, float)) and math.isfinite(quantity) and quantity > 0):
            raise InvalidInputError(f"quantity must be a number > 0, got {quantity!r}")
        self._change(client_id, line_id, reason, user_id, order_qty=float(quantity))

    def remove_line(self, client_id: int, line_id: int, reason: str, user_id: int | None) -> None:
        """Take a draft line off its order (kept in the history as removed, with the reason)."""
        self._change(client_id, line_id, reason, user_id, state="removed")

    def add_line(self, client_id: int, order: str, item_id: str, quantity: float, reason: str,
                 user_id: int | None) -> int:
        """Add an item of the order's supplier to a draft order of the client; the new line's id.

        The item must be linked to that supplier (an order without supplier
        takes items without a link) and not on the order yet; its cost and lead
        time are those the plan uses (:meth:`DataAccess.inventory`).
        """
        if not (isinstance(quantity, (int, float)) and math.isfinite(quantity) and quantity > 0):
            raise InvalidInputError(f"quantity must be a number > 0, got {quantity!r}")
        reason = _reason(reason)
        order_id = _order_id(order)
        with self.database.read() as conn:
            supplier = store.draft_order_supplier(conn, client_id, order_id)
        if supplier is None:
            raise NotFoundError(f"no draft order {order} for this client")
        drafts = self.lines(client_id, ("draft",))
        mine = drafts[drafts["order"] == order]
        if item_id not in set(self.addable(client_id, supplier)["item_id"]):
            raise InvalidInputError(f"item {item_id!r} is not an item of supplier {supplier or '(none)'!r} "
                                    "with a stock position: link it to the supplier first")
        if item_id in set(mine["item_id"]):
            raise InvalidInputError(f"item {item_id!r} is on order {order} already: edit its quantity")
        item = self.data.inventory(client_id, [item_id]).iloc[0]
        row = pd.DataFrame([{"item_id": item_id, "reason": "added", "qty_needed": 0.0, "qty_rounded": 0.0,
                             "order_qty": float(quantity), "unit_cost": item["unit_cost"],
                             "lead_time_days": int(item["lead_time_days"])}])
        with self.database.write() as conn:
            store.add_lines(conn, client_id, order_id, row)
            new = int(store.order_lines(conn, client_id, ("draft",))["line"].max())
            store.update_line(conn, client_id, new, edit_reason=reason, edited_by=user_id,
                              edited_at=datetime.now(UTC))
        return new

    def addable(self, client_id: int, supplier: str) -> pd.DataFrame:
        """Items a draft order of ``supplier`` may take (``item_id, name, supplier``): its linked items with a
        stock position ("" : the items without a supplier link)."""
        items = self.data.inventory(client_id)[["item_id", "name"]]
        linked = self.links(client_id).set_index("item_id")["supplier"]
        items = items.assign(supplier=items["item_id"].map(linked).fillna(NO_SUPPLIER))
        return items[items["supplier"] == supplier].reset_index(drop=True)

    def approve(self, client_id: int, user_id: int | None, orders: Sequence[str] | None = None,
                lines: Sequence[int] | None = None, today: date | None = None) -> int:
        """Approve draft lines: all (both None), whole orders (``PO-7``) or single lines; how many were approved.

        Each becomes an arrival of its item, due ``today`` (default :meth:`order_date`) + the line's lead time.
        """
        today = today or self.order_date()
        drafts = self.lines(client_id, ("draft",))
        if orders is not None:
            unknown = sorted(set(orders) - set(drafts["order"]))
            if unknown:
                raise NotFoundError(f"no draft order(s) {', '.join(unknown)} for this client")
            drafts = drafts[drafts["order"].isin(list(orders))]
        if lines is not None:
            unknown = sorted({int(x) for x in lines} - set(drafts["line"]))
            if unknown:
                raise NotFoundError(f"no draft line(s) {', '.join(map(str, unknown))} for this client")
            drafts = drafts[drafts["line"].isin([int(x) for x in lines])]
        now = datetime.now(UTC)
        with self.database.write() as conn:
            for row in drafts.itertuples():
                store.approve_line(conn, int(row.line), user_id, now, today + timedelta(days=int(row.lead_time_days)))
            if len(drafts):
                clients.bump_data_version(conn, client_id)
        return len(drafts)

    # --- exports -----------------------------------------------------------------------------------------------

    def export_frame(self, client_id: int, supplier: str | None = None, states: Sequence[str] = ("approved",)
                     ) -> pd.DataFrame:
        """The lines a supplier receives (EXPORT_COLUMNS), one supplier's or all."""
        frame = self.lines(client_id, states)
        if supplier is not None:
            frame = frame[frame["supplier"] == supplier]
        return frame[EXPORT_COLUMNS].reset_index(drop=True)

    def export_csv(self, client_id: int, supplier: str | None = None, states: Sequence[str] = ("approved",)) -> bytes:
        """A PO export as CSV: formula-safe, money in cents (its sums equal the totals on screen)."""
        return to_csv_bytes(self.export_frame(client_id, supplier, states), 2)

    def export_xlsx(self, client_id: int, supplier: str | None = None,
                    states: Sequence[str] = ("approved",)) -> bytes:
        """The same export as an Excel workbook."""
        frame = self.export_frame(client_id, supplier, states)
        return to_xlsx_bytes(frame, {"What": "purchase orders", "Supplier": supplier or "all"}, 2)

    def _change(self, client_id: int, line_id: int, reason: str, user_id: int | None, **values: object) -> None:
        reason = _reason(reason)
        with self.database.write() as conn:
            changed = store.update_line(conn, client_id, int(line_id), edit_reason=reason, edited_by=user_id,
                                        edited_at=datetime.now(UTC), **values)
        if not changed:
            raise NotFoundError(f"no draft line {line_id} for this client")


def _terms(row: dict) -> SupplierTerms:
    days = tuple(WEEKDAYS.index(d) for d in str(row["order_days"] or "").split(",") if d)
    review = row["review_period_days"]
    capacity = row["capacity_units"]
    return SupplierTerms(
        name=row["name"], lead_time_days=int(row["lead_time_days"]), currency=row["currency"] or "",
        min_order_value=float(row["min_order_value"] or 0.0), min_order_qty=float(row["min_order_qty"] or 0.0),
        capacity_units=None if capacity is None or pd.isna(capacity) else float(capacity),
        order_weekdays=days, review_period_days=None if review is None or pd.isna(review) else int(review),
    )


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInputError("give a reason for the change")
    return text[:500]


def _order_id(order: str) -> int:
    try:
        return int(str(order).removeprefix("PO-"))
    except ValueError:
        raise NotFoundError(f"no draft order {order} for this client") from None
