"""The policy simulator's entry point for the CLI, the API and the app (docs/inventory-policy.md, simulator).

:func:`simulate_policy` runs on frames (file mode); :class:`SimulationService`
reads a client's stored history and positions, within the request limits: one
simulation costs ``reviews`` x a reorder plan's model cost (ModelFactory cost
weights), and ``items x variants x horizon`` reorder item-days per review.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from time import perf_counter

import numpy as np
import pandas as pd

from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.applications.inventory.calculator import (
    N_PATHS,
    SEED,
    InventoryCalculator,
    classify_inventory,
)
from forecasting.applications.inventory.inventory_input import (
    lead_and_review,
    validate_inventory,
)
from forecasting.applications.inventory.simulation import (
    DEFAULT_REVIEWS,
    Forecaster,
    review_buckets,
    simulate,
    summarise,
    validate_reviews,
)
from forecasting.core.errors import (
    ForecastingError,
    ModelUnavailableError,
    NotFoundError,
    listed,
)
from forecasting.core.history import PreparedHistory, prepare_history
from forecasting.core.models.base import BaseForecastModel, ProgressCallback
from forecasting.modes.factory import ModelFactory
from forecasting.services.forecast_service import ForecastService, _watched, run_request
from forecasting.services.limits import CancelToken

#: the per-class summary's column: the ABC x XYZ class as of the data's last day (e.g. ``AX``)
CLASS_COLUMN = "abc_xyz"
#: items simulated at once: memory grows with it (sample paths of one review), not with the catalogue
DEFAULT_CHUNK_ITEMS = 1_000


@dataclass(frozen=True)
class SimulationOutcome:
    """Per-item rows (one block per variant, with each item's class), per-class rows and the totals."""

    model: str
    reviews: int
    variants: tuple[dict, ...]
    items: pd.DataFrame
    classes: pd.DataFrame
    total: pd.DataFrame
    #: items left out: too little history before their first review
    skipped: tuple[str, ...]
    as_of: date | None = None
    #: the run record of a simulation on stored data (kind ``simulation``); None in file mode
    run_id: int | None = None


def model_forecaster(model: BaseForecastModel) -> Forecaster:
    """Sample paths of ``model`` as the reorder plan draws them (same number of paths and seed)."""
    return lambda history, horizon: model.sample_paths(history, horizon, n_paths=N_PATHS, seed=SEED)


def simulate_policy(
    history: pd.DataFrame | PreparedHistory,
    inventory: pd.DataFrame,
    model: str = "ma7",
    reviews: int = DEFAULT_REVIEWS,
    variants: Sequence[Mapping[str, object]] = ({},),
    service_level: float | None = None,
    progress: ProgressCallback | None = None,
    chunk_items: int = DEFAULT_CHUNK_ITEMS,
    as_of: object | None = None,
    policy: ClassPolicy | None = None,
) -> SimulationOutcome:
    """Replay the inventory's policy with ``model`` over the last ``reviews`` reviews, in chunks of items.

    Inventory items without history are an error; items without the model's
    minimum history before their first review are left out (``skipped``).
    At each review the items' ABC / XYZ / lifecycle classes are taken from the
    history known that day (so class targets, dead and new items follow the
    policy as it would have been applied; ``policy``: the client's matrix, default
    :class:`ClassPolicy`); the per-class summary groups by the
    class as of the data's last day.
    """
    reviews = validate_reviews(reviews)
    instance = ModelFactory.create(model)
    status = instance.availability()
    if not status.available:
        raise ModelUnavailableError(f"model {instance.name} cannot run here: {status.reason}")
    inv = validate_inventory(inventory, service_level, levels_from_class=True)
    prepared = history if isinstance(history, PreparedHistory) else prepare_history(history, 1, as_of)
    freq = prepared.freq
    if InventoryCalculator.required_horizon(inventory, freq) > instance.max_horizon:
        raise ForecastingError(f"model {instance.name} forecasts at most {instance.max_horizon} {freq.units}; "
                               "the inventory needs more (lead time + review period)")
    hist_ids = prepared.item_ids.astype(str)
    missing = inv.item_ids[~np.isin(inv.item_ids, hist_ids)]
    if len(missing):
        raise NotFoundError(f"inventory item(s) without sales history: {listed(missing)}")
    _, review = lead_and_review(inventory)
    lengths = pd.Series(prepared.lengths, index=hist_ids).reindex(inv.item_ids).to_numpy()
    enough = lengths - reviews * review_buckets(review, freq) >= instance.min_history_days
    skipped = tuple(inv.item_ids[~enough])
    if not enough.any():
        raise ForecastingError(
            f"no item has {instance.min_history_days} {freq.units} of sales history before its first review "
            f"({reviews} reviews ago): ask for fewer reviews")
    frame = inventory.reset_index(drop=True)
    if service_level is not None:
        frame = frame.assign(service_level=service_level)
    frame = frame.loc[enough].reset_index(drop=True)
    prepared = prepared.subset(np.isin(hist_ids, frame["item_id"].astype(str)))
    forecaster = model_forecaster(instance)
    known_classes: dict[int, pd.DataFrame] = {}

    def classes_then(known: PreparedHistory) -> dict[str, object]:
        """The classes of every simulated item (all chunks: ABC ranks the whole catalogue) from the history
        up to the review day of ``known`` (a chunk's items truncated at that day)."""
        day = int(known.last_day.max())
        if day not in known_classes:
            whole = prepared.truncate(np.full(prepared.n_items, day), 1)
            known_classes[day] = classify_inventory(whole, frame, policy)
        return {"classes": known_classes[day], "policy": policy}

    parts, n = [], len(frame)
    chunks = range(0, n, max(1, int(chunk_items)))
    for number, lo in enumerate(chunks):
        part = frame.iloc[lo:lo + chunk_items]
        keep = np.isin(prepared.item_ids.astype(str), part["item_id"].astype(str))
        report = None if progress is None else _chunk_progress(progress, number, len(chunks))
        parts.append(simulate(prepared.subset(keep), part, forecaster, instance.name, reviews, progress=report,
                              variants=variants, plan_options=classes_then).items)
    items = pd.concat(parts, ignore_index=True)
    described = frame.assign(item_id=frame["item_id"].astype(str)).set_index("item_id")
    items.insert(1, "name", items["item_id"].map(described["name"]) if "name" in described else "")
    classes = classify_inventory(prepared, frame, policy).set_index("item_id")
    for column in ("abc", "xyz", "lifecycle"):
        items[column] = items["item_id"].map(classes[column])
    items[CLASS_COLUMN] = items["abc"] + items["xyz"]
    items = items.sort_values(["variant", "item_id"], kind="stable").reset_index(drop=True)
    return SimulationOutcome(
        model=instance.name, reviews=reviews, variants=tuple(dict(v) for v in variants), items=items,
        classes=summarise(items, CLASS_COLUMN), total=summarise(items), skipped=skipped,
        as_of=None if as_of is None else pd.Timestamp(as_of).date(),
    )


def _chunk_progress(progress: ProgressCallback, number: int, chunks: int) -> ProgressCallback:
    """A chunk's review progress as progress over all chunks (in thousandths)."""
    return lambda done, total: progress(int(1000 * (number + done / max(total, 1)) / chunks), 1000)


class SimulationService:
    """The simulator on a client's stored history and stock positions (tenant-scoped, within the limits)."""

    def __init__(self, forecasts: ForecastService):
        self.forecasts = forecasts

    def simulate(
        self,
        client_id: int,
        item_ids: Sequence[str] | None = None,
        model: str = "ma7",
        reviews: int = DEFAULT_REVIEWS,
        variants: Sequence[Mapping[str, object]] = ({},),
        service_level: float | None = None,
        user_id: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> SimulationOutcome:
        """Replay the client's policy (stored parameters; ``variants`` override policy columns).

        Recorded as a run of kind ``simulation`` (who, when, items, model, the
        reviews and variants in its parameters, how long, failed or not), like
        a reorder run; its results are returned, not stored.
        """
        reviews = validate_reviews(reviews)
        instance = ModelFactory.create(model)
        forecasts = self.forecasts
        if user_id is not None:
            forecasts.data.require_user(client_id, user_id)
        inventory, skipped = forecasts.positions(client_id, item_ids, instance.min_history_days, {})
        inventory = inventory.drop(columns="as_of")
        limits = forecasts.limits
        if limits is not None:
            horizon = InventoryCalculator.required_horizon(inventory, forecasts.data.get_client(client_id).freq)
            limits.check_items(len(inventory))
            limits.check_reorder(len(inventory) * len(variants), horizon)
            limits.check_cost("simulation", reviews * ModelFactory.cost(instance.name, len(inventory)),
                              f"{reviews} reviews x a reorder plan of {len(inventory):,} items of {instance.name}")
        started = perf_counter()
        slot = nullcontext() if forecasts.slots is None else forecasts.slots.hold(client_id)
        with slot:
            snapshot = forecasts.data.history_snapshot(client_id, inventory["item_id"].tolist())
            policy = forecasts.data.policy(client_id)
            parameters = {"reviews": reviews, "variants": [dict(v) for v in variants],
                          "service_level": service_level}
            request = run_request("simulation", snapshot.item_ids, instance.name, str(instance.version),
                                  InventoryCalculator.required_horizon(inventory), (), parameters,
                                  snapshot.fingerprint, user_id)
            run_id, _ = forecasts.data.record_run(client_id, request)
            outcome = forecasts._run(
                client_id, run_id, started,
                lambda: simulate_policy(snapshot.frame, inventory, instance.name, reviews, variants, service_level,
                                        _watched(progress, cancel), as_of=snapshot.as_of, policy=policy),
                cancel=cancel,
            )
        return SimulationOutcome(**{**outcome.__dict__, "skipped": tuple(skipped) + outcome.skipped,
                                    "run_id": run_id})
