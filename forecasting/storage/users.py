"""Users in the database: rows, the failed-login counter and lock, and session revocation times.

The rules themselves (how many failures lock an account, for how long, what
a password must be) belong to :class:`forecasting.services.users.UserService`;
this module only reads and writes, atomically where a login attempt needs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.storage import bulk
from forecasting.storage.clients import get as get_client
from forecasting.storage.ids import whole_id
from forecasting.storage.models import Client, LoginAddress, User, utcnow

_users = User.__table__
_clients = Client.__table__
_addresses = LoginAddress.__table__


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
class Claim:
    """A login attempt already counted as failed; ``locked_until`` is set when this very attempt locked the account."""

    user_id: int
    client_id: int
    password_hash: str
    locked_until: datetime | None


@dataclass(frozen=True)
class Refused:
    """An attempt refused without being counted: the account is locked until ``locked_until``.

    It carries the hash so that the refusal costs the same bcrypt check as any other attempt.
    """

    password_hash: str
    locked_until: datetime


def insert_user(conn: Connection, client_id: int, **values: object) -> int:
    """A new user row of the client; a taken username is a ForecastingError."""
    get_client(conn, client_id)
    try:
        with conn.begin_nested():
            user_id = conn.execute(
                insert(_users).values(client_id=client_id, **values).returning(_users.c.id)
            ).scalar_one()
    except IntegrityError:
        raise ForecastingError(f"username {values.get('username')!r} is already taken") from None
    return int(user_id)


def by_username(conn: Connection, username: str) -> UserInfo | None:
    row = conn.execute(_select_users().where(_users.c.username == username)).mappings().first()
    return None if row is None else _info(row)


def get(conn: Connection, client_id: int, user_id: int) -> UserInfo:
    """The user of the client; another client's user is not found, like a missing one."""
    row = None
    if not isinstance(client_id, bool) and not isinstance(user_id, bool) and isinstance(user_id, int):
        row = conn.execute(
            _select_users().where(_users.c.id == user_id, _users.c.client_id == client_id)
        ).mappings().first()
    if row is None:
        raise NotFoundError(f"user {user_id} not found for this client")
    return _info(row)


def of_client(conn: Connection, client_id: int) -> list[UserInfo]:
    """The client's users, by username."""
    get_client(conn, client_id)
    rows = conn.execute(_select_users().where(_users.c.client_id == client_id).order_by(_users.c.username))
    return [_info(r) for r in rows.mappings()]


def require_member(conn: Connection, client_id: int, user_id: int) -> None:
    """NotFoundError unless the user belongs to the client."""
    found = conn.execute(
        select(_users.c.id).where(_users.c.id == whole_id(user_id, "user id"), _users.c.client_id == client_id)
    ).first()
    if found is None:
        raise NotFoundError(f"user {user_id} not found for this client")


def set_values(conn: Connection, client_id: int, user_id: int, **values: object) -> None:
    changed = conn.execute(
        update(_users).where(_users.c.id == user_id, _users.c.client_id == client_id).values(**values)
    ).rowcount
    if not changed:
        raise NotFoundError(f"user {user_id} not found for this client")


def claim_attempt(
    conn: Connection,
    now: datetime,
    max_failures: int,
    lock_for: timedelta,
    *,
    username: str | None = None,
    client_id: int | None = None,
    user_id: int | None = None,
) -> Claim | Refused | None:
    """Count a login attempt as failed before the password is checked; None when no such user exists.

    The user is named by ``username`` (a login) or by ``client_id`` and
    ``user_id`` (a password change). The claim that makes the count reach
    ``max_failures`` locks the account at once (and resets the count). A
    locked account is :class:`Refused`, uncounted.
    """
    if username is not None:
        where = (_users.c.username == username,)
    else:
        where = (_users.c.id == user_id, _users.c.client_id == client_id)
    reaches_limit = _users.c.failed_logins + 1 >= max_failures
    lock_end = literal(now + lock_for, _users.c.locked_until.type)
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
        return Refused(row["password_hash"], row["locked_until"])
    return Claim(row["id"], row["client_id"], row["password_hash"], claimed.locked_until)


