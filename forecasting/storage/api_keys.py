"""API keys in the database: insert, list, revoke, find by digest, note the last use.

Only digests are stored (see :mod:`forecasting.services.api_keys` for the keys
themselves). Every function that touches a client's keys takes the client id;
another client's key id behaves like a missing one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from forecasting.core.errors import NotFoundError
from forecasting.storage.clients import get as get_client
from forecasting.storage.ids import whole_id
from forecasting.storage.models import ApiKey, utcnow
from forecasting.storage.users import require_member

_keys = ApiKey.__table__


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as lists show it: never the key itself, only its first characters."""

    key_id: int
    client_id: int
    name: str
    prefix: str
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def insert_key(
    conn: Connection, client_id: int, name: str, prefix: str, key_hash: str, created_by: int | None
) -> int:
    get_client(conn, client_id)
    if created_by is not None:
        require_member(conn, client_id, created_by)
    key_id = conn.execute(
        insert(_keys)
        .values(client_id=client_id, name=name, prefix=prefix, key_hash=key_hash, created_by=created_by,
                created_at=utcnow())
        .returning(_keys.c.id)
    ).scalar_one()
    return int(key_id)


def of_client(conn: Connection, client_id: int, include_revoked: bool = True) -> list[ApiKeyInfo]:
    """The client's keys, newest first."""
    get_client(conn, client_id)
    query = select(_keys).where(_keys.c.client_id == client_id).order_by(_keys.c.id.desc())
    if not include_revoked:
        query = query.where(_keys.c.revoked_at.is_(None))
    return [_info(row) for row in conn.execute(query).mappings()]


def revoke(conn: Connection, client_id: int, key_id: int) -> ApiKeyInfo:
    """Revoke the key (a revoked key stays as it was); NotFoundError for another client's or a missing key."""
    key_id = whole_id(key_id, "API key id")
    conn.execute(
        update(_keys)
        .where(_keys.c.id == key_id, _keys.c.client_id == client_id, _keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    row = conn.execute(select(_keys).where(_keys.c.id == key_id, _keys.c.client_id == client_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"API key {key_id} not found for this client")
    return _info(row)


def active_by_hash(conn: Connection, key_hash: str) -> ApiKeyInfo | None:
    row = conn.execute(
        select(_keys).where(_keys.c.key_hash == key_hash, _keys.c.revoked_at.is_(None))
    ).mappings().first()
    return None if row is None else _info(row)


def note_use(conn: Connection, key_id: int, when: datetime) -> None:
    conn.execute(update(_keys).where(_keys.c.id == key_id).values(last_used_at=when))


def _info(row) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row["id"],
        client_id=row["client_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )
