"""Service targets of the policy (docs/inventory-policy.md): the class matrix, cycle and fill-rate levels.

A target is a level and a type. ``cycle``: the order-up-to level is the
level-quantile of demand over L + R days (the probability of no stock-out in a
cycle). ``fill``: the items sharing a fill target (one reorder run) meet it
together at the least stock: their summed expected units short per review
cycle, over the sample paths with lost sales from today's inventory position,
is (1 - level) x their summed expected demand per cycle, with one common
stock-out probability (see :func:`expected_shortage`, :func:`fill_rate_level`).

Where an item's target comes from, first that applies: the caller's override
(one level for all items), the item's own ``service_level`` / ``service_type``,
the client's matrix cell of its ABC x XYZ class, :data:`DEFAULT_SERVICE_LEVEL`
(``cycle``). A new item's class level is at least :data:`NEW_ITEM_FLOOR`; dead items get no
stock at all (handled by the calculator).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from forecasting.applications.classification.item_classes import ABC_THRESHOLDS
from forecasting.applications.inventory.parameters import DEFAULT_SERVICE_LEVEL
from forecasting.applications.inventory.policy import path_mean
from forecasting.core.errors import InvalidInputError

SERVICE_TYPES = ("cycle", "fill")
DEFAULT_SERVICE_TYPE = "cycle"
CELLS = tuple(a + x for a in "ABC" for x in "XYZ")
#: default cycle service levels per ABC x XYZ cell: A items protected most; within a value class a
#: Z item (erratic weekly demand) gets a little less, because each extra point costs far more stock there
DEFAULT_MATRIX: Mapping[str, float] = {
    "AX": 0.98, "AY": 0.98, "AZ": 0.97,
    "BX": 0.95, "BY": 0.95, "BZ": 0.93,
    "CX": 0.90, "CY": 0.90, "CZ": 0.85,
}
#: a new item (under 8 weeks of sales) gets at least this level: its class rests on a few weeks only
NEW_ITEM_FLOOR = 0.95
#: bisection steps of :func:`fill_rate_level` (the common stock-out probability is found to 2^-59)
FILL_STEPS = 60


@dataclass(frozen=True)
class ClassPolicy:
    """A client's policy by class: a level per ABC x XYZ cell, a service type per cell, the ABC thresholds."""

    levels: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MATRIX))
    types: Mapping[str, str] = field(default_factory=lambda: {cell: DEFAULT_SERVICE_TYPE for cell in CELLS})
    abc_thresholds: tuple[float, float] = ABC_THRESHOLDS

    def __post_init__(self) -> None:
        problems = [f"{cell}: service level must be strictly between 0 and 1"
                    for cell in CELLS if not 0 < float(self.levels.get(cell, np.nan)) < 1]
        problems += [f"{cell}: service type must be one of {', '.join(SERVICE_TYPES)}"
                     for cell in CELLS if self.types.get(cell) not in SERVICE_TYPES]
        a, b = self.abc_thresholds
        if not 0 < a < b < 1:
            problems.append("ABC thresholds must be 0 < A < B < 1 (cumulative value shares)")
        if problems:
            raise InvalidInputError("invalid policy: " + "; ".join(problems))

    def cell_targets(self, abc: np.ndarray, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(level, type) of each item's cell; items without a class get the default cycle level."""
        cells = np.char.add(np.asarray(abc, dtype=str), np.asarray(xyz, dtype=str))
        level = np.array([self.levels.get(c, DEFAULT_SERVICE_LEVEL) for c in cells], dtype=np.float64)
        kind = np.array([self.types.get(c, DEFAULT_SERVICE_TYPE) for c in cells], dtype=object)
        return level, kind


def resolve_targets(
    own_level: np.ndarray,
    own_type: np.ndarray,
    abc: np.ndarray,
    xyz: np.ndarray,
    lifecycle: np.ndarray,
    policy: ClassPolicy | None,
    override: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's (level, type): override, else its own (NaN / '' = not set), else its class cell, else 0.95 cycle."""
    if policy is None:
        policy = ClassPolicy()
    cell_level, cell_type = policy.cell_targets(abc, xyz)
    own_level = np.asarray(own_level, dtype=np.float64)
    cell_level = np.where(np.asarray(lifecycle) == "new", np.maximum(cell_level, NEW_ITEM_FLOOR), cell_level)
    level = np.where(np.isnan(own_level), cell_level, own_level)
    if override is not None:
        level = np.full(len(level), float(override))
    own_type = np.asarray(own_type, dtype=object)
    kind = np.where((own_type == "cycle") | (own_type == "fill"), own_type, cell_type).astype(object)
    return level, kind


def expected_shortage(
    lead_totals: np.ndarray, cycle_totals: np.ndarray, level: np.ndarray, position: np.ndarray | None = None
) -> np.ndarray:
    """Expected units short per review cycle at order-up-to ``level`` [items], sales that cannot wait being lost.

    Mean over paths of (D_R + min(D_L, X) - S)^+ with D_R = D_{L+R} - D_L and
    X = min(IP, S): the stock that serves the lead time is X, so
    (X - D_L)^+ of it is left when the order of S - X arrives, and the cycle
    is short of D_R minus what it has. With IP >= S (``position`` None) this
    is the textbook backorder shortage (D_{L+R} - S)^+ - (D_L - S)^+, path by
    path; below S the lead time's lost sales need no replenishing. NaN paths
    left out.
    """
    s = np.asarray(level, dtype=np.float64)[:, None]
    held = s if position is None else np.minimum(np.asarray(position, dtype=np.float64)[:, None], s)
    return path_mean(np.maximum(cycle_totals - lead_totals + np.minimum(lead_totals, held) - s, 0.0))


def fill_rate_level(
    lead_totals: np.ndarray, cycle_totals: np.ndarray, target: np.ndarray, position: np.ndarray | None = None
) -> np.ndarray:
    """Order-up-to S per item: the least total stock with which the items sharing a target meet it together.

    Items with the same ``target`` value form a group (one reorder run, one
    simulated review); each group's S_i minimise sum S_i subject to
    sum expected_shortage_i(S_i, IP_i) <= (1 - target) x sum E[D_{L+R} - D_L]
    (the group's fill rate). The optimum gives every item the same marginal
    shortage -d short_i / dS_i = P(T_i > S_i) = p, with the path-wise
    threshold T = D_R + min(D_L, IP) (0 on a path without demand after the lead
    time): S_i is the (1 - p)-quantile of item i's T, and one p per group is
    found by bisection (:func:`_pooled`). Why: a per-item fill target gives a
    slow item the stock-out risk of a fast one at a far higher cost in units;
    pooled, the group's fill is the target and the stock is the least. A group
    of one is the per-item rule (the smallest S meeting its own allowance).
    """
    lead_totals = np.asarray(lead_totals, dtype=np.float64)
    held = np.inf if position is None else np.asarray(position, dtype=np.float64)[:, None]
    review_totals = cycle_totals - lead_totals
    threshold = np.where(review_totals > 0, review_totals + np.minimum(lead_totals, held), 0.0)
    threshold = np.where(np.isnan(review_totals), np.nan, threshold)
    return _pooled(lambda s: expected_shortage(lead_totals, cycle_totals, s, position), threshold,
                   _allowance(lead_totals, cycle_totals, target), target)


def fill_rate_reorder_point(lead_totals: np.ndarray, cycle_totals: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Reorder point of fill-rate items, pooled like :func:`fill_rate_level`: per group of equal ``target`` the
    least sum s_i with sum E[(D_L - s_i)^+] <= (1 - target) x sum E[D_{L+R} - D_L] (the units short before
    an order placed now arrives stay within one cycle's allowance); each s_i the same quantile of its D_L."""
    lead_totals = np.asarray(lead_totals, dtype=np.float64)
    return _pooled(lambda s: path_mean(np.maximum(lead_totals - s[:, None], 0.0)), lead_totals,
                   _allowance(lead_totals, cycle_totals, target), target)


def _allowance(lead_totals: np.ndarray, cycle_totals: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(1 - target) x expected demand per review cycle (the R days after the lead time), per item."""
    return (1.0 - np.asarray(target, dtype=np.float64)) * path_mean(cycle_totals - lead_totals)


def _pooled(
    shortage: Callable[[np.ndarray], np.ndarray], threshold: np.ndarray, allowed: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Per item the level of its group (equal ``target``) at the group's largest common stock-out probability p
    whose summed ``shortage`` is within the summed allowance.

    An item's level at p in [0, 1] is the (1 - p)-quantile of its path
    ``threshold`` (the level below which a path is short); for p in (1, 2]
    it is (2 - p) x the smallest threshold, down to 0, so that a group of one
    reaches any level the per-item rule could. The summed shortage rises with
    p (continuously), so bisection (:data:`FILL_STEPS` steps) finds p; at
    p = 0 no path is short, so a solution always exists. NaN paths left out.
    """
    groups, member = np.unique(np.asarray(target, dtype=np.float64), return_inverse=True)
    member = member.ravel()
    ordered = np.sort(threshold, axis=1)  # NaN sorts last
    count = np.maximum(np.count_nonzero(~np.isnan(threshold), axis=1), 1)
    rows = np.arange(len(ordered))
    wanted = np.bincount(member, weights=allowed, minlength=len(groups))

    def level(p: np.ndarray) -> np.ndarray:
        pos = (1.0 - np.minimum(p, 1.0)) * (count - 1)  # numpy's linear quantile, as row_quantile
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, count - 1)
        quantile = ordered[rows, lo] + (pos - lo) * (ordered[rows, hi] - ordered[rows, lo])
        return np.where(p <= 1.0, quantile, (2.0 - p) * ordered[:, 0])

    lo, hi = np.zeros(len(groups)), np.full(len(groups), 2.0)
    for _ in range(FILL_STEPS):
        mid = (lo + hi) / 2
        ok = np.bincount(member, weights=shortage(level(mid[member])), minlength=len(groups)) <= wanted
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return level(lo[member])


#: the range an edited matrix cell must be in: below 50% a "target" is no protection, 100% needs infinite stock
EDIT_RANGE = (0.5, 0.999)


def edited_policy(
    policy: ClassPolicy,
    levels: Mapping[str, float] | None = None,
    types: Mapping[str, str] | None = None,
    abc_thresholds: tuple[float, float] | None = None,
) -> ClassPolicy:
    """``policy`` with the given cells / thresholds changed (what admins edit); every problem in one error.

    Edited levels must be within :data:`EDIT_RANGE` (50% to 99.9%); cells are
    the nine of :data:`CELLS`.
    """
    levels, types = dict(levels or {}), dict(types or {})
    unknown = sorted(map(str, (set(levels) | set(types)) - set(CELLS)))
    problems = [f"unknown cell(s) {', '.join(unknown)}; cells are {', '.join(CELLS)}"] if unknown else []
    low, high = EDIT_RANGE
    problems += [f"{cell}: service level must be between {low:.1%} and {high:.1%}, got {value!r}"
                 for cell, value in levels.items() if cell in CELLS
                 and not (isinstance(value, (int, float)) and low <= float(value) <= high)]
    if problems:
        raise InvalidInputError("invalid policy: " + "; ".join(problems))
    return ClassPolicy(
        levels={**policy.levels, **{c: float(v) for c, v in levels.items()}},
        types={**policy.types, **types},
        abc_thresholds=policy.abc_thresholds if abc_thresholds is None else tuple(abc_thresholds),
    )
