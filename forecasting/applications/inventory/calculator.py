"""Reorder recommendations: the periodic-review, order-up-to policy of docs/inventory-policy.md.

For an item with lead time L, review period R and service target a (its own,
else its ABC x XYZ class's, see :mod:`~forecasting.applications.inventory.targets`),
all from the model's joint sample paths of daily demand (never from summed
daily quantiles); with ``lead_time_std_days`` each path has its own sampled L
(:mod:`~forecasting.applications.inventory.lead_time`):

- ``lead_time_demand`` = mean over paths of the L-day total;
  ``reorder_point`` = a-quantile of the L-day totals (0 when L = 0);
  IP = on_hand + on_order (the inventory's, plus approved purchase-order
  lines still to arrive: ``arrivals``, each on its own due date).
- ``order_up_to`` = a-quantile of the (L+R)-day totals (``cycle``), or for
  ``fill`` the levels at which the items sharing target a (this run's items,
  dead ones left out) are together short of at most (1 - a) x their expected
  demand per cycle, with lost sales from today's IP, at the least total stock
  (one common stock-out probability: :func:`~forecasting.applications.inventory.targets.fill_rate_level`);
  ``safety_stock`` = order_up_to - mean (L+R)-day total.
- dead items (lifecycle): no stock at all (reorder point, order-up-to level
  and safety stock 0, action ``ok``, so no order); ``excess_qty`` = IP - order_up_to
  when above 0, so their whole position shows as excess to clear.
- ``action`` is :func:`order_now`, the one "order now" rule of the app
  (the Reorder page's ``reorder`` and the Attention page's urgent items).
- ``order_qty`` = max(0, order_up_to - IP) rounded up to whole packs, and at
  least the MOQ (itself rounded up to whole packs) when above 0, only on the
  lines proposed today (:func:`~forecasting.applications.purchasing.proposals.proposed_today`);
  empty on the "ok" lines. ``order_value`` = order_qty x unit_cost in cents,
  so every total is the sum of the same rounded numbers.
- ``days_of_cover`` = first day k (day 1 = the day after the data's as-of
  date) on which cumulative expected demand exceeds on_hand plus the stock on
  order that has arrived by then (on ``on_order_due``, else after the lead
  time); ``stockout_date`` = as-of date + k; both empty beyond the horizon.

Quantiles use numpy's default linear interpolation between path totals.

On weekly or monthly data the paths are per bucket and L and R stay in days:
a window of D days covers w = D / (days per bucket) buckets (7 for weeks,
365.25 / 12 for months), the last, partial bucket counted pro rata
(:func:`window_totals`); stock on order arrives in the bucket holding its day;
days of cover are the days from the as-of date to the date of the first
bucket short of stock (docs/inventory-policy.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from forecasting.applications.classification.item_classes import item_classes
from forecasting.applications.inventory.inventory_input import Inventory, validate_inventory
from forecasting.applications.inventory.lead_time import max_lead_days, sampled_lead_times
from forecasting.applications.inventory.policy import (
    arrival_day,
    first_shortfall,
    order_quantity,
    projected_stock,
    path_mean,
    row_quantile,
    window_totals,
)
from forecasting.applications.inventory.targets import (
    ClassPolicy,
    fill_rate_level,
    fill_rate_reorder_point,
    resolve_targets,
)
from forecasting.core.calendar import DAILY, Frequency
from forecasting.applications.purchasing.proposals import money, proposed_today
from forecasting.core.errors import ForecastingError, InvalidInputError, NotFoundError, listed
from forecasting.core.history import PreparedHistory, prepare_history
from forecasting.core.models.base import BaseForecastModel, ProgressCallback, SamplePaths

class PathAdjustment(Protocol):
    """Moves a model's sample paths (a published plan's overrides) and names the result for the table."""

    label: str

    def adjust(self, paths: SamplePaths) -> SamplePaths: ...


REORDER_COLUMNS = [
    "item_id", "name", "category", "model", "service_level", "lead_time_days", "review_period_days", "on_hand",
    "on_order", "inventory_position", "lead_time_demand", "reorder_point", "safety_stock", "order_up_to", "order_qty",
    "unit_cost", "order_value", "days_of_cover", "stockout_date", "action", "on_order_due",
    "abc", "xyz", "lifecycle", "service_type", "lead_time_std_days", "excess_qty",
]
#: the forecast always reaches this far so that days of cover mean something for short lead times
MIN_COVER_HORIZON = 28
#: a projected shortfall below this rounds to 0 units: it is not a shortage (never "-0 units short")
MIN_SHORTAGE_UNITS = 0.5
#: sample paths drawn by :meth:`InventoryCalculator.reorder` (fixed seed: the same input gives the same table)
N_PATHS = 1000
SEED = 0


def is_shortage(units: np.ndarray | float) -> np.ndarray:
    """Whether a projected shortfall (units short, >= 0) is a shortage: it rounds to at least one unit."""
    return np.asarray(units, dtype=np.float64) >= MIN_SHORTAGE_UNITS


def shortfall_on_arrival(stock: np.ndarray, lead_time_days: np.ndarray, freq: Frequency = DAILY) -> np.ndarray:
    """Units short [items] on day L, when an order placed today would arrive; 0 when in stock or L = 0.

    ``stock``: the projected stock [items, buckets of ``freq``] (bucket 1 first, see
    :func:`projected_stock`); on weekly or monthly data the order arrives in the bucket holding day L.
    """
    lead = _in_buckets(np.asarray(lead_time_days, dtype=np.float64), freq).astype(np.int64)
    day = np.clip(lead, 1, stock.shape[1]) - 1
    on_arrival = stock[np.arange(len(stock)), day]
    return np.where((lead >= 1) & (on_arrival < 0), -on_arrival, 0.0)


def order_now(position: np.ndarray, reorder_point: np.ndarray, short_on_arrival: np.ndarray) -> np.ndarray:
    """The one "order now" rule: IP <= reorder point, or a shortage by the day an order placed today arrives.

    The Reorder page's ``reorder`` action and the Attention page's urgent items
    (its two most urgent reasons) both come from here, so their counts agree.
    """
    return (np.asarray(position) <= np.asarray(reorder_point)) | is_shortage(short_on_arrival)


@dataclass(frozen=True)
class ReorderPlan:
    """The reorder table and, per item and day, the expected demand and projected stock it is made of.

    ``projection``: ``item_id, date, expected_demand, projected_stock`` (on hand
    plus stock on order from its due day, minus cumulative expected demand),
    ``with_suggested_order`` (plus the table's order quantity from the day it
    would arrive). ``days_of_cover`` is the first day ``projected_stock`` is below 0.
    """

    table: pd.DataFrame
    projection: pd.DataFrame


class InventoryCalculator:
    """Turns demand sample paths and an inventory frame into the reorder table (REORDER_COLUMNS)."""

    @staticmethod
    def required_horizon(inventory: pd.DataFrame, freq: Frequency = DAILY) -> int:
        """Buckets of forecast the policy needs: max(MIN_COVER_HORIZON, largest L + ceil(3 x lead-time std) + R)
        days, in ``freq``'s buckets."""
        inv = validate_inventory(inventory, levels_from_class=True)
        longest = max_lead_days(inv.lead_time_days, inv.lead_time_std_days) + inv.review_period_days
        days = max(MIN_COVER_HORIZON, int(longest.max()))
        return freq.whole_periods(days)

    @staticmethod
    def from_paths(
        paths: SamplePaths,
        inventory: pd.DataFrame,
        model: str,
        service_level: float | None = None,
        classes: pd.DataFrame | None = None,
        policy: ClassPolicy | None = None,
        arrivals: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """The reorder table from given sample paths (see :meth:`plan_from_paths`)."""
        return InventoryCalculator.plan_from_paths(paths, inventory, model, service_level, classes, policy,
                                                   arrivals=arrivals).table

    @staticmethod
    def plan_from_paths(
        paths: SamplePaths,
        inventory: pd.DataFrame,
        model: str,
        service_level: float | None = None,
        classes: pd.DataFrame | None = None,
        policy: ClassPolicy | None = None,
        review_due: bool = False,
        arrivals: pd.DataFrame | None = None,
    ) -> ReorderPlan:
        """The reorder table and each item's projected stock, from given sample paths.

        ``arrivals``: approved purchase-order lines still to arrive (``item_id,
        quantity, due_date``, several per item allowed; other items' ignored).
        Each counts in the inventory position and arrives in the projection on
        its due date; the table's ``on_order`` includes them and its
        ``on_order_due`` is the earliest arrival.

        ``review_due``: today is every periodic item's review (the policy
        simulator's review days), so items below the order-up-to level get a
        quantity too (:func:`~forecasting.applications.purchasing.proposals.proposed_today`).

        ``service_level`` overrides every item's; None uses the inventory's
        ``service_level`` column where set, else the item's ABC x XYZ cell of
        ``policy`` (default :class:`ClassPolicy`), else 0.95. ``classes``: the
        items' :func:`~forecasting.applications.classification.item_classes.item_classes`
        (None: unclassified, active unless flagged ``phase_out``). Every
        inventory item must have paths reaching its longest L + R days; paths of
        other items are ignored.
        """
        inv = validate_inventory(inventory, service_level, levels_from_class=True)
        inv, values, first_date = _paths_for(paths, inv)
        abc, xyz, stage = _classes_for(classes, inv)
        level, kind = resolve_targets(inv.service_level, inv.service_type, abc, xyz, stage, policy, service_level)
        dead = stage == "dead"
        freq = paths.freq
        lead = inv.lead_time_days
        path_lead = sampled_lead_times(lead, inv.lead_time_std_days, inv.item_ids, values.shape[1]) \
            if (inv.lead_time_std_days > 0).any() else lead
        review = inv.review_period_days if np.ndim(path_lead) == 1 else inv.review_period_days[:, None]
        lead_totals = window_totals(values, freq.periods_covering(path_lead))
        cycle_totals = window_totals(values, freq.periods_covering(path_lead + review))
        no_path = np.count_nonzero(~np.isnan(cycle_totals), axis=1) == 0
        if no_path.any():
            raise ForecastingError(
                f"no complete sample path over lead time + review period for item(s) {listed(inv.item_ids[no_path])}"
            )
        reorder_point = row_quantile(lead_totals, level)
        order_up_to = row_quantile(cycle_totals, level)
        fill = (kind == "fill") & ~dead  # a dead item's zero level is no part of its target's group
        position = inv.on_hand + inv.on_order
        if fill.any():
            reorder_point[fill] = fill_rate_reorder_point(lead_totals[fill], cycle_totals[fill], level[fill])
            order_up_to[fill] = fill_rate_level(lead_totals[fill], cycle_totals[fill], level[fill], position[fill])
        reorder_point, order_up_to = np.where(dead, 0.0, reorder_point), np.where(dead, 0.0, order_up_to)
        expected = path_mean(values)
        due = (inv.on_order_due - first_date) / np.timedelta64(1, "D") + 1.0  # day 1 = first_date; NaT -> NaN
        on_order_day = arrival_day(_in_buckets(due, freq), _in_buckets(lead, freq))
        order_day = arrival_day(np.full(len(lead), np.nan), _in_buckets(lead, freq))
        incoming = [(inv.on_order, on_order_day), *approved_arrivals(arrivals, inv.item_ids, first_date, freq)]
        on_order = np.sum([quantity for quantity, _ in incoming], axis=0)
        position = inv.on_hand + on_order
        stock = projected_stock(expected, inv.on_hand, incoming)
        cover = first_shortfall(stock)
        urgent = order_now(position, reorder_point, shortfall_on_arrival(stock, lead, freq)) & ~dead
        proposed = proposed_today(urgent, position, order_up_to, inv.review_period_days, review_due)
        order_qty = np.where(proposed, order_quantity(order_up_to - position, inv.pack_size, inv.moq), np.nan)
        table = pd.DataFrame(
            {
                "item_id": inv.item_ids,
                "name": inv.name,
                "category": inv.category,
                "model": model,
                "service_level": level,
                "lead_time_days": lead,
                "review_period_days": inv.review_period_days,
                "on_hand": inv.on_hand,
                "on_order": on_order,
                "inventory_position": position,
                "lead_time_demand": path_mean(lead_totals),
                "reorder_point": reorder_point,
                "safety_stock": np.where(dead, 0.0, order_up_to - path_mean(cycle_totals)),
                "order_up_to": order_up_to,
                "order_qty": order_qty,
                "unit_cost": inv.unit_cost,
                "order_value": money(order_qty * inv.unit_cost),
                "days_of_cover": _days_from_as_of(first_date, cover, freq),
                # first_date is step 1, so step k is first_date + (k - 1) steps (daily: the as-of date + k)
                "stockout_date": _step_dates(first_date, cover, freq),
                "action": np.where(urgent, "reorder", "ok"),
                "on_order_due": _step_dates(first_date, _first_arrival(incoming), freq),
                "abc": abc,
                "xyz": xyz,
                "lifecycle": stage,
                "service_type": kind,
                "lead_time_std_days": inv.lead_time_std_days,
                "excess_qty": np.maximum(position - order_up_to, 0.0),
            },
            columns=REORDER_COLUMNS,
        )
        with_order = projected_stock(expected, inv.on_hand, [*incoming, (np.nan_to_num(order_qty), order_day)])
        steps = np.arange(1, expected.shape[1] + 1)
        projection = pd.DataFrame({
            "item_id": np.repeat(inv.item_ids, expected.shape[1]),
            "date": _step_dates(np.repeat(first_date, len(steps)), np.tile(steps, len(first_date)), freq),
            "expected_demand": expected.ravel(),
            "projected_stock": stock.ravel(),
            "with_suggested_order": with_order.ravel(),
        })
        return ReorderPlan(_sorted(table), projection)

    @classmethod
    def reorder(
        cls,
        model: BaseForecastModel,
        history: pd.DataFrame | PreparedHistory,
        inventory: pd.DataFrame,
        service_level: float | None = None,
        progress: ProgressCallback | None = None,
        horizon: int | None = None,
        policy: ClassPolicy | None = None,
        classes: pd.DataFrame | None = None,
        arrivals: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast the inventory's items with ``model`` and apply the policy: the reorder table.

        History of items outside the inventory is ignored; an inventory item
        without history is a NotFoundError naming it. ``horizon``: the days of
        sample paths (default :meth:`required_horizon`); a catalogue planned in
        chunks passes the whole inventory's, so every chunk draws the same paths.
        """
        return cls.plan(model, history, inventory, service_level, progress, horizon, policy, classes,
                        arrivals=arrivals).table

    @classmethod
    def plan(
        cls,
        model: BaseForecastModel,
        history: pd.DataFrame | PreparedHistory,
        inventory: pd.DataFrame,
        service_level: float | None = None,
        progress: ProgressCallback | None = None,
        horizon: int | None = None,
        policy: ClassPolicy | None = None,
        classes: pd.DataFrame | None = None,
        demand: PathAdjustment | None = None,
        arrivals: pd.DataFrame | None = None,
    ) -> ReorderPlan:
        """:meth:`reorder` plus each item's projected stock (what the table's numbers come from).

        ``classes`` (None: classified here on the inventory items' history, see
        :func:`classify_inventory`), ``policy`` and ``arrivals`` as in :meth:`plan_from_paths`.
        """
        inv = validate_inventory(inventory, service_level, levels_from_class=True)  # fail fast, before the forecast
        scoped = _restrict(history, inv.item_ids, model.min_history_days)
        horizon = cls.required_horizon(inventory, scoped.freq) if horizon is None else horizon
        if horizon > model.max_horizon:
            raise ForecastingError(
                f"model {model.name} forecasts at most {model.max_horizon} days; "
                f"the inventory needs {horizon} (lead time + review period)"
            )
        if classes is None:
            classes = classify_inventory(scoped, inventory, policy)
        paths = model.sample_paths(scoped, horizon, n_paths=N_PATHS, seed=SEED, progress=progress)
        if demand is not None:  # the published plan's overrides (forecasting.services.planning.DemandSource)
            paths = demand.adjust(paths)
        label = model.name if demand is None else demand.label
        return cls.plan_from_paths(paths, inventory, label, service_level, classes, policy, arrivals=arrivals)


def classify_inventory(
    history: pd.DataFrame | PreparedHistory, inventory: pd.DataFrame, policy: ClassPolicy | None = None
) -> pd.DataFrame:
    """The inventory items' ABC / XYZ / lifecycle classes (the inventory's items are the ABC population).

    Value uses the inventory's ``unit_cost``; ``phase_out`` makes an item dead;
    the ABC thresholds are the policy's.
    """
    inv = validate_inventory(inventory, levels_from_class=True)
    scoped = history if isinstance(history, PreparedHistory) else _restrict(history, inv.item_ids, 1)
    order = pd.Index(inv.item_ids).get_indexer(scoped.item_ids.astype(str))
    thresholds = (policy or ClassPolicy()).abc_thresholds
    return item_classes(scoped.item_ids, scoped.tail_matrix(), inv.unit_cost[order], inv.phase_out[order], thresholds,
                        scoped.freq)


def _classes_for(classes: pd.DataFrame | None, inv: Inventory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(abc, xyz, lifecycle) in the inventory's order: '' for an unclassified item, dead when phased out."""
    if classes is None:
        blank = np.full(len(inv.item_ids), "", dtype=object)
        return blank, blank.copy(), np.where(inv.phase_out, "dead", "active").astype(object)
    found = classes.set_index(classes["item_id"].astype(str)).reindex(inv.item_ids)
    abc = found["abc"].fillna("").to_numpy(dtype=object)
    xyz = found["xyz"].fillna("").to_numpy(dtype=object)
    stage = found["lifecycle"].fillna("active").to_numpy(dtype=object)
    return abc, xyz, np.where(inv.phase_out, "dead", stage).astype(object)


