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
from datetime import timedelta
from typing import NamedTuple

from forecasting.core.errors import ForecastingError
from forecasting.storage import api_keys as stored
from forecasting.storage.api_keys import ApiKeyInfo
from forecasting.storage.database import Database
from forecasting.storage.models import API_KEY_LABEL_LENGTH, utcnow

__all__ = ["ApiKeyInfo", "ApiKeyService", "CreatedApiKey", "InvalidApiKeyError", "KEY_PREFIX", "hash_key"]

KEY_PREFIX = "fck_"
#: characters of the key kept in clear for lists ("fck_" plus 8 of the 43 random ones)
SHOWN_PREFIX = len(KEY_PREFIX) + 8
#: longer header values are refused without touching the database
MAX_KEY_LENGTH = 200
#: ``last_used_at`` is written at most this often per key (it costs a write transaction)
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidApiKeyError(ForecastingError):
    """A presented key that is malformed, unknown or revoked (the message never says which)."""


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
            key_id = stored.insert_key(conn, client_id, label, key[:SHOWN_PREFIX], hash_key(key), created_by)
        return CreatedApiKey(key_id, key)

    def list_keys(self, client_id: int, include_revoked: bool = True) -> list[ApiKeyInfo]:
        """The client's keys, newest first."""
        with self.database.read() as conn:
            return stored.of_client(conn, client_id, include_revoked)

    def revoke(self, client_id: int, key_id: int) -> ApiKeyInfo:
        """Stop the key working from the next request on; revoking a revoked key changes nothing."""
        with self.database.write() as conn:
            return stored.revoke(conn, client_id, key_id)

    def verify(self, key: str) -> ApiKeyInfo:
        """The active key presented in a request (it tells the caller's client), else InvalidApiKeyError."""
        if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
            raise InvalidApiKeyError("invalid API key")
        with self.database.read() as conn:
            info = stored.active_by_hash(conn, hash_key(key))
        if info is None:
            raise InvalidApiKeyError("invalid or revoked API key")
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            with self.database.write() as conn:
                stored.note_use(conn, info.key_id, now)
        return info


def _label(name: str | None) -> str:
    text = "" if name is None else str(name).strip()
    if len(text) > API_KEY_LABEL_LENGTH:
        raise ForecastingError(f"API key name is longer than {API_KEY_LABEL_LENGTH} characters")
    return text
