"""The login cookie reader: every forged, tampered, garbage or expired cookie is refused, a good one is read."""
from __future__ import annotations

import jwt
import pytest

from app.login_cookie import CookieRejected, LoginCookie, read_login_cookie
from tests.support.cookies import forged_cookies, part

KEY = "k" * 64
NOW = 1_770_000_000.0
LATER = NOW + 7 * 86400
FORGED = forged_cookies(KEY, "planner", NOW)


def test_a_cookie_signed_with_the_key_is_read():
    token = jwt.encode({"username": "planner", "exp_date": LATER}, KEY, algorithm="HS256")
    assert read_login_cookie(token, KEY, NOW) == LoginCookie("planner", LATER)


@pytest.mark.parametrize("kind", FORGED)
def test_a_forged_tampered_garbage_or_expired_cookie_is_refused(kind):
    with pytest.raises(CookieRejected):
        read_login_cookie(FORGED[kind], KEY, NOW)


def test_a_tampered_payload_is_refused_even_with_the_original_signature():
    header, _, signature = jwt.encode({"username": "planner", "exp_date": LATER}, KEY, algorithm="HS256").split(".")
    tampered = f"{header}.{part({'username': 'admin', 'exp_date': LATER})}.{signature}"
    with pytest.raises(CookieRejected, match="do not verify"):
        read_login_cookie(tampered, KEY, NOW)


def test_the_reason_is_named_for_the_log():
    with pytest.raises(CookieRejected, match="signed with 'none', not HS256"):
        read_login_cookie(FORGED["alg none"], KEY, NOW)
    with pytest.raises(CookieRejected, match="exp_date missing or not a number"):
        read_login_cookie(FORGED["missing exp_date"], KEY, NOW)
    with pytest.raises(CookieRejected, match="expired"):
        read_login_cookie(FORGED["expired"], KEY, NOW)
