"""Published plans and their overrides (docs/planning.md): tenant-scoped reads and append-only writes.

Every query filters on the client; an override is never updated except to mark
it reverted, and never deleted (the audit trail and forecast value added read them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from forecasting.core.calendar import Frequency
from forecasting.core.errors import NotFoundError
from forecasting.storage.ids import whole_id
from forecasting.storage.models import Item, PlanOverride, PublishedPlan

_plans = PublishedPlan.__table__
_overrides = PlanOverride.__table__
_items = Item.__table__

#: what :func:`read_overrides` returns, oldest first
OVERRIDE_RECORD_COLUMNS = [
    "override_id", "item_id", "category", "start_date", "end_date", "change", "kind", "reason", "note",
    "created_by", "created_at", "old_value", "new_value", "reverted", "reverted_at", "reverted_by",
]


@dataclass(frozen=True)
class PlanInfo:
    """A published plan: which run, which model, made at which as-of date over how many days."""

    plan_id: int
    run_id: int
    model: str
    as_of: date
    horizon: int
    data_version: int
    created_at: datetime


def publish(conn: Connection, client_id: int, run_id: int, model: str, as_of: date, horizon: int,
            data_version: int) -> PlanInfo:
    """Mark the client's forecast run ``run_id`` as the current plan."""
    plan_id = conn.execute(insert(_plans).values(
        client_id=client_id, run_id=run_id, model=model, as_of=as_of, horizon=horizon, data_version=data_version,
    ).returning(_plans.c.id)).scalar_one()
    return get(conn, client_id, int(plan_id))


def get(conn: Connection, client_id: int, plan_id: int) -> PlanInfo:
    row = conn.execute(select(_plans).where(_plans.c.client_id == client_id,
                                            _plans.c.id == whole_id(plan_id, "plan id"))).mappings().first()
    if row is None:
        raise NotFoundError(f"plan {plan_id} not found")
    return _info(row)


def current(conn: Connection, client_id: int) -> PlanInfo | None:
    """The client's latest published plan (None before the first)."""
    row = conn.execute(select(_plans).where(_plans.c.client_id == client_id).order_by(_plans.c.id.desc())
                       .limit(1)).mappings().first()
    return None if row is None else _info(row)


def all_plans(conn: Connection, client_id: int) -> list[PlanInfo]:
    """Every plan of the client, oldest first (forecast value added scores each bucket against one)."""
    rows = conn.execute(select(_plans).where(_plans.c.client_id == client_id).order_by(_plans.c.id)).mappings()
    return [_info(r) for r in rows]


def add_overrides(conn: Connection, client_id: int, rows: pd.DataFrame) -> list[int]:
    """Insert overrides (``pk`` = items.id of the client, and the other PlanOverride columns); their ids."""
    ids = []
    for r in rows.to_dict("records"):
        ids.append(int(conn.execute(insert(_overrides).values(
            client_id=client_id, item_id=int(r["pk"]), start_date=r["start_date"], end_date=r["end_date"],
            change=float(r["change"]), kind=r["kind"], reason=r["reason"], note=r.get("note") or "",
            created_by=r["created_by"], old_value=float(r["old_value"]), new_value=float(r["new_value"]),
        ).returning(_overrides.c.id)).scalar_one()))
    return ids


def revert(conn: Connection, client_id: int, override_id: int, who: str, now: datetime) -> None:
    """Mark one of the client's overrides reverted (its row stays); NotFoundError for another client's."""
    done = conn.execute(update(_overrides).where(
        _overrides.c.client_id == client_id, _overrides.c.id == whole_id(override_id, "override id"),
        _overrides.c.reverted_at.is_(None),
    ).values(reverted_at=now, reverted_by=who)).rowcount
    if not done:
        raise NotFoundError(f"override {override_id} not found (or already reverted)")


def read_overrides(conn: Connection, client_id: int, item_ids: list[str] | None = None) -> pd.DataFrame:
    """The client's overrides, reverted ones included (OVERRIDE_RECORD_COLUMNS), oldest first."""
    query = (select(_overrides.c.id.label("override_id"), _items.c.external_id.label("item_id"), _items.c.category,
                    _overrides.c.start_date, _overrides.c.end_date, _overrides.c.change, _overrides.c.kind,
                    _overrides.c.reason, _overrides.c.note, _overrides.c.created_by, _overrides.c.created_at,
                    _overrides.c.old_value, _overrides.c.new_value, _overrides.c.reverted_at,
                    _overrides.c.reverted_by)
             .join(_items, (_items.c.id == _overrides.c.item_id) & (_items.c.client_id == client_id))
             .where(_overrides.c.client_id == client_id).order_by(_overrides.c.id))
    if item_ids is not None:
        query = query.where(_items.c.external_id.in_(item_ids))
    frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=OVERRIDE_RECORD_COLUMNS)
    frame["reverted"] = frame["reverted_at"].notna()
    return frame[OVERRIDE_RECORD_COLUMNS]


#: days after a plan's longest possible horizon that its run stays out of the quota (its last bucket's actuals arrive)
PLAN_RETENTION_MARGIN_DAYS = 35


def plan_retention_days(freq: Frequency) -> int:
    """Days a published plan's forecast run is kept out of the stored-results quota and ``prune-runs``: the longest
    horizon of the client's bucket plus a margin (daily 400, weekly 763, monthly 1,131), so that every bucket of any
    plan can be scored for forecast value added (docs/planning.md)."""
    return math.ceil(freq.max_horizon * freq.days_per_period) + PLAN_RETENTION_MARGIN_DAYS


def protected_runs(client_id: int, since: datetime):
    """A subquery of the client's plan runs published after ``since`` that forecast value added can score: kept by
    the quota and ``prune-runs``. A plan followed by a later one with the same as-of date is never in force for any
    day (docs/planning.md), so its run is not kept for it."""
    later = _plans.alias("later")
    superseded = select(later.c.id).where(later.c.client_id == client_id, later.c.as_of == _plans.c.as_of,
                                          later.c.id > _plans.c.id).exists()
    return select(_plans.c.run_id).where(_plans.c.client_id == client_id, _plans.c.created_at >= since, ~superseded)


def _info(row) -> PlanInfo:
    return PlanInfo(int(row["id"]), int(row["run_id"]), row["model"], row["as_of"], int(row["horizon"]),
                    int(row["data_version"]), row["created_at"])
