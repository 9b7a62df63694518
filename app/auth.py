"""Login, logout and session checks: streamlit-authenticator for the session and cookie, the database for the rest.

How the pieces fit (docs/security.md, docs/platform-notes.md):

- The password check, the failed-login count and the 5-failure / 15-minute
  lock are :meth:`UserService.authenticate` (bcrypt hashes in the users
  table). Only after it accepts does streamlit-authenticator log the user in
  (its session keys ``authentication_status``, ``username``, ``name``,
  ``roles``) and set its login cookie (a JWT of username and expiry signed
  with the cookie key).
- Its credentials dict is rebuilt from the users table on every run, holding
  only the user being logged in or checked, so a deleted user or a changed
  role takes effect at once and no session holds other users' rows.
- Revocation: the library's cookie survives logout in other browsers. Its
  issue time is its expiry minus the cookie lifetime; a cookie issued before
  the user's ``sessions_valid_after`` (moved by logout and password change) is
  ignored, and a live session is ended on its next run the same way.
- The cookie is read by :mod:`app.login_cookie`, not by the library: a
  forged, tampered, expired or garbage cookie is no login (logged once per
  session and deleted), never an error page.
- Failed logins are throttled by the browser's address as well as per
  account (:meth:`UserService.authenticate`).
- No ``st.rerun()`` right after setting or deleting the cookie: the cookie
  component has to reach the browser, so the page goes on rendering instead.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import streamlit as st
import streamlit_authenticator as stauth

from app import config
from app.login_cookie import CookieRejected, read_login_cookie
from app.widgets import sentence
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.services.users import AuthenticationError, UserInfo, UserService

#: session keys of this module (the library keeps its own as well)
USER_KEY = "auth_user"
ISSUED_KEY = "auth_issued_at"
NOTICE_KEY = "auth_notice"
#: session keys of streamlit-authenticator 0.4.2 and of its cookie component (kept at logout)
AUTHENTICATOR_KEYS = frozenset(
    {"authentication_status", "username", "name", "email", "roles", "logout", "password_hint", "init"}
)
SECONDS_PER_DAY = 86400.0

log = logging.getLogger("app")


@dataclass
class Session:
    """This run's authenticator and the user service it checks against."""

    authenticator: stauth.Authenticate
    credentials: dict
    users: UserService
    cookie_key: str

    def current_user(self) -> UserInfo | None:
        """The logged-in user (from this session or a still-valid cookie), or None.

        Renders nothing except the library's invisible cookie component.
        """
        if st.session_state.get("authentication_status") and st.session_state.get(USER_KEY) is not None:
            return self._still_valid()
        return self._from_cookie()

    def login_form(self) -> UserInfo | None:
        """The login form; returns the user when this run's submission logged them in."""
        holder = st.empty()
        with holder.container():
            _, middle, _ = st.columns([1, 1.3, 1])
            with middle:
                st.markdown("## Demand planning")
                notice = st.session_state.get(NOTICE_KEY)  # kept until the next login: reruns follow logout
                if notice:
                    st.info(notice)
                with st.form("login", clear_on_submit=False, enter_to_submit=True):
                    st.markdown("#### Log in")
                    username = st.text_input("Username", key="login_username", autocomplete="username")
                    password = st.text_input("Password", type="password", key="login_password",
                                             autocomplete="current-password")
                    submitted = st.form_submit_button("Log in", type="primary", width="stretch")
                message = st.empty()
        if not submitted:
            return None
        if not username.strip() or not password:
            message.error("Enter your username and password.")
            return None
        try:
            user = self.users.authenticate(username, password, address=client_address())
        except AuthenticationError as exc:
            message.error(sentence(str(exc)))
            return None
        holder.empty()
        st.session_state.pop("login_password", None)
        self._log_in(user, issued_at=time.time())
        self.authenticator.cookie_controller.set_cookie()
        return user

    def logout(self, user: UserInfo, notice: str = "You have logged out.") -> None:
        """Void the user's cookies everywhere, clear this session and delete this browser's cookie."""
        try:
            self.users.logout(user.client_id, user.user_id)
        finally:
            self._end_session()
            st.session_state[NOTICE_KEY] = notice

    def change_password(self, user: UserInfo, old: str, new: str, repeat: str) -> None:
        """Change the user's own password; other browsers are logged out, this one gets a fresh cookie."""
        if new != repeat:
            raise ForecastingError("the new passwords do not match")
        self.users.change_password(user.client_id, user.user_id, old, new)
        st.session_state[ISSUED_KEY] = time.time()
        self.authenticator.cookie_controller.set_cookie()

    # --- internals ---------------------------------------------------------------------

    def _still_valid(self) -> UserInfo | None:
        client_id, user_id = st.session_state[USER_KEY]
        try:
            user = self.users.get_user(client_id, user_id)
        except NotFoundError:
            self._end_session("Your account no longer exists. Please contact your admin.")
            return None
        issued = _aware(st.session_state.get(ISSUED_KEY, 0.0))
        if issued < user.sessions_valid_after:
            self._end_session("You were logged out (a logout or password change elsewhere). Please log in again.")
            return None
        self._register(user)
        st.session_state["roles"] = user.roles
        st.session_state["name"] = user.name or user.username
        return user

    def _from_cookie(self) -> UserInfo | None:
        token = st.context.cookies.get(config.COOKIE_NAME)
        if not token or st.session_state.get("logout"):  # none, or this session already set it aside
            return None
        try:
            cookie = read_login_cookie(token, self.cookie_key, time.time())
        except CookieRejected as exc:
            log.warning("login cookie ignored and deleted: %s", exc)
            st.session_state["logout"] = True
            self.authenticator.cookie_controller.delete_cookie()
            return None
        issued_at = cookie.expires_at - config.COOKIE_EXPIRY_DAYS * SECONDS_PER_DAY
        try:
            user = self.users.by_username(cookie.username)
            valid = self.users.session_is_valid(user.client_id, user.user_id, _aware(issued_at))
        except NotFoundError:
            valid = False
        if not valid:
            # a revoked or orphaned cookie: this session ignores it from now on (the library's own flag)
            st.session_state["logout"] = True
            return None
        self._log_in(user, issued_at)
        return user

    def _log_in(self, user: UserInfo, issued_at: float) -> None:
        self._register(user)
        self.authenticator.authentication_controller.login(token={"username": user.username})
        st.session_state[USER_KEY] = (user.client_id, user.user_id)
        st.session_state[ISSUED_KEY] = issued_at
        st.session_state["logout"] = None
        st.session_state.pop(NOTICE_KEY, None)

    def _register(self, user: UserInfo) -> None:
        """Put the user's row into this run's credentials dict (the library reads it by username)."""
        self.credentials["usernames"][user.username] = {
            "email": user.email,
            "first_name": user.name or user.username,
            "last_name": "",
            "roles": user.roles,
        }

    def _end_session(self, notice: str | None = None) -> None:
        if st.session_state.get("authentication_status"):
            self.authenticator.logout(location="unrendered")  # clears its keys, deletes the browser's cookie
        st.session_state["logout"] = True
        # everything the pages kept (results, item choices) belongs to this user's client: the next
        # login in this browser tab may be another client's user
        for key in list(st.session_state.keys()):
            if key not in AUTHENTICATOR_KEYS:
                del st.session_state[key]
        if notice:
            st.session_state[NOTICE_KEY] = notice


