"""Users: bcrypt passwords, login with lockout, roles, and session revocation.

Rules (DESIGN.md 5): passwords are stored only as bcrypt hashes; failed logins
are counted in the database and 5 in a row lock the account for 15 minutes;
logging out or changing a password moves ``sessions_valid_after`` forward, so
login cookies issued before then stop working in every browser. Every method
except :meth:`UserService.authenticate` and :meth:`UserService.by_username`
(which tell the caller the user's client) takes the client id, and an admin
manages only the users of their own client.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property

import bcrypt
from sqlalchemy import Connection, case, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.storage.database import Database
from forecasting.storage.models import ROLES, Client, User, utcnow

MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt 5: rejects) anything longer
MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
DEFAULT_BCRYPT_ROUNDS = 12
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")
_users = User.__table__
_clients = Client.__table__


class AuthenticationError(ForecastingError):
    """Wrong username or password, or a locked account (the message says which, and until when)."""


@dataclass(frozen=True)
class UserInfo:
    """A user as the app shows it (never the password hash)."""

    user_id: int
    client_id: int
    client_name: str
    username: str
    name: str
    email: str
    role: str
    failed_logins: int
    locked_until: datetime | None
    sessions_valid_after: datetime
    last_login_at: datetime | None

    @property
    def roles(self) -> list[str]:
        """streamlit-authenticator's ``roles`` list."""
        return [self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


@dataclass(frozen=True)
class _Claim:
    """An attempt already counted as failed; ``locked_until`` is set when this very attempt locked the account."""

    user_id: int
    client_id: int
    password_hash: str
    locked_until: datetime | None


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

    @cached_property
    def _dummy_hash(self) -> bytes:
        """Checked when the username is unknown, so that both cases cost one bcrypt check."""
        return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(self.bcrypt_rounds))

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
        try:
            with self.database.write() as conn:
                _client_name(conn, client_id)
                user_id = conn.execute(
                    insert(_users)
                    .values(
                        client_id=client_id,
                        username=username,
                        name=name,
                        email=email,
                        password_hash=password_hash,
                        role=role,
                    )
                    .returning(_users.c.id)
                ).scalar_one()
        except IntegrityError:
            raise ForecastingError(f"username {username!r} is already taken") from None
        return self.get_user(client_id, int(user_id))

    def authenticate(self, username: str, password: str, now: datetime | None = None) -> UserInfo:
        """The user (with their client) when the password is right and the account not locked.

        A wrong password counts a failed login; the 5th in a row locks the
        account for 15 minutes. While locked, even the right password is refused.
        Each attempt is counted *before* bcrypt runs (see :meth:`_claim_attempt`),
        so parallel guesses cannot slip past the lock.
        """
        now = now or utcnow()
        raw = password.encode("utf-8") if isinstance(password, str) else b""
        claim = self._claim_attempt(now, _users.c.username == str(username).strip())
        if claim is None:
            bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], self._dummy_hash)
            raise AuthenticationError("wrong username or password")
        if not _password_matches(raw, claim.password_hash):
            if claim.locked_until is None:
                raise AuthenticationError("wrong username or password")  # the same words as for an unknown username
            raise AuthenticationError(_locked_message(claim.locked_until, now, just_locked=True))
        self._confirm_attempt(claim, now, last_login_at=now)
        return self.get_user(claim.client_id, claim.user_id)

    def _claim_attempt(self, now: datetime, *where) -> _Claim | None:
        """Count an attempt as failed before checking it; None when no user matches ``where``.

        Raises AuthenticationError (with the end time) while the account is
        locked. The claim that makes the count reach 5 locks the account at once;
        :meth:`_confirm_attempt` takes the count (and that claim's own lock) back
        when the password turns out right. A crash between the two leaves the
        attempt counted, never uncounted.
        """
        reaches_limit = _users.c.failed_logins + 1 >= MAX_FAILED_LOGINS
        lock_end = literal(now + LOCK_DURATION, _users.c.locked_until.type)
        with self.database.write() as conn:
            row = conn.execute(_select_for_claim().where(*where)).mappings().first()
            if row is None:
                return None
            claimed = conn.execute(
                update(_users)
                .where(_users.c.id == row["id"], _not_locked(now))
                .values(
                    failed_logins=case((reaches_limit, 0), else_=_users.c.failed_logins + 1),
                    locked_until=case((reaches_limit, lock_end), else_=None),
                )
                .returning(_users.c.locked_until)
            ).first()
        if claimed is None:
            raise AuthenticationError(_locked_message(row["locked_until"], now))
        return _Claim(row["id"], row["client_id"], row["password_hash"], claimed.locked_until)

    def _confirm_attempt(self, claim: _Claim, now: datetime, **values: object) -> None:
        """The password was right: clear the count and write ``values``, unless the account got locked meanwhile."""
        allowed = _not_locked(now) if claim.locked_until is None else _users.c.locked_until == claim.locked_until
        with self.database.write() as conn:
            current = conn.execute(_select_for_claim().where(_users.c.id == claim.user_id)).mappings().one()
            changed = conn.execute(
                update(_users)
                .where(_users.c.id == claim.user_id, allowed)
                .values(failed_logins=0, locked_until=None, **values)
            ).rowcount
        if not changed:
            raise AuthenticationError(_locked_message(current["locked_until"], now))

    def by_username(self, username: str) -> UserInfo:
        """The user and their client, for checking a login cookie (which names only the user)."""
        with self.database.read() as conn:
            row = _user_row(conn, username=str(username).strip())
        if row is None:
            raise NotFoundError(f"user {username!r} not found")
        return _info(row)

    def get_user(self, client_id: int, user_id: int) -> UserInfo:
        with self.database.read() as conn:
            row = _user_row(conn, client_id=client_id, user_id=user_id)
        if row is None:
            raise NotFoundError(f"user {user_id} not found for this client")
        return _info(row)

    def list_users(self, client_id: int) -> list[UserInfo]:
        """The client's users, by username."""
        with self.database.read() as conn:
            _client_name(conn, client_id)
            rows = conn.execute(_select_users().where(_users.c.client_id == client_id).order_by(_users.c.username))
            return [_info(r) for r in rows.mappings()]

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
        if not _valid_ids(client_id, user_id):
            raise NotFoundError(f"user {user_id} not found for this client")
        validate_password(new_password)
        now = utcnow()
        raw = old_password.encode("utf-8") if isinstance(old_password, str) else b""
        claim = self._claim_attempt(now, _users.c.id == user_id, _users.c.client_id == client_id)
        if claim is None:
            raise NotFoundError(f"user {user_id} not found for this client")
        if not _password_matches(raw, claim.password_hash):
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
            changed = conn.execute(
                update(_users).where(_users.c.id == user_id, _users.c.client_id == client_id).values(**values)
            ).rowcount
        if not changed:
            raise NotFoundError(f"user {user_id} not found for this client")


