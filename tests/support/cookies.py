"""Login cookies as an attacker would make them, for the cookie reader's tests and the browser test.

Made with PyJWT where it signs them, by hand (base64url parts) where the
algorithm needs a key we do not have (RS256) or PyJWT would not leave ``alg`` out.
"""
from __future__ import annotations

import base64
import json

import jwt


def part(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def hand_made(header: dict, payload: dict | list, signature: bytes = b"not-a-signature") -> str:
    return f"{part(header)}.{part(payload)}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def forged_cookies(key: str, username: str, now: float, lifetime_s: float = 7 * 86400) -> dict[str, str]:
    """Each kind of unreadable login cookie, by name; those signed with ``key`` are otherwise valid for ``username``."""
    later = now + lifetime_s
    good = {"username": username, "exp_date": later}
    return {
        "alg none": jwt.encode(good, None, algorithm="none"),
        "RS256": hand_made({"alg": "RS256", "typ": "JWT"}, good),
        "HS512": jwt.encode(good, key + key, algorithm="HS512"),
        "no alg": hand_made({"typ": "JWT"}, good),
        "another key": jwt.encode(good, "x" * 64, algorithm="HS256"),
        "missing exp_date": jwt.encode({"username": username}, key, algorithm="HS256"),
        "non-numeric exp_date": jwt.encode({"username": username, "exp_date": "tomorrow"}, key, algorithm="HS256"),
        "boolean exp_date": jwt.encode({"username": username, "exp_date": True}, key, algorithm="HS256"),
        "expired": jwt.encode({"username": username, "exp_date": now - 1}, key, algorithm="HS256"),
        "no username": jwt.encode({"exp_date": later}, key, algorithm="HS256"),
        "username not text": jwt.encode({"username": [username], "exp_date": later}, key, algorithm="HS256"),
        "payload not an object": hand_made({"alg": "HS256"}, [username]),
        "garbage": "garbage",
        "empty parts": "..",
        "not base64": "@@@.###.$$$",
    }
