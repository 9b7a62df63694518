"""Reading the login cookie without trusting it (docs/security.md).

The cookie is streamlit-authenticator's: a JWT ``{"username", "exp_date"}``
signed with HS256 and the cookie key. Its own reader lets forged tokens
through to errors (``alg`` none, RS256 or HS512 raise ``InvalidAlgorithmError``,
a missing or non-numeric ``exp_date`` raises ``KeyError`` or ``TypeError``),
so the app reads the cookie here instead: anything but a well-formed,
HS256-signed, unexpired token of that shape is :class:`CookieRejected`, and
the caller treats it as no login.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"


class CookieRejected(Exception):
    """The cookie is not a login: forged, tampered with, garbage or expired (the message says which, for the log)."""


@dataclass(frozen=True)
class LoginCookie:
    username: str
    #: when the cookie expires (epoch seconds); its issue time is this minus the cookie lifetime
    expires_at: float


def read_login_cookie(token: str, key: str, now: float) -> LoginCookie:
    """The login in ``token`` when it is signed with ``key`` (HS256) and unexpired at ``now`` (epoch seconds)."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise CookieRejected(f"not a signed token ({type(exc).__name__})") from None
    if algorithm != ALGORITHM:
        raise CookieRejected(f"signed with {algorithm!r}, not {ALGORITHM}")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM])
    except jwt.PyJWTError as exc:
        raise CookieRejected(f"signature or claims do not verify ({type(exc).__name__})") from None
    username, expires = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not username:
        raise CookieRejected("no username")
    if isinstance(expires, bool) or not isinstance(expires, (int, float)) or not math.isfinite(expires):
        raise CookieRejected("exp_date missing or not a number")
    if expires <= now:
        raise CookieRejected("expired")
    return LoginCookie(username, float(expires))