def _select_users():
    return select(_users, _clients.c.name.label("client_name")).join(_clients, _clients.c.id == _users.c.client_id)


def _user_row(
    conn: Connection, *, username: str | None = None, client_id: int | None = None, user_id: int | None = None
):
    query = _select_users()
    if username is not None:
        query = query.where(_users.c.username == username)
    else:
        if not _valid_ids(client_id, user_id):
            return None
        query = query.where(_users.c.id == user_id, _users.c.client_id == client_id)
    return conn.execute(query).mappings().first()


def _valid_ids(client_id: object, user_id: object) -> bool:
    """Ids that can name a user (anything else names none, rather than failing in the database)."""
    return isinstance(user_id, int) and not isinstance(user_id, bool) and not isinstance(client_id, bool)


def _select_for_claim():
    """The columns a login attempt needs, with the row locked for the transaction (PostgreSQL; SQLite locks it all)."""
    return select(_users.c.id, _users.c.client_id, _users.c.password_hash, _users.c.locked_until).with_for_update()


def _not_locked(now: datetime):
    return or_(_users.c.locked_until.is_(None), _users.c.locked_until <= now)


def _password_matches(raw: bytes, password_hash: str) -> bool:
    """bcrypt check; a length bcrypt cannot take (or no valid password has) is simply wrong."""
    return MIN_PASSWORD_BYTES <= len(raw) <= MAX_PASSWORD_BYTES and bcrypt.checkpw(raw, password_hash.encode("ascii"))


def _client_name(conn: Connection, client_id: int) -> str:
    name = conn.execute(select(_clients.c.name).where(_clients.c.id == client_id)).scalar()
    if name is None:
        raise NotFoundError(f"client {client_id} not found")
    return name


def _info(row) -> UserInfo:
    return UserInfo(
        user_id=row["id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        username=row["username"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
        sessions_valid_after=row["sessions_valid_after"],
        last_login_at=row["last_login_at"],
    )


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