def approved_arrivals(
    arrivals: pd.DataFrame | None, item_ids: np.ndarray, first_date: np.ndarray, freq: Frequency
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Approved order lines as (quantity, day) pairs of :func:`projected_stock`, in ``item_ids``' order.

    The k-th pair holds every item's k-th arrival (quantity 0 where an item has
    fewer), so an item may have any number of approved lines. A line due on or
    before the first forecast day counts from day 1; one beyond the horizon
    counts in the position only.
    """
    if arrivals is None or arrivals.empty:
        return []
    rows = pd.Index(item_ids).get_indexer(arrivals["item_id"].astype(str))
    keep = rows >= 0
    rows = rows[keep]
    quantity = arrivals["quantity"].to_numpy(dtype=np.float64)[keep]
    due = pd.to_datetime(arrivals["due_date"]).to_numpy(dtype="datetime64[ns]")[keep]
    offset = (due - first_date[rows]) / np.timedelta64(1, "D") + 1.0  # day 1 = first_date
    day = arrival_day(_in_buckets(offset, freq), np.zeros(len(rows)))
    rank = pd.Series(rows).groupby(rows).cumcount().to_numpy()
    pairs = []
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        amounts, days = np.zeros(len(item_ids)), np.ones(len(item_ids), dtype=np.int64)
        mine = rank == k
        amounts[rows[mine]], days[rows[mine]] = quantity[mine], day[mine]
        pairs.append((amounts, days))
    return pairs


def _first_arrival(incoming: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The day of each item's earliest arrival with a quantity; none: the stock on order's own day."""
    quantities = np.array([q for q, _ in incoming], dtype=np.float64)
    days = np.array([d for _, d in incoming], dtype=np.float64)
    first = np.where(quantities > 0, days, np.inf).min(axis=0)
    return np.where(np.isinf(first), days[0], first)


