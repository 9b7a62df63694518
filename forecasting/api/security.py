"""Who is calling: a user's short-lived JWT or a client's service API key, resolved to a client id.

Tokens are HS256 JWTs carrying the user id (``sub``), the client id (``cid``)
and the exact issue time (``iat`` with sub-second precision). Each request
checks the signature and expiry, then the user in the database: a user that
is gone, or whose ``sessions_valid_after`` (moved by logout and password
change) is later than the token's issue time, is refused, exactly like the
app's login cookies (docs/security.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt

from forecasting.api.settings import ApiSettings
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.services.users import UserInfo, UserService
from forecasting.services.api_keys import ApiKeyService, InvalidApiKeyError

ALGORITHM = "HS256"
TOKEN_TYPE = "access"


class NotAuthenticatedError(ForecastingError):
    """No credentials, or credentials that do not identify a caller (answered with 401)."""


@dataclass(frozen=True)
class Principal:
    """The caller of one request: always a client, and the user when a user's token was used."""

    client_id: int
    user_id: int | None = None
    api_key_id: int | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    expires_in: int


class TokenIssuer:
    """Signs and checks access tokens with the configured secret."""

    def __init__(self, settings: ApiSettings):
        self._secret = settings.jwt_secret
        self._lifetime = settings.token_lifetime.total_seconds()

    def issue(self, user: UserInfo, now: float | None = None) -> IssuedToken:
        issued = time.time() if now is None else now
        expires = issued + self._lifetime
        claims = {
            "sub": str(user.user_id),
            "cid": user.client_id,
            "iat": issued,
            "exp": expires,
            "typ": TOKEN_TYPE,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, datetime.fromtimestamp(expires, timezone.utc), int(self._lifetime))

    def decode(self, token: str) -> tuple[int, int, datetime]:
        """(user id, client id, issue time) of a valid, unexpired token; NotAuthenticatedError otherwise."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticatedError("the access token has expired: request a new one") from None
        except jwt.InvalidTokenError:
            raise NotAuthenticatedError("invalid access token") from None
        try:
            if claims.get("typ") != TOKEN_TYPE:
                raise ValueError
            user_id, client_id, issued = int(claims["sub"]), int(claims["cid"]), float(claims["iat"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise NotAuthenticatedError("invalid access token") from None
        return user_id, client_id, datetime.fromtimestamp(issued, timezone.utc)


def resolve_principal(
    token: str | None,
    api_key: str | None,
    issuer: TokenIssuer,
    users: UserService,
    keys: ApiKeyService,
) -> Principal:
    """The caller of a request from its bearer token or X-API-Key header (exactly one of them)."""
    if token and api_key:
        raise NotAuthenticatedError("send either a bearer token or an X-API-Key header, not both")
    if api_key:
        try:
            key = keys.verify(api_key)
        except InvalidApiKeyError as exc:
            raise NotAuthenticatedError(str(exc)) from None
        return Principal(client_id=key.client_id, api_key_id=key.key_id)
    if token:
        user_id, client_id, issued_at = issuer.decode(token)
        try:
            valid = users.session_is_valid(client_id, user_id, issued_at)
        except NotFoundError:
            raise NotAuthenticatedError("the access token's user no longer exists") from None
        if not valid:
            raise NotAuthenticatedError("the access token was revoked by a logout or password change: log in again")
        return Principal(client_id=client_id, user_id=user_id)
    raise NotAuthenticatedError(
        "not authenticated: send 'Authorization: Bearer <token>' (from POST /api/v1/auth/token) "
        "or an 'X-API-Key' header"
    )
