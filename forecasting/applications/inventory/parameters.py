"""The rules of an item's stock position and replenishment parameters (docs/data-formats.md, inventory).

One rule per column, used by every entry point: the inventory CSV reader
(problems per row), :func:`~forecasting.applications.inventory.inventory_input.validate_inventory`
(problems per item, for frames), and the item edits of the Data page and the
API (problems per field). Each says what a valid value is in the same words
everywhere: ``<column> must be <what>``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from forecasting.core.cells import TEXT_LENGTH, too_large, too_large_problem
from forecasting.core.models.base import MAX_HORIZON

#: lead time + review period must fit in the longest forecast
MAX_CYCLE_DAYS = MAX_HORIZON
DEFAULT_REVIEW_PERIOD_DAYS = 7
DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_MOQ = 0.0
DEFAULT_PACK_SIZE = 1.0
REQUIRED = ("item_id", "on_hand", "on_order", "lead_time_days")
TEXT_COLUMNS = ("name", "category")
#: optional date the stock on order arrives (empty: after the lead time)
DUE_COLUMN = "on_order_due"
#: optional target type per item: cycle or fill (empty: the item's class decides, see targets.py)
SERVICE_TYPE_COLUMN = "service_type"
SERVICE_TYPE_VALUES = ("", "cycle", "fill")
SERVICE_TYPE_PROBLEM = "service_type must be empty, cycle or fill"
CYCLE_PROBLEM = (f"lead_time_days + 3 x lead_time_std_days (rounded up) + review_period_days must be at most "
                 f"{MAX_CYCLE_DAYS} days")


@dataclass(frozen=True)
class Rule:
    """What a column's values must be: ``valid(values)`` is a mask over finite numbers."""

    column: str
    what: str
    valid: Callable[[np.ndarray], np.ndarray]
    #: the value of an absent column or an empty cell; None: required (unit_cost: empty means unknown)
    default: float | None = None
    #: an empty cell means "not known" (NaN) rather than a problem or the default
    may_be_empty: bool = False

    def problem(self) -> str:
        return f"{self.column} must be {self.what}"

    def bad(self, values: np.ndarray) -> np.ndarray:
        """Mask of the values that break the rule (NaN counts as bad unless the column may be empty)."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & self.valid(values)
        if self.may_be_empty:
            ok |= np.isnan(values)
        return ~ok


def _whole_days(v: np.ndarray) -> np.ndarray:
    return (v >= 0) & (v == np.round(v))


RULES: dict[str, Rule] = {
    rule.column: rule
    for rule in (
        Rule("on_hand", "a number >= 0", lambda v: v >= 0),
        Rule("on_order", "a number >= 0", lambda v: v >= 0),
        Rule("lead_time_days", "a whole number of days >= 0", _whole_days),
        Rule("review_period_days", "a whole number of days >= 0", _whole_days, DEFAULT_REVIEW_PERIOD_DAYS),
        Rule("service_level", "a number strictly between 0 and 1", lambda v: (v > 0) & (v < 1), DEFAULT_SERVICE_LEVEL),
        Rule("moq", "a number >= 0", lambda v: v >= 0, DEFAULT_MOQ),
        Rule("pack_size", "a number > 0", lambda v: v > 0, DEFAULT_PACK_SIZE),
        Rule("unit_cost", "empty or a number >= 0", lambda v: v >= 0, np.nan, may_be_empty=True),
        Rule("lead_time_std_days", "a number of days >= 0", lambda v: v >= 0, 0.0),
        Rule("phase_out", "0 or 1", lambda v: (v == 0) | (v == 1), 0.0),
    )
}
#: parameters an edit may change (the position itself comes only from inventory imports)
EDITABLE = ("name", "category", "unit_cost", "lead_time_days", "review_period_days", "service_level", "moq",
            "pack_size", "service_type", "lead_time_std_days", "phase_out")
#: the policy columns among them, which planners edit too (admins edit all of EDITABLE)
POLICY_EDITABLE = ("service_level", "service_type", "lead_time_std_days", "phase_out")
#: columns whose empty value means "use the item's class" (stored NULL)
CLASS_DEFAULTED = ("service_level", "service_type")
#: columns stored as whole days
WHOLE_DAYS = ("lead_time_days", "review_period_days")


def cycle_too_long(
    lead_time_days: np.ndarray, review_period_days: np.ndarray, lead_time_std_days: np.ndarray | float = 0.0
) -> np.ndarray:
    """Mask of items whose longest lead time (L + ceil(3 x std)) + review period is longer than the longest forecast."""
    longest = np.asarray(lead_time_days) + np.ceil(3 * np.nan_to_num(np.asarray(lead_time_std_days, dtype=float)))
    return longest + np.asarray(review_period_days) > MAX_CYCLE_DAYS


def edit_values(params: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """Column values for one item's edit, and what is wrong with them (one entry per bad field).

    Text fields are stripped and at most TEXT_LENGTH characters; ``unit_cost``
    may be None (not known); ``service_level`` and ``service_type`` may be
    None or "" (use the item's class cell: stored NULL); ``service_type`` is
    cycle or fill; ``phase_out`` a bool (or 0 / 1); lead time and review
    period become ints.
    """
    unknown = sorted(set(params) - set(EDITABLE))
    if unknown:
        return {}, [f"unknown item parameter(s) {', '.join(unknown)}; allowed: {', '.join(EDITABLE)}"]
    if not params:
        return {}, [f"nothing to update; give one of {', '.join(EDITABLE)}"]
    out: dict[str, object] = {}
    problems: list[str] = []
    for key, value in params.items():
        if key in TEXT_COLUMNS:
            text = "" if value is None else str(value).strip()
            if len(text) > TEXT_LENGTH:
                problems.append(f"{key} is longer than {TEXT_LENGTH} characters")
            else:
                out[key] = text
            continue
        if key in CLASS_DEFAULTED and (value is None or (isinstance(value, str) and not value.strip())):
            out[key] = None
            continue
        if key == SERVICE_TYPE_COLUMN:
            text = str(value).strip().lower()
            if text in SERVICE_TYPE_VALUES:
                out[key] = text
            else:
                problems.append(f"{SERVICE_TYPE_PROBLEM}, got {value!r}")
            continue
        if key == "phase_out":
            if isinstance(value, (bool, np.bool_)) or value in (0, 1):
                out[key] = bool(value)
            else:
                problems.append(f"{RULES[key].problem()}, got {value!r}")
            continue
        rule = RULES[key]
        if value is None and rule.may_be_empty:
            out[key] = None
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or rule.bad(np.array([number]))[0] or math.isnan(number):
            problems.append(f"{rule.problem()}, got {value!r}")
            continue
        if too_large(np.array([number]))[0]:
            problems.append(f"{too_large_problem(key)}, got {value!r}")
            continue
        out[key] = int(number) if key in WHOLE_DAYS else number
    return out, problems