def _in_buckets(days: np.ndarray, freq: Frequency) -> np.ndarray:
    """Day counts (1 = the first forecast day) as the bucket holding that day; daily: unchanged (NaN stays)."""
    return days if freq.code == "D" else np.ceil(freq.periods_covering(days))


def _step_dates(first_date: np.ndarray, step: np.ndarray, freq: Frequency) -> np.ndarray:
    """The date of step k (1 = ``first_date``) in ``freq``'s buckets; NaT where k is NaN."""
    step = np.asarray(step, dtype=np.float64)
    if freq.code == "D":
        return first_date + pd.to_timedelta(step - 1, unit="D")
    first = freq.periods(np.asarray(first_date, dtype="datetime64[D]").astype(np.int64))
    known = ~np.isnan(step)
    out = np.full(len(step), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[known] = freq.dates(first[known] + step[known].astype(np.int64) - 1)
    return out


def _days_from_as_of(first_date: np.ndarray, step: np.ndarray, freq: Frequency) -> np.ndarray:
    """Days of cover: step k itself on daily data; else the days from the as-of bucket's date to step k's."""
    if freq.code == "D":
        return step
    as_of = _step_dates(first_date, np.zeros(len(step)), freq)
    return (_step_dates(first_date, step, freq) - as_of) / np.timedelta64(1, "D")


def _paths_for(paths: SamplePaths, inv: Inventory) -> tuple[Inventory, np.ndarray, np.ndarray]:
    """The inventory and its items' paths [items, paths, days] and first forecast dates, aligned.

    When the paths hold exactly the inventory's items (what :meth:`reorder`
    produces) the inventory is put in the paths' order instead of copying the
    paths; the table is sorted at the end anyway.
    """
    index = pd.Index(np.asarray(paths.item_ids).astype(str)).get_indexer(inv.item_ids)
    unknown = index < 0
    if unknown.any():
        raise NotFoundError(f"no forecast (sample paths) for inventory item(s) {listed(inv.item_ids[unknown])}")
    values = paths.values
    if len(index) == len(values):
        order = np.argsort(index)
        inv, index = inv.take(order), index[order]
    else:
        values = values[index]
    span = np.ceil(paths.freq.periods_covering(
        max_lead_days(inv.lead_time_days, inv.lead_time_std_days) + inv.review_period_days))
    short = span > values.shape[2]
    if short.any():
        raise ForecastingError(
            f"sample paths cover {values.shape[2]} {paths.freq.units} but lead time + review period is longer "
            f"for item(s) {listed(inv.item_ids[short])}"
        )
    first_date = np.asarray(paths.first_date, dtype="datetime64[ns]")[index]
    return inv, values, first_date


def _restrict(history: pd.DataFrame | PreparedHistory, ids: np.ndarray, min_days: int) -> PreparedHistory:
    """The history of the inventory's items only, up to the whole history's "as of" date.

    Inventory items without history are an error; items outside the inventory
    are not checked (a short one of them does not stop the table).
    """
    if isinstance(history, PreparedHistory):
        keep = np.isin(history.item_ids.astype(str), ids)
        present = history.item_ids[keep].astype(str)
    else:
        if "item_id" not in history.columns:
            raise InvalidInputError("history is missing column(s) item_id")
        hist_ids = history["item_id"]
        hist_ids = hist_ids if hist_ids.dtype == object else hist_ids.astype(str)
        keep = hist_ids.isin(ids).to_numpy()
        present = pd.unique(hist_ids[keep]).astype(str)
    missing = ids[~np.isin(ids, present)]
    if len(missing):
        raise NotFoundError(f"inventory item(s) without sales history: {listed(missing)}")
    if isinstance(history, PreparedHistory):
        return history if keep.all() else history.subset(keep)
    as_of = pd.to_datetime(history["date"]).max()
    return prepare_history(history if keep.all() else history[keep], min_days, as_of)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Items to reorder first, then the soonest stockout (no stockout last), then item_id."""
    key = table.assign(_ok=table["action"] != "reorder")
    order = key.sort_values(["_ok", "days_of_cover", "item_id"], na_position="last", kind="stable").index
    return table.loc[order].reset_index(drop=True)