def start_session(users: UserService, cookie_key: str) -> Session:
    """This run's authenticator (its cookie component renders here, invisibly)."""
    credentials: dict = {"usernames": {}}
    authenticator = stauth.Authenticate(
        credentials,
        cookie_name=config.COOKIE_NAME,
        cookie_key=cookie_key,
        cookie_expiry_days=config.COOKIE_EXPIRY_DAYS,
        auto_hash=False,
        login_sleep_time=0,
    )
    return Session(authenticator, credentials, users, cookie_key)


def require_user(role: str | None = None) -> UserInfo:
    """Every page's own check: the logged-in user (and role), else a message and the page stops."""
    user = st.session_state.get("current_user")
    if not st.session_state.get("authentication_status") or user is None:
        st.warning("Please log in.")
        st.stop()
    if role is not None and user.role != role:
        st.error(f"This page is for {role}s only.")
        st.stop()
    return user


def client_address() -> str | None:
    """The browser's address, for the login throttle: Streamlit's TCP peer, or, when that is this host (a
    reverse proxy here, which Streamlit reports as None), the last ``X-Forwarded-For`` hop the proxy added."""
    if st.context.ip_address is not None:
        return st.context.ip_address
    forwarded = st.context.headers.get("X-Forwarded-For", "")
    return forwarded.rsplit(",", 1)[-1].strip() or None


def _aware(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(float(epoch_seconds), tz=timezone.utc)
