"""REST API authentication: user tokens (lockout, expiry, revocation) and service keys, resolved to a
client by one dependency; the JWT secret rules of production mode (SQLite and PostgreSQL)."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasting.api.app import create_app
from forecasting.api.security import TokenIssuer
from forecasting.api.settings import ApiSettings, ConfigurationError
from forecasting.services.users import LOGIN_FAILED, MAX_FAILED_LOGINS_PER_ADDRESS, UserInfo
from tests.support.api import PASSWORD, SECRET

TOKEN = "/api/v1/auth/token"
ITEMS = "/api/v1/items"


def _login(api, username: str, password: str = PASSWORD):
    return api.http.post(TOKEN, json={"username": username, "password": password})


def _user(api, client_id: int, username: str) -> UserInfo:
    return api.users.create_user(client_id, username, PASSWORD)


def _assert_401(response, detail: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert "Bearer" in response.headers["www-authenticate"]


def test_a_users_token_acts_for_the_users_client_and_expires_in_15_minutes(api):
    before = time.time()
    response = _login(api, "bob")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["client_id"] == api.b and body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(api.bob) and claims["cid"] == api.b
    assert before <= claims["iat"] <= time.time() and claims["exp"] - claims["iat"] == pytest.approx(900)

    items = api.http.get(ITEMS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert items.status_code == 200 and items.json()["client_id"] == api.b


def test_a_service_key_acts_for_its_client(api):
    items = api.http.get(ITEMS, headers={"X-API-Key": api.key_a})
    assert items.status_code == 200 and items.json()["client_id"] == api.a


def test_wrong_passwords_and_unknown_users_get_the_same_401(api):
    _user(api, api.a, "wrong-pw")
    _assert_401(_login(api, "wrong-pw", "not-the-password"), LOGIN_FAILED)
    _assert_401(_login(api, "nobody-here"), LOGIN_FAILED)
    assert _login(api, "", PASSWORD).status_code == 422


def test_five_failed_logins_lock_the_account_with_the_same_answer_as_unknown_users(api):
    user = _user(api, api.a, "locky")
    for _ in range(5):
        _assert_401(_login(api, "locky", "bad-password"), LOGIN_FAILED)
    assert api.users.get_user(api.a, user.user_id).is_locked()
    _assert_401(_login(api, "locky", "bad-password"), LOGIN_FAILED)  # locked, wrong password: nothing told
    right = _login(api, "locky")  # only the right password learns of the lock
    assert right.status_code == 401 and right.json()["detail"].startswith("the account is locked")

    api.users.unlock(api.a, user.user_id)
    assert _login(api, "locky").status_code == 200


def test_failed_logins_are_throttled_by_the_callers_address(api):
    """After 20 failures from one address, its logins are refused before any account is tried; others log in."""
    with TestClient(api.app, client=("203.0.113.9", 50000)) as attacker:
        login = lambda username, password=PASSWORD: attacker.post(  # noqa: E731
            TOKEN, json={"username": username, "password": password})
        for i in range(MAX_FAILED_LOGINS_PER_ADDRESS):
            _assert_401(login(f"nobody-{i}"), LOGIN_FAILED)
        blocked = login("bob")  # the right password, from the blocked address
        assert blocked.status_code == 401
        assert blocked.json()["detail"].startswith("too many failed logins from your address: try again after")
    assert api.users.get_user(api.b, api.bob).failed_logins == 0
    assert _login(api, "bob").status_code == 200  # from another address


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "not authenticated: send 'Authorization: Bearer <token>' (from POST /api/v1/auth/token) "
             "or an 'X-API-Key' header"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid access token"),
        ({"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}, "not authenticated: send 'Authorization: Bearer <token>' "
                                                         "(from POST /api/v1/auth/token) or an 'X-API-Key' header"),
        ({"X-API-Key": "fck_" + "A" * 43}, "invalid or revoked API key"),
        ({"X-API-Key": "no-prefix"}, "invalid API key"),
    ],
)
def test_missing_or_bad_credentials_are_401(api, headers, detail):
    _assert_401(api.http.get(ITEMS, headers=headers), detail)


def test_forged_expired_or_foreign_tokens_are_401(api):
    user = api.users.get_user(api.a, api.alice)
    other_secret = TokenIssuer(ApiSettings("another-secret-" + "y" * 40)).issue(user).token
    _assert_401(api.http.get(ITEMS, headers={"Authorization": f"Bearer {other_secret}"}), "invalid access token")

    expired = TokenIssuer(ApiSettings(SECRET)).issue(user, now=time.time() - 901).token
    _assert_401(api.http.get(ITEMS, headers={"Authorization": f"Bearer {expired}"}),
                "the access token has expired: request a new one")

    unsigned = jwt.encode({"sub": str(api.alice), "cid": api.a, "iat": time.time(), "exp": time.time() + 60,
                           "typ": "access"}, key=None, algorithm="none")
    _assert_401(api.http.get(ITEMS, headers={"Authorization": f"Bearer {unsigned}"}), "invalid access token")

    # a token whose client claim is not the user's client does not name a user
    wrong_client = jwt.encode({"sub": str(api.alice), "cid": api.b, "iat": time.time(), "exp": time.time() + 60,
                               "typ": "access"}, SECRET, algorithm="HS256")
    _assert_401(api.http.get(ITEMS, headers={"Authorization": f"Bearer {wrong_client}"}),
                "the access token's user no longer exists")


def test_both_ways_at_once_are_refused(api):
    headers = {"X-API-Key": api.key_a, **api.bearer("alice")}
    _assert_401(api.http.get(ITEMS, headers=headers), "send either a bearer token or an X-API-Key header, not both")


def test_logout_password_change_and_deletion_revoke_tokens_already_issued(api):
    user = _user(api, api.a, "leaver")
    first = api.bearer("leaver")
    assert api.http.get(ITEMS, headers=first).status_code == 200

    api.users.logout(api.a, user.user_id)
    revoked = "the access token was revoked by a logout or password change: log in again"
    _assert_401(api.http.get(ITEMS, headers=first), revoked)
    second = api.bearer("leaver")
    assert api.http.get(ITEMS, headers=second).status_code == 200

    api.users.change_password(api.a, user.user_id, PASSWORD, "another-password-2")
    _assert_401(api.http.get(ITEMS, headers=second), revoked)
    third = {"Authorization": f"Bearer {api.token('leaver', 'another-password-2')}"}
    assert api.http.get(ITEMS, headers=third).status_code == 200

    with api.database.write() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.user_id})
    _assert_401(api.http.get(ITEMS, headers=third), "the access token's user no longer exists")


def test_a_revoked_key_stops_working_at_once(api):
    created = api.keys.create(api.a, "temporary")
    headers = {"X-API-Key": created.key}
    assert api.http.get(ITEMS, headers=headers).status_code == 200
    api.keys.revoke(api.a, created.key_id)
    _assert_401(api.http.get(ITEMS, headers=headers), "invalid or revoked API key")


# --- settings (no database needed) ---------------------------------------------------------------


def test_production_mode_refuses_to_start_without_a_secret(tmp_path):
    env = {"FORECASTING_ENV": "production"}
    with pytest.raises(ConfigurationError, match="FORECASTING_JWT_SECRET is not set: refusing to start"):
        ApiSettings.from_env(env)
    url = f"sqlite:///{tmp_path / 'never.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORECASTING_ENV", "production")
        patch.delenv("FORECASTING_JWT_SECRET", raising=False)
        with pytest.raises(ConfigurationError):
            create_app(url)
    assert not (tmp_path / "never.db").exists()  # refused before touching the database

    settings = ApiSettings.from_env({**env, "FORECASTING_JWT_SECRET": SECRET, "FORECASTING_JWT_MINUTES": "5"})
    assert settings.production and settings.jwt_secret == SECRET
    assert settings.token_lifetime == timedelta(minutes=5) and not settings.secret_generated


def test_development_mode_makes_a_random_secret_per_process_and_says_so(caplog):
    with caplog.at_level(logging.WARNING, logger="forecasting.api"):
        first, second = ApiSettings.from_env({}), ApiSettings.from_env({"FORECASTING_ENV": "development"})
    assert first.secret_generated and second.secret_generated
    assert first.jwt_secret != second.jwt_secret and len(first.jwt_secret) >= 32
    assert "FORECASTING_JWT_SECRET is not set: signing tokens with a random secret" in caplog.text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FORECASTING_JWT_SECRET": "short"}, "must be at least 32 bytes"),
        ({"FORECASTING_JWT_SECRET": SECRET, "FORECASTING_JWT_MINUTES": "0"}, "FORECASTING_JWT_MINUTES must be"),
        ({"FORECASTING_JWT_SECRET": SECRET, "FORECASTING_JWT_MINUTES": "soon"}, "FORECASTING_JWT_MINUTES must be"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env, message):
    with pytest.raises(ConfigurationError, match=message):
        ApiSettings.from_env(env)
