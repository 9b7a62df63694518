"""Purchase proposals: which items get an order line today, and how lines become draft purchase orders.

The rules of docs/inventory-policy.md ("Purchase proposals"), on plain frames
so the service, the CLI, the API and the app share them:

- :func:`proposed_today`: the one rule for what is proposed today (also what
  gives a reorder-table line its ``order_qty``);
- :func:`proposal_lines`: quantities before and after rounding to packs and MOQ;
- :func:`draft_orders`: lines grouped per supplier, a draft below the supplier's
  minimum filled by pulling items forward, a draft over capacity split;
- :func:`apply_budget`: an optional cap on the total, keeping the largest value at risk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from forecasting.applications.inventory.policy import order_quantity

#: a supplier name for items without a supplier link (their own lead time and pack size apply)
NO_SUPPLIER = ""
#: money is kept in cents per line, so that every total (screen, CSV, Excel, API) is the sum of the same numbers
MONEY_DECIMALS = 2

LINE_COLUMNS = [
    "order", "supplier", "item_id", "name", "supplier_item_code", "reason", "inventory_position", "reorder_point",
    "order_up_to", "days_of_cover", "qty_needed", "qty_rounded", "order_qty", "pack_size", "moq", "unit_cost",
    "order_value", "value_at_risk", "lead_time_days",
]
ORDER_COLUMNS = ["order", "supplier", "currency", "lines", "units", "value", "min_order_value", "min_order_qty",
                 "minimum_fill", "capacity_units", "capacity_fill"]


def money(values: np.ndarray | pd.Series | float) -> np.ndarray:
    """Money rounded to cents (NaN stays NaN): the one rounding of every order value."""
    return np.round(np.asarray(values, dtype=np.float64), MONEY_DECIMALS)


def proposed_today(
    order_now: np.ndarray, position: np.ndarray, order_up_to: np.ndarray, review_period_days: np.ndarray,
    review_due: np.ndarray | bool = False,
) -> np.ndarray:
    """The one rule for which items get an order line today.

    An item is proposed when the "order now" rule holds (position at or below
    the reorder point, or short before an order placed today arrives: this is
    all a continuous-review item, review period 0, ever needs), or when it is
    a periodic-review item whose review is due today and whose position is
    below the order-up-to level. ``review_due`` False (the reorder table, which
    knows no review calendar) leaves exactly the "order now" items.
    """
    periodic = np.asarray(review_period_days) > 0
    due = np.broadcast_to(np.asarray(review_due, dtype=bool), periodic.shape)
    return np.asarray(order_now, dtype=bool) | (periodic & due & (np.asarray(position) < np.asarray(order_up_to)))


def review_due(today: date, order_weekdays: tuple[int, ...], review_period_days: int | None,
               last_order: date | None) -> bool:
    """Whether a supplier's review is due today.

    Order days (0 = Monday) win: due on those weekdays. Else a review period:
    due when no order was approved for the supplier within that many days.
    No schedule at all (or a period of 0): continuous review, always due.
    """
    if order_weekdays:
        return today.weekday() in order_weekdays
    if not review_period_days:
        return True
    return last_order is None or (today - last_order).days >= review_period_days


@dataclass(frozen=True)
class SupplierTerms:
    """What a supplier requires of an order (docs/data-formats.md, supplier file)."""

    name: str
    lead_time_days: int = 0
    currency: str = ""
    min_order_value: float = 0.0
    min_order_qty: float = 0.0
    #: units one order may hold (a container); None: no limit
    capacity_units: float | None = None
    order_weekdays: tuple[int, ...] = field(default=())
    review_period_days: int | None = None


def proposal_lines(table: pd.DataFrame, links: pd.DataFrame, due: dict[str, bool]) -> pd.DataFrame:
    """Today's order lines (LINE_COLUMNS) from a reorder table and the item-supplier links.

    ``links``: ``item_id, supplier, pack_size, moq, unit_cost, lead_time_days,
    supplier_item_code`` (an item's link replaces its own pack size, MOQ and
    unit cost; items without a link keep the table's and have supplier "").
    ``due``: supplier -> review due today (missing: not due). Quantities:
    ``qty_needed`` = order-up-to - position; ``qty_rounded`` = that rounded up
    to whole packs and at least the MOQ; ``order_qty`` starts equal to it.
    An item with nothing to order (``qty_rounded`` 0) gets no line.
    """
    frame = _with_terms(table, links)
    due_mask = frame["supplier"].map(lambda s: bool(due.get(s, False))).to_numpy(dtype=bool)
    chosen = proposed_today(frame["action"].eq("reorder").to_numpy(), frame["inventory_position"].to_numpy(),
                            frame["order_up_to"].to_numpy(), frame["review_period_days"].to_numpy(), due_mask)
    lines = frame[chosen].copy()
    lines["reason"] = np.where(lines["action"].eq("reorder"), "order now", "review due")
    lines = _quantities(lines)
    # nothing to order (the position, approved orders included, already reaches the order-up-to level; a
    # shortage before they arrive is one to expedite): no line, so approved orders are never proposed again
    return lines[lines["qty_rounded"] > 0].reset_index(drop=True)


def pull_forward_candidates(table: pd.DataFrame, links: pd.DataFrame, proposed: pd.DataFrame) -> pd.DataFrame:
    """Linked items not proposed today, as lines ordering up to the order-up-to level (at least one pack)."""
    frame = _with_terms(table, links)
    rest = frame[(frame["supplier"] != NO_SUPPLIER) & ~frame["item_id"].isin(proposed["item_id"])].copy()
    rest["reason"] = "minimum"
    return _quantities(rest, at_least_one_pack=True)


def _with_terms(table: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    frame = table.drop(columns=["order_qty", "order_value"], errors="ignore").copy()
    frame["supplier"] = NO_SUPPLIER
    frame["supplier_item_code"] = ""
    for column in ("pack_size", "moq"):
        if column not in frame:
            frame[column] = 1.0 if column == "pack_size" else 0.0
    if len(links):
        link = links.drop_duplicates("item_id").set_index("item_id")
        hit = frame["item_id"].isin(link.index)
        ids = frame.loc[hit, "item_id"]
        frame.loc[hit, "supplier"] = ids.map(link["supplier"]).to_numpy()
        frame.loc[hit, "supplier_item_code"] = ids.map(link["supplier_item_code"]).fillna("").to_numpy()
        for column in ("pack_size", "moq", "unit_cost"):
            given = ids.map(link[column])
            frame.loc[hit, column] = given.where(given.notna(), frame.loc[hit, column]).to_numpy(dtype=float)
    return frame


def _quantities(lines: pd.DataFrame, at_least_one_pack: bool = False) -> pd.DataFrame:
    need = np.maximum(lines["order_up_to"].to_numpy(float) - lines["inventory_position"].to_numpy(float), 0.0)
    pack, moq = lines["pack_size"].to_numpy(float), lines["moq"].to_numpy(float)
    rounded = order_quantity(np.maximum(need, 1e-9) if at_least_one_pack else need, pack, moq)
    lines = lines.assign(qty_needed=need, qty_rounded=rounded, order_qty=rounded, order="")
    return _valued(lines)[LINE_COLUMNS].reset_index(drop=True)


def _valued(lines: pd.DataFrame) -> pd.DataFrame:
    """``order_value`` (cents) and ``value_at_risk``: units below the reorder point x unit cost."""
    cost = lines["unit_cost"].to_numpy(float)
    short = np.maximum(lines["reorder_point"].to_numpy(float) - lines["inventory_position"].to_numpy(float), 0.0)
    return lines.assign(order_value=money(lines["order_qty"].to_numpy(float) * cost),
                        value_at_risk=money(short * cost))


def draft_orders(
    lines: pd.DataFrame, terms: dict[str, SupplierTerms], candidates: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines grouped into draft purchase orders: (lines with their ``order``, orders with ORDER_COLUMNS).

    Per supplier: when the lines' value or units are below the supplier's
    minimum, its ``candidates`` (see :func:`pull_forward_candidates`) are
    added, fewest days of cover first (no stock-out in sight last), until the
    minimum is met; then the lines are split into orders of at most the
    capacity, in whole packs. Items without a supplier form the order "-".
    """
    out: list[pd.DataFrame] = []
    for supplier, group in lines.groupby("supplier", sort=True):
        term = terms.get(supplier, SupplierTerms(supplier))
        group = _fill_minimum(group, term, candidates)
        out.extend(_split(group, term))
    if not out:
        return pd.DataFrame(columns=LINE_COLUMNS), pd.DataFrame(columns=ORDER_COLUMNS)
    done = pd.concat(out, ignore_index=True)
    return done, order_summary(done, terms)


def order_summary(lines: pd.DataFrame, terms: dict[str, SupplierTerms]) -> pd.DataFrame:
    """One row per order: lines, units, value (sum of the lines' cents) and fill against minimum and capacity."""
    rows = []
    for (order, supplier), group in lines.groupby(["order", "supplier"], sort=False):
        term = terms.get(supplier, SupplierTerms(supplier))
        units, value = float(group["order_qty"].sum()), float(money(group["order_value"].sum(skipna=True)))
        fills = [value / term.min_order_value if term.min_order_value else np.nan,
                 units / term.min_order_qty if term.min_order_qty else np.nan]
        rows.append({
            "order": order, "supplier": supplier, "currency": term.currency, "lines": len(group), "units": units,
            "value": value, "min_order_value": term.min_order_value, "min_order_qty": term.min_order_qty,
            "minimum_fill": np.nanmin(fills) if not np.isnan(fills).all() else np.nan,
            "capacity_units": term.capacity_units,
            "capacity_fill": units / term.capacity_units if term.capacity_units else np.nan,
        })
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def _below_minimum(group: pd.DataFrame, term: SupplierTerms) -> bool:
    return (float(group["order_value"].sum(skipna=True)) < term.min_order_value
            or float(group["order_qty"].sum()) < term.min_order_qty)


def _fill_minimum(group: pd.DataFrame, term: SupplierTerms, candidates: pd.DataFrame | None) -> pd.DataFrame:
    if candidates is None or not _below_minimum(group, term):
        return group
    mine = candidates[(candidates["supplier"] == term.name) & ~candidates["item_id"].isin(group["item_id"])]
    mine = mine.sort_values(["days_of_cover", "item_id"], na_position="last", kind="stable")
    for _, row in mine.iterrows():
        if not _below_minimum(group, term):
            break
        group = pd.concat([group, row.to_frame().T.astype(group.dtypes.to_dict())], ignore_index=True)
    return group


def _split(group: pd.DataFrame, term: SupplierTerms) -> list[pd.DataFrame]:
    """Orders of at most ``capacity_units`` units each; a line larger than the room left is cut in whole packs."""
    label = term.name or "-"
    capacity = term.capacity_units
    if not capacity or float(group["order_qty"].sum()) <= capacity:
        return [group.assign(order=f"{label}/1")]
    orders: list[list[dict]] = [[]]
    room = capacity
    for row in group.to_dict("records"):
        qty, pack = float(row["order_qty"]), float(row["pack_size"])
        while qty > 0:
            fits = np.floor(np.round(room / pack, 9)) * pack
            if fits <= 0:
                orders.append([])
                room = capacity
                fits = np.floor(np.round(room / pack, 9)) * pack
                if fits <= 0:  # a single pack exceeds the capacity: it goes alone
                    fits = pack
            take = min(qty, fits)
            orders[-1].append({**row, "order_qty": take})
            qty -= take
            room -= take
    frames = [pd.DataFrame(rows, columns=group.columns).assign(order=f"{label}/{n}")
              for n, rows in enumerate(orders, start=1) if rows]
    return [_valued(f) for f in frames]


def apply_budget(lines: pd.DataFrame, budget: float | None, terms: dict[str, SupplierTerms] | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, dropped) lines: the largest value at risk first while the total value stays within ``budget``.

    Ties go to fewer days of cover. Lines without a unit cost cost nothing
    against the budget. The cap never leaves an order below its supplier's
    minimum (``terms``): an order the cap cut below its minimum is dropped
    whole, and its money goes to the next lines, until no order is cut below
    its minimum. An order whole within the budget stays as drafted. ``budget``
    None keeps every line.
    """
    if budget is None:
        return lines, lines.iloc[0:0]
    terms = terms or {}
    ranked = lines.sort_values(["value_at_risk", "days_of_cover", "item_id"], ascending=[False, True, True],
                               na_position="last", kind="stable")
    whole = ranked.groupby("order")["order"].transform("size")
    ranked = ranked.assign(_whole=whole.to_numpy())
    dropped_orders: set[str] = set()
    while True:
        spent, keep = 0.0, []
        for index, order, value in zip(ranked.index, ranked["order"], ranked["order_value"].fillna(0.0)):
            if order not in dropped_orders and spent + value <= budget + 1e-9:
                spent += value
                keep.append(index)
        kept = ranked.loc[keep]
        cut = kept.groupby(["order", "supplier"], sort=False).filter(
            lambda g: len(g) < g["_whole"].iloc[0]
            and _below_minimum(g, terms.get(g["supplier"].iloc[0], SupplierTerms(g["supplier"].iloc[0]))))
        if cut.empty:
            break
        dropped_orders |= set(cut["order"])
    chosen = lines.index.isin(keep)
    return lines.loc[chosen], lines.loc[~chosen]
