"""Checking an inventory frame (DESIGN.md 1) before the policy runs on it.

The CSV reader already validates files row by row; this check guards every
other caller (the app, the API, tests) and names the offending items. Optional
columns that are absent take the DESIGN.md defaults.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from forecasting.core.errors import InvalidInputError

INVENTORY_REQUIRED = ("item_id", "on_hand", "on_order", "lead_time_days")
DEFAULT_REVIEW_PERIOD_DAYS = 7
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_MOQ = 0.0
DEFAULT_PACK_SIZE = 1.0
#: how many offending items an error message lists
LISTED_ITEMS = 10


@dataclass(frozen=True)
class Inventory:
    """A validated inventory as per-item arrays (all the same length, in input order)."""

    item_ids: np.ndarray
    name: np.ndarray
    category: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    lead_time_days: np.ndarray
    review_period_days: np.ndarray
    service_level: np.ndarray
    moq: np.ndarray
    pack_size: np.ndarray
    unit_cost: np.ndarray

    def take(self, order: np.ndarray) -> "Inventory":
        """The same items in another order."""
        return Inventory(**{f.name: getattr(self, f.name)[order] for f in fields(self)})


def validate_service_level(level: float) -> float:
    """A cycle service level strictly between 0 and 1 (an override given by the caller)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InvalidInputError(f"service level {level!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise InvalidInputError(f"service level must lie strictly between 0 and 1, got {level!r}")
    return value


def validate_inventory(inventory: pd.DataFrame, service_level: float | None = None) -> Inventory:
    """Per-item arrays of a checked inventory; ``service_level`` overrides the column.

    Raises InvalidInputError naming the column, the rule and the items that break it.
    """
    ids = item_ids(inventory)
    lead, review = lead_and_review(inventory, ids)
    if service_level is not None:
        level = np.full(len(ids), validate_service_level(service_level))
    else:
        level = _number(
            inventory, "service_level", ids, DEFAULT_SERVICE_LEVEL, lambda v: (v > 0) & (v < 1),
            "a number strictly between 0 and 1",
        )
    return Inventory(
        item_ids=ids,
        name=_text(inventory, "name"),
        category=_text(inventory, "category"),
        on_hand=_number(inventory, "on_hand", ids, None, np.isfinite, "a finite number"),
        on_order=_number(inventory, "on_order", ids, None, lambda v: v >= 0, "a number >= 0"),
        lead_time_days=lead,
        review_period_days=review,
        service_level=level,
        moq=_number(inventory, "moq", ids, DEFAULT_MOQ, lambda v: v >= 0, "a number >= 0"),
        pack_size=_number(inventory, "pack_size", ids, DEFAULT_PACK_SIZE, lambda v: v > 0, "a number > 0"),
        unit_cost=_unit_cost(inventory, ids),
    )


def item_ids(inventory: pd.DataFrame) -> np.ndarray:
    """The item ids as strings; missing required columns, no rows, empty or repeated ids are errors."""
    missing = [c for c in INVENTORY_REQUIRED if c not in inventory.columns]
    if missing:
        raise InvalidInputError(
            f"inventory is missing required column(s) {', '.join(missing)} (expected {','.join(INVENTORY_REQUIRED)})"
        )
    if inventory.empty:
        raise InvalidInputError("inventory has no rows")
    raw = inventory["item_id"]
    empty = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    if empty.any():
        rows = (np.flatnonzero(empty)[:LISTED_ITEMS] + 1).tolist()
        raise InvalidInputError(f"inventory has an empty item_id (inventory rows {rows})")
    ids = raw.astype(str).to_numpy(dtype=object)
    repeated = pd.Series(ids).duplicated().to_numpy()
    if repeated.any():
        raise InvalidInputError(f"inventory repeats item_id(s) {listed(pd.unique(ids[repeated]))}")
    return ids


def lead_and_review(inventory: pd.DataFrame, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """lead_time_days and review_period_days as int64 (whole numbers >= 0)."""
    ids = item_ids(inventory) if ids is None else ids
    out = []
    for column, default in (("lead_time_days", None), ("review_period_days", DEFAULT_REVIEW_PERIOD_DAYS)):
        days = _number(
            inventory, column, ids, default, lambda v: (v >= 0) & (v == np.round(v)), "a whole number of days >= 0"
        )
        out.append(days.astype(np.int64))
    return out[0], out[1]


def _number(
    inventory: pd.DataFrame,
    column: str,
    ids: np.ndarray,
    default: float | None,
    rule: Callable[[np.ndarray], np.ndarray],
    what: str,
) -> np.ndarray:
    """A numeric column (``default`` when the column is absent) whose every value passes ``rule``."""
    if column not in inventory.columns:
        return np.full(len(ids), default, dtype=np.float64)
    values = _numeric(inventory[column])
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(values) & rule(values))
    if bad.any():
        raise InvalidInputError(f"inventory {column} must be {what}; bad for item(s) {listed(ids[bad])}")
    return values


def _unit_cost(inventory: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """unit_cost: empty (NaN) means no cost known; a given value must be a finite number >= 0."""
    if "unit_cost" not in inventory.columns:
        return np.full(len(ids), np.nan)
    raw = inventory["unit_cost"]
    values = _numeric(raw)
    given = raw.notna().to_numpy() & ~(raw.astype(str).str.strip() == "").to_numpy()
    with np.errstate(invalid="ignore"):
        bad = given & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        raise InvalidInputError(
            f"inventory unit_cost must be empty or a number >= 0; bad for item(s) {listed(ids[bad])}"
        )
    return np.where(given, values, np.nan)


def _numeric(column: pd.Series) -> np.ndarray:
    if column.dtype == bool:
        return np.full(len(column), np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


def _text(inventory: pd.DataFrame, column: str) -> np.ndarray:
    if column not in inventory.columns:
        return np.full(len(inventory), "", dtype=object)
    return inventory[column].fillna("").astype(str).to_numpy(dtype=object)


def listed(ids: np.ndarray) -> str:
    """'A, B, C (and 4 more)' for error messages."""
    shown = ", ".join(map(str, ids[:LISTED_ITEMS]))
    more = len(ids) - LISTED_ITEMS
    return shown + (f" (and {more} more)" if more > 0 else "")
