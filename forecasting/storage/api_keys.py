"""Service API keys: per-client credentials for machine callers of the REST API.

A key is ``fck_`` plus 43 URL-safe characters (32 random bytes from
:mod:`secrets`). It is shown once, when created; the database keeps only its
SHA-256 digest, a short prefix for recognising it in lists, the label and
the times it was created, last used and revoked.

Why SHA-256 and not bcrypt (which the passwords use): bcrypt's cost exists to
slow down guessing of low-entropy secrets that people choose. A 256-bit random
key cannot be guessed whatever the hash, so a slow hash adds nothing but
latency (about 0.25 s per request at cost 12, more than the API's whole
budget), and bcrypt's per-hash salt would force comparing a presented key
with every stored hash instead of one indexed lookup by digest.

Every method takes the client id: an admin lists and revokes only the keys of
their own client, and another client's key id behaves like a missing one.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ForeignKey, Integer, String, func, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.storage.database import Database
from forecasting.storage.models import Base, Client, User, UTCDateTime, utcnow

KEY_PREFIX = "fck_"
#: characters of the key kept in clear for lists ("fck_" plus 8 of the 43 random ones)
SHOWN_PREFIX = len(KEY_PREFIX) + 8
MAX_LABEL = 100
#: longer header values are refused without touching the database
MAX_KEY_LENGTH = 200
#: ``last_used_at`` is written at most this often per key (it costs a write transaction)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKey(Base):
    """A service key of a client, stored as a SHA-256 digest (never in clear)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_LABEL), default="", server_default="")
    #: the key's first characters, so that an admin can tell keys apart
    prefix: Mapped[str] = mapped_column(String(16))
    #: hex SHA-256 of the whole key
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


_keys = ApiKey.__table__
_clients = Client.__table__
_users = User.__table__


class InvalidApiKeyError(ForecastingError):
    """A presented key that is malformed, unknown or revoked (the message never says which)."""


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


class CreatedApiKey(NamedTuple):
    """A new key: its id and the key in clear, which exists only in this value."""

    key_id: int
    key: str


def hash_key(key: str) -> str:
    """Hex SHA-256 of the key (what the database stores and looks up)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyService:
    """Creates, lists, revokes and verifies a client's API keys (the CLI, the Admin page and the API use it)."""

    def __init__(self, database: Database):
        self.database = database

    def create(self, client_id: int, name: str = "", created_by: int | None = None) -> CreatedApiKey:
        """A new active key for the client; show ``.key`` to the admin once, it cannot be recovered."""
        label = _label(name)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.database.write() as conn:
            _require_client(conn, client_id)
            if created_by is not None:
                found = conn.execute(
                    select(_users.c.id).where(_users.c.id == _whole(created_by), _users.c.client_id == client_id)
                ).first()
                if found is None:
                    raise NotFoundError(f"user {created_by} not found for this client")
            key_id = conn.execute(
                insert(_keys)
                .values(
                    client_id=client_id,
                    name=label,
                    prefix=key[:SHOWN_PREFIX],
                    key_hash=hash_key(key),
                    created_by=created_by,
                    created_at=utcnow(),
                )
                .returning(_keys.c.id)
            ).scalar_one()
        return CreatedApiKey(int(key_id), key)

    def list_keys(self, client_id: int, include_revoked: bool = True) -> list[ApiKeyInfo]:
        """The client's keys, newest first."""
        with self.database.read() as conn:
            _require_client(conn, client_id)
            query = select(_keys).where(_keys.c.client_id == client_id).order_by(_keys.c.id.desc())
            if not include_revoked:
                query = query.where(_keys.c.revoked_at.is_(None))
            return [_info(row) for row in conn.execute(query).mappings()]

    def revoke(self, client_id: int, key_id: int) -> ApiKeyInfo:
        """Stop the key working from the next request on; revoking a revoked key changes nothing."""
        with self.database.write() as conn:
            conn.execute(
                update(_keys)
                .where(_keys.c.id == _whole(key_id), _keys.c.client_id == client_id, _keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            row = conn.execute(
                select(_keys).where(_keys.c.id == key_id, _keys.c.client_id == client_id)
            ).mappings().first()
        if row is None:
            raise NotFoundError(f"API key {key_id} not found for this client")
        return _info(row)

    def verify(self, key: str) -> ApiKeyInfo:
        """The active key presented in a request (it tells the caller's client), else InvalidApiKeyError."""
        if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
            raise InvalidApiKeyError("invalid API key")
        with self.database.read() as conn:
            row = conn.execute(
                select(_keys).where(_keys.c.key_hash == hash_key(key), _keys.c.revoked_at.is_(None))
            ).mappings().first()
        if row is None:
            raise InvalidApiKeyError("invalid or revoked API key")
        info = _info(row)
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            with self.database.write() as conn:
                conn.execute(update(_keys).where(_keys.c.id == info.key_id).values(last_used_at=now))
        return info


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


def _require_client(conn, client_id: int) -> None:
    if conn.execute(select(_clients.c.id).where(_clients.c.id == _whole(client_id))).first() is None:
        raise NotFoundError(f"client {client_id} not found")


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotFoundError(f"id must be a whole number, got {value!r}")
    return value


def _label(name: str | None) -> str:
    text = "" if name is None else str(name).strip()
    if len(text) > MAX_LABEL:
        raise ForecastingError(f"API key name is longer than {MAX_LABEL} characters")
    return text
