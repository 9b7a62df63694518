"""Users: bcrypt passwords, login with lockout, roles, and session revocation.

Rules (docs/security.md): passwords are stored only as bcrypt hashes; failed
logins are counted in the database and 5 in a row lock the account for 15
minutes; logging out or changing a password moves ``sessions_valid_after``
forward, so login cookies issued before then stop working in every browser.
Every method except :meth:`UserService.authenticate` and
:meth:`UserService.by_username` (which tell the caller the user's client)
takes the client id, and an admin manages only the users of their own client.
The reads and writes are :mod:`forecasting.storage.users`.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import bcrypt

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.storage import users as stored
from forecasting.storage.database import Database
from forecasting.storage.models import ROLES, utcnow
from forecasting.storage.users import AddressClaim, Claim, Refused, UserInfo

__all__ = ["LOGIN_FAILED", "AuthenticationError", "UserInfo", "UserService", "validate_password"]

MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt 5: rejects) anything longer
MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
#: failed logins from one client address within ADDRESS_WINDOW that block the address for LOCK_DURATION
MAX_FAILED_LOGINS_PER_ADDRESS = 20
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LENGTH = 64
#: the one answer to every refused login (docs/security.md): the same words whether the username exists,
#: the password is wrong or the account is locked, so that a login form cannot tell which usernames exist
LOGIN_FAILED = (
    f"wrong username or password (after {MAX_FAILED_LOGINS} failed logins in a row an account is locked for "
    f"{LOCK_DURATION.seconds // 60} minutes)"
)
DEFAULT_BCRYPT_ROUNDS = 12
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")


class AuthenticationError(ForecastingError):
    """A refused login (:data:`LOGIN_FAILED`), a blocked address, or a locked account whose password was right."""


def validate_password(password: str) -> bytes:
    """The password as UTF-8 bytes; 8 to 72 bytes (bcrypt's limit), not only spaces."""
    if not isinstance(password, str):
        raise ForecastingError("password must be text")
    raw = password.encode("utf-8")
    if not MIN_PASSWORD_BYTES <= len(raw) <= MAX_PASSWORD_BYTES:
        raise ForecastingError(
            f"password must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long in UTF-8 "
            f"(this one is {len(raw)}; accented letters and symbols take 2 to 4 bytes)"
        )
    if not password.strip():
        raise ForecastingError("password must not be only spaces")
    return raw


class UserService:
    """Creates, authenticates and manages users; see the module docstring for the rules."""

    def __init__(self, database: Database, bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS):
        self.database = database
        self.bcrypt_rounds = bcrypt_rounds
        #: checked when the username is unknown: the same cost as a user's hash (made now, not on a first login)
        self._dummy_hash = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(bcrypt_rounds))


    def hash_password(self, password: str) -> str:
        return bcrypt.hashpw(validate_password(password), bcrypt.gensalt(self.bcrypt_rounds)).decode("ascii")

    def create_user(
        self,
        client_id: int,
        username: str,
        password: str,
        role: str = "planner",
        name: str = "",
        email: str = "",
    ) -> UserInfo:
        """A new user of the client; usernames are unique across all clients (login asks only for one)."""
        username = _username(username)
        if role not in ROLES:
            raise ForecastingError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        name, email = _text(name, "name", 200), _text(email, "email", 254)
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise ForecastingError(f"email {email!r} does not look like an email address")
        password_hash = self.hash_password(password)
        with self.database.write() as conn:
            user_id = stored.insert_user(
                conn, client_id, username=username, name=name, email=email, password_hash=password_hash, role=role
            )
        return self.get_user(client_id, user_id)

    def authenticate(
        self, username: str, password: str, now: datetime | None = None, address: str | None = None
    ) -> UserInfo:
        """The user (with their client) when the password is right and the account not locked.

        Every refusal says :data:`LOGIN_FAILED`, whether the username exists,
        the password is wrong or too long, or the account is locked, and costs
        the same work: exactly one bcrypt check of the same cost (against the
        user's hash, or a dummy one). Only the right password of a locked
        account learns that it is locked. A wrong password counts a failed
        login (the 5th in a row locks the account for 15 minutes) and a failure
        of the client ``address`` (20 in 15 minutes block the address for 15
        minutes; a blocked address is refused before any account is touched).
        Both are counted in one transaction *before* bcrypt runs, so parallel
        guesses cannot slip past either; a right password takes its counts back.
        """
        now = now or utcnow()
        raw = password.encode("utf-8") if isinstance(password, str) else b""
        address = None if address is None else str(address)[:ADDRESS_LENGTH]
        with self.database.write() as conn:  # both counts in one short transaction, before bcrypt
            counted = None
            if address is not None:
                counted = stored.claim_address(
                    conn, address, now, MAX_FAILED_LOGINS_PER_ADDRESS, ADDRESS_WINDOW, LOCK_DURATION
                )
                if isinstance(counted, datetime):
                    raise AuthenticationError(
                        f"too many failed logins from your address: try again after "
                        f"{counted.astimezone(timezone.utc):%H:%M} UTC"
                    )
            claim = stored.claim_attempt(conn, now, MAX_FAILED_LOGINS, LOCK_DURATION, username=str(username).strip())
        right = _password_matches(raw, self._dummy_hash if claim is None else claim.password_hash.encode("ascii"))
        if claim is None or not right:
            raise AuthenticationError(LOGIN_FAILED)  # both counts stay
        if isinstance(claim, Refused):
            self._uncount_address(counted)  # the right password of a locked account is no guess
            raise AuthenticationError(_locked_message(claim.locked_until, now))
        self._confirm_attempt(claim, now, counted, last_login_at=now)
        return self.get_user(claim.client_id, claim.user_id)

    def _uncount_address(self, counted: AddressClaim | None) -> None:
        if counted is not None:
            with self.database.write() as conn:
                stored.uncount_address(conn, counted)

    def _claim_attempt(self, now: datetime, **who: object) -> Claim | Refused | None:
        """Count an attempt as failed before checking it; None when no such user exists.

        A locked account is :class:`Refused` (uncounted). :meth:`_confirm_attempt`
        takes the count (and this claim's own lock) back when the password
        turns out right. A crash between the two leaves the attempt counted,
        never uncounted.
        """
        with self.database.write() as conn:
            return stored.claim_attempt(conn, now, MAX_FAILED_LOGINS, LOCK_DURATION, **who)

    def _confirm_attempt(
        self, claim: Claim, now: datetime, counted: AddressClaim | None = None, **values: object
    ) -> None:
        """The password was right: clear the count and write ``values``, unless the account got locked meanwhile;
        the address's count (``counted``) is taken back either way."""
        with self.database.write() as conn:
            if counted is not None:
                stored.uncount_address(conn, counted)
            locked_until = stored.confirm_attempt(conn, claim, now, **values)
        if locked_until is not None:
            raise AuthenticationError(_locked_message(locked_until, now))

    def by_username(self, username: str) -> UserInfo:
        """The user and their client, for checking a login cookie (which names only the user)."""
        with self.database.read() as conn:
            user = stored.by_username(conn, str(username).strip())
        if user is None:
            raise NotFoundError(f"user {username!r} not found")
        return user

    def get_user(self, client_id: int, user_id: int) -> UserInfo:
        with self.database.read() as conn:
            return stored.get(conn, client_id, user_id)

    def list_users(self, client_id: int) -> list[UserInfo]:
        """The client's users, by username."""
        with self.database.read() as conn:
            return stored.of_client(conn, client_id)

    def session_is_valid(self, client_id: int, user_id: int, issued_at: datetime) -> bool:
        """False for a login cookie issued before the user's last logout or password change.

        ``issued_at`` must be timezone-aware and at full precision (e.g. from ``time.time()``).
        """
        if issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")
        user = self.get_user(client_id, user_id)
        return issued_at >= user.sessions_valid_after

    def logout(self, client_id: int, user_id: int) -> None:
        """Void every login cookie issued so far, in every browser."""
        self._update(client_id, user_id, sessions_valid_after=utcnow())

    def change_password(self, client_id: int, user_id: int, old_password: str, new_password: str) -> None:
        """The user's own change: needs the current password; voids existing login cookies.

        A wrong current password counts as a failed login (a stolen session must
        not allow unlimited guesses), and a locked account cannot change it.
        """
        if isinstance(user_id, bool) or not isinstance(user_id, int) or isinstance(client_id, bool):
            raise NotFoundError(f"user {user_id} not found for this client")
        validate_password(new_password)
        now = utcnow()
        raw = old_password.encode("utf-8") if isinstance(old_password, str) else b""
        claim = self._claim_attempt(now, client_id=client_id, user_id=user_id)
        if claim is None:
            raise NotFoundError(f"user {user_id} not found for this client")
        if isinstance(claim, Refused):
            raise AuthenticationError(_locked_message(claim.locked_until, now))
        if not _password_matches(raw, claim.password_hash.encode("ascii")):
            wrong = "the current password is wrong"
            if claim.locked_until is None:
                raise AuthenticationError(wrong)
            raise AuthenticationError(f"{wrong}; {_locked_message(claim.locked_until, now, just_locked=True)}")
        self._confirm_attempt(claim, now, password_hash=self.hash_password(new_password), sessions_valid_after=utcnow())

    def reset_password(self, client_id: int, user_id: int, new_password: str) -> None:
        """An admin's reset: sets a new password, unlocks, voids existing login cookies."""
        self._update(
            client_id,
            user_id,
            password_hash=self.hash_password(new_password),
            sessions_valid_after=utcnow(),
            failed_logins=0,
            locked_until=None,
        )

    def unlock(self, client_id: int, user_id: int) -> None:
        """An admin lifts a lockout before its 15 minutes are over."""
        self._update(client_id, user_id, failed_logins=0, locked_until=None)

    def _update(self, client_id: int, user_id: int, **values: object) -> None:
        with self.database.write() as conn:
            stored.set_values(conn, client_id, user_id, **values)


def _password_matches(raw: bytes, password_hash: bytes) -> bool:
    """One bcrypt check whatever the input: a length no valid password has is checked too (cut to
    bcrypt's 72 bytes) and then refused, so that it costs what any wrong password costs."""
    matches = bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], password_hash)
    return matches and MIN_PASSWORD_BYTES <= len(raw) <= MAX_PASSWORD_BYTES


def _username(username: str) -> str:
    text = str(username).strip()
    if not USERNAME_PATTERN.fullmatch(text):
        raise ForecastingError(
            "username must be 3 to 64 characters: letters, digits and . _ @ - (no spaces)"
        )
    return text


def _text(value: str | None, label: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise ForecastingError(f"{label} is longer than {limit} characters")
    return text


def _locked_message(until: datetime, now: datetime, just_locked: bool = False) -> str:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    start = (
        f"{MAX_FAILED_LOGINS} failed logins in a row: the account is locked"
        if just_locked
        else "the account is locked after repeated failed logins"
    )
    return (
        f"{start} until {until.astimezone(timezone.utc):%H:%M} UTC (about {minutes} minute"
        f"{'s' if minutes > 1 else ''}); try again then, or ask an admin to unlock it"
    )
