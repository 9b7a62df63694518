"""Each client's policy by class (service levels per ABC x XYZ cell, ABC thresholds), stored as JSON on the client.

A client without a stored policy has the defaults of
:class:`~forecasting.applications.inventory.targets.ClassPolicy`. Every query
is scoped to one client id; saving bumps the client's data version, so answers
kept for the old policy (the exceptions queue) are computed again.
"""
from __future__ import annotations

import json

from sqlalchemy import Connection, select, update

from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.core.errors import NotFoundError
from forecasting.storage.clients import bump_data_version
from forecasting.storage.models import Client

_clients = Client.__table__


def to_json(policy: ClassPolicy) -> str:
    """The stored form: levels, types and thresholds as plain JSON."""
    return json.dumps({"levels": dict(policy.levels), "types": dict(policy.types),
                       "abc_thresholds": list(policy.abc_thresholds)}, sort_keys=True)


def from_json(text: str | None) -> ClassPolicy:
    """The policy of a stored JSON text (None: the defaults); keys it lacks take the defaults."""
    if not text:
        return ClassPolicy()
    stored = json.loads(text)
    default = ClassPolicy()
    return ClassPolicy(
        levels={**default.levels, **stored.get("levels", {})},
        types={**default.types, **stored.get("types", {})},
        abc_thresholds=tuple(stored.get("abc_thresholds", default.abc_thresholds)),
    )


def load(conn: Connection, client_id: int) -> ClassPolicy:
    """The client's policy (the defaults when none is stored); NotFoundError for an unknown client."""
    row = conn.execute(select(_clients.c.policy).where(_clients.c.id == client_id)).first()
    if row is None:
        raise NotFoundError(f"client {client_id} not found")
    return from_json(row.policy)


def save(conn: Connection, client_id: int, policy: ClassPolicy) -> None:
    """Store the client's policy (validated by ClassPolicy itself) and bump its data version."""
    bump_data_version(conn, client_id)
    conn.execute(update(_clients).where(_clients.c.id == client_id).values(policy=to_json(policy)))