def confirm_attempt(conn: Connection, claim: Claim, now: datetime, **values: object) -> datetime | None:
    """The password was right: clear the count and write ``values``, unless the account got locked meanwhile.

    Returns None when confirmed, else the end of the lock that refuses it.
    """
    allowed = _not_locked(now) if claim.locked_until is None else _users.c.locked_until == claim.locked_until
    current = conn.execute(_select_for_claim().where(_users.c.id == claim.user_id)).mappings().one()
    changed = conn.execute(
        update(_users)
        .where(_users.c.id == claim.user_id, allowed)
        .values(failed_logins=0, locked_until=None, **values)
    ).rowcount
    return None if changed else current["locked_until"]


@dataclass(frozen=True)
class AddressClaim:
    """A login attempt from an address, counted as failed before its password is checked.

    ``window_started_at`` names the count it went into; ``blocked_until`` is set when this very attempt
    reached the limit and blocked the address (:func:`uncount_address` takes both back on a success).
    """

    address: str
    window_started_at: datetime
    blocked_until: datetime | None


def claim_address(
    conn: Connection, address: str, now: datetime, max_failures: int, window: timedelta, block_for: timedelta
) -> AddressClaim | datetime:
    """Count a login attempt from the address as failed, before any password is checked; or the end of its block.

    One locked row per address (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction locks the file), so
    parallel attempts are counted one after the other: the ``max_failures``-th within ``window`` blocks the
    address for ``block_for`` and every later one is refused uncounted until the block ends. A count older
    than the window, or one that ended in a block that is over, starts again from zero. Counting never lifts
    a block.
    """
    conn.execute(
        bulk.insert_on_conflict(conn, _addresses)
        .values(address=address, failures=0, window_started_at=now)
        .on_conflict_do_nothing()
    )
    row = conn.execute(
        select(_addresses.c.failures, _addresses.c.window_started_at, _addresses.c.blocked_until)
        .where(_addresses.c.address == address)
        .with_for_update()
    ).one()
    if row.blocked_until is not None and row.blocked_until > now:
        return row.blocked_until
    fresh = row.window_started_at <= now - window or row.failures >= max_failures
    failures = 1 if fresh else row.failures + 1
    started = now if fresh else row.window_started_at
    values: dict[str, object] = {"failures": failures, "window_started_at": started}
    if failures >= max_failures:
        values["blocked_until"] = now + block_for
    conn.execute(update(_addresses).where(_addresses.c.address == address).values(**values))
    return AddressClaim(address, started, values.get("blocked_until"))


def uncount_address(conn: Connection, claim: AddressClaim) -> None:
    """The attempt's password was right: take it out of the address's count (and lift the block it set).

    Only the count it went into is changed; a block set by another attempt stays.
    """
    lift = case((_addresses.c.blocked_until == claim.blocked_until, None), else_=_addresses.c.blocked_until)
    conn.execute(
        update(_addresses)
        .where(_addresses.c.address == claim.address, _addresses.c.window_started_at == claim.window_started_at,
               _addresses.c.failures > 0)
        .values(failures=_addresses.c.failures - 1,
                blocked_until=_addresses.c.blocked_until if claim.blocked_until is None else lift)
    )


def _select_users():
    return select(_users, _clients.c.name.label("client_name")).join(_clients, _clients.c.id == _users.c.client_id)


def _select_for_claim():
    """The columns a login attempt needs, with the row locked for the transaction (PostgreSQL; SQLite locks it all)."""
    return select(_users.c.id, _users.c.client_id, _users.c.password_hash, _users.c.locked_until).with_for_update()


def _not_locked(now: datetime):
    return or_(_users.c.locked_until.is_(None), _users.c.locked_until <= now)


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
