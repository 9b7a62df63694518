"""Checking an inventory frame (docs/data-formats.md) before the policy runs on it.

The CSV reader validates files row by row; this check guards every other
caller (the app, the API, tests) and names the offending items. Both apply the
same rules (:mod:`forecasting.applications.inventory.parameters`); optional
columns that are absent take their defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from forecasting.applications.inventory.parameters import (
    CYCLE_PROBLEM,
    DUE_COLUMN,
    REQUIRED,
    RULES,
    SERVICE_TYPE_COLUMN,
    SERVICE_TYPE_PROBLEM,
    SERVICE_TYPE_VALUES,
    cycle_too_long,
)
from forecasting.core.cells import (
    CONTROL_CHARACTERS,
    CONTROL_IN_ID,
    open_unit_interval,
    parse_dates,
    too_large,
    too_large_problem,
)
from forecasting.core.errors import InvalidInputError, listed, quoted


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
    #: when the stock on order arrives (datetime64[ns]; NaT: after the lead time)
    on_order_due: np.ndarray
    #: standard deviation of the lead time in days (0: fixed lead time)
    lead_time_std_days: np.ndarray
    #: the planner's phase-out flag (bool): the item is dead for the policy
    phase_out: np.ndarray
    #: "cycle", "fill" or "" (the item's class decides)
    service_type: np.ndarray

    def take(self, order: np.ndarray) -> "Inventory":
        """The same items in another order."""
        return Inventory(**{f.name: getattr(self, f.name)[order] for f in fields(self)})


def validate_service_level(level: float) -> float:
    """A cycle service level strictly between 0 and 1 (an override given by the caller)."""
    return open_unit_interval(level, "service level")


def validate_inventory(
    inventory: pd.DataFrame, service_level: float | None = None, levels_from_class: bool = False
) -> Inventory:
    """Per-item arrays of a checked inventory; ``service_level`` overrides the column.

    ``levels_from_class``: an absent ``service_level`` column or an empty cell
    is NaN (the item's class decides, see targets.py) instead of the default.
    Raises InvalidInputError naming, for every rule broken (all at once), the
    column, the rule and the items that break it.
    """
    ids = item_ids(inventory)
    problems: list[str] = []
    if service_level is not None:
        level = np.full(len(ids), validate_service_level(service_level))
    else:
        level = _checked(inventory, "service_level", ids, problems, empty_ok=levels_from_class)
    numbers = {c: _checked(inventory, c, ids, problems) for c in ("on_hand", "on_order", "moq", "pack_size",
                                                                  "unit_cost", "lead_time_days", "review_period_days",
                                                                  "lead_time_std_days", "phase_out")}
    lead, review = _lead_and_review(numbers, ids, problems)
    due = _due_dates(inventory, ids, problems)
    kind = _service_types(inventory, ids, problems)
    if problems:
        raise InvalidInputError("inventory " + ". ".join(problems)
                                + (f" ({len(problems)} problems)" if len(problems) > 1 else ""))
    return Inventory(
        item_ids=ids,
        name=_text(inventory, "name"),
        category=_text(inventory, "category"),
        on_hand=numbers["on_hand"],
        on_order=numbers["on_order"],
        lead_time_days=lead,
        review_period_days=review,
        service_level=level,
        moq=numbers["moq"],
        pack_size=numbers["pack_size"],
        unit_cost=numbers["unit_cost"],
        on_order_due=due,
        lead_time_std_days=numbers["lead_time_std_days"],
        phase_out=numbers["phase_out"] == 1,
        service_type=kind,
    )


def item_ids(inventory: pd.DataFrame) -> np.ndarray:
    """The item ids as strings; missing columns, no rows, empty, repeated or control-character ids are errors."""
    missing = [c for c in REQUIRED if c not in inventory.columns]
    if missing:
        raise InvalidInputError(
            f"inventory is missing required column(s) {', '.join(missing)} (expected {','.join(REQUIRED)})"
        )
    if inventory.empty:
        raise InvalidInputError("inventory has no rows")
    raw = inventory["item_id"]
    empty = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    if empty.any():
        rows = (np.flatnonzero(empty)[:10] + 1).tolist()
        raise InvalidInputError(f"inventory has an empty item_id (inventory rows {rows})")
    ids = raw.astype(str).to_numpy(dtype=object)
    control = pd.Series(ids).str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(dtype=bool)
    if control.any():
        raise InvalidInputError(f"inventory {CONTROL_IN_ID}: {listed(quoted(i) for i in ids[control])}")
    repeated = pd.Series(ids).duplicated().to_numpy()
    if repeated.any():
        raise InvalidInputError(f"inventory repeats item_id(s) {listed(pd.unique(ids[repeated]))}")
    return ids


def lead_and_review(inventory: pd.DataFrame, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """lead_time_days and review_period_days as int64, whole days that fit in the longest forecast together."""
    ids = item_ids(inventory) if ids is None else ids
    problems: list[str] = []
    numbers = {c: _checked(inventory, c, ids, problems)
               for c in ("lead_time_days", "review_period_days", "lead_time_std_days")}
    lead, review = _lead_and_review(numbers, ids, problems)
    if problems:
        raise InvalidInputError("inventory " + ". ".join(problems))
    return lead, review


def _lead_and_review(
    numbers: dict[str, np.ndarray], ids: np.ndarray, problems: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    lead, review = numbers["lead_time_days"], numbers["review_period_days"]
    with np.errstate(invalid="ignore"):
        too_long = cycle_too_long(lead, review, numbers["lead_time_std_days"])
    if too_long.any():
        problems.append(f"{CYCLE_PROBLEM}; bad for item(s) {listed(ids[too_long])}")
    return np.nan_to_num(lead).astype(np.int64), np.nan_to_num(review).astype(np.int64)


def _checked(
    inventory: pd.DataFrame, column: str, ids: np.ndarray, problems: list[str], empty_ok: bool = False
) -> np.ndarray:
    """A column's numbers (its rule's default when the column is absent); what breaks its rule goes to ``problems``.

    ``empty_ok``: an absent column or an empty cell is NaN instead.
    """
    rule = RULES[column]
    if column not in inventory.columns:
        return np.full(len(ids), np.nan if empty_ok else rule.default, dtype=np.float64)
    raw = inventory[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64) if raw.dtype != bool \
        else np.full(len(raw), np.nan)
    given = raw.notna().to_numpy() & ~(raw.astype(str).str.strip() == "").to_numpy()
    bad = rule.bad(values) | (given & np.isnan(values))  # text that is no number is bad even where empty is fine
    if empty_ok:
        bad &= given
    if bad.any():
        problems.append(f"{rule.problem()}; bad for item(s) {listed(ids[bad])}")
    large = too_large(values)
    if large.any():
        problems.append(f"{too_large_problem(column)}; bad for item(s) {listed(ids[large])}")
    return values


def _due_dates(inventory: pd.DataFrame, ids: np.ndarray, problems: list[str]) -> np.ndarray:
    """``on_order_due`` as datetime64[ns]: empty (NaT) means "after the lead time"."""
    if DUE_COLUMN not in inventory.columns:
        return np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    raw = inventory[DUE_COLUMN]
    found: list = []
    given = raw.notna().to_numpy() & ~(raw.astype(str).str.strip().isin(["", "NaT", "nan", "None"])).to_numpy()
    dates = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    if given.any():
        dates[given] = parse_dates(raw[given].reset_index(drop=True), np.arange(int(given.sum())), found)
    if found:
        bad = ids[given][[p.row for p in found]]
        problems.append(f"{DUE_COLUMN} must be empty or a date YYYY-MM-DD; bad for item(s) {listed(bad)}")
    return dates


def _service_types(inventory: pd.DataFrame, ids: np.ndarray, problems: list[str]) -> np.ndarray:
    """``service_type`` as "cycle", "fill" or "" (not set)."""
    if SERVICE_TYPE_COLUMN not in inventory.columns:
        return np.full(len(ids), "", dtype=object)
    kind = inventory[SERVICE_TYPE_COLUMN].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    bad = ~np.isin(kind, SERVICE_TYPE_VALUES)
    if bad.any():
        problems.append(f"{SERVICE_TYPE_PROBLEM}; bad for item(s) {listed(ids[bad])}")
    return kind


def _text(inventory: pd.DataFrame, column: str) -> np.ndarray:
    if column not in inventory.columns:
        return np.full(len(inventory), "", dtype=object)
    return inventory[column].fillna("").astype(str).to_numpy(dtype=object)
