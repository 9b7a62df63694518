"""Users: bcrypt hashes, password rules, lockout after 5 failures, revocation, admin scope (both databases)."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import bcrypt
import pytest
from sqlalchemy import text

from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.services.data_access import DataAccess
from forecasting.services.users import (
    LOGIN_FAILED,
    MAX_FAILED_LOGINS_PER_ADDRESS,
    AuthenticationError,
    UserService,
    validate_password,
)

PASSWORD = "correct-horse-1"
#: the one answer to every refused login, as a pattern
FAILED = f"^{re.escape(LOGIN_FAILED)}$"


@pytest.fixture
def users(database):
    return UserService(database, bcrypt_rounds=4)


@pytest.fixture
def clients(database):
    data = DataAccess(database)
    return data.create_client("A").client_id, data.create_client("B").client_id


@pytest.fixture
def pat(users, clients):
    return users.create_user(clients[0], "pat", PASSWORD, "planner", name="Pat Planner", email="pat@example.com")


def _stored_hash(database, username):
    with database.read() as conn:
        return conn.execute(text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}).scalar_one()


def test_passwords_are_stored_only_as_bcrypt_hashes(users, database, pat):
    stored = _stored_hash(database, "pat")
    assert PASSWORD not in stored and stored.startswith("$2b$04$")
    assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())
    user = users.authenticate("pat", PASSWORD)
    assert (user.username, user.client_name, user.roles, user.name) == ("pat", "A", ["planner"], "Pat Planner")
    assert user.last_login_at is not None and not user.is_admin


@pytest.mark.parametrize(
    "password, message",
    [
        ("short-7", "8 to 72 bytes long in UTF-8 \\(this one is 7"),
        ("x" * 73, "this one is 73"),
        ("é" * 37, "this one is 74"),  # 37 characters, but 74 bytes
        ("        ", "only spaces"),
    ],
)
def test_password_rules_say_what_is_wrong(users, clients, password, message):
    with pytest.raises(ForecastingError, match=message):
        users.create_user(clients[0], "sam", password)
    assert validate_password("é" * 36) == ("é" * 36).encode()  # exactly 72 bytes is fine


def test_five_failures_in_a_row_lock_the_account_for_15_minutes(users, database, pat):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    for attempt in range(4):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate("pat", "wrong-password", now=now)
    assert users.get_user(pat.client_id, pat.user_id).failed_logins == 4
    with pytest.raises(AuthenticationError, match=FAILED):  # the 5th: locks, and says what an unknown user hears
        users.authenticate("pat", "wrong-password", now=now)
    assert users.get_user(pat.client_id, pat.user_id).locked_until == now + timedelta(minutes=15)
    # locked: a wrong password hears the same words again (uncounted) ...
    with pytest.raises(AuthenticationError, match=FAILED):
        users.authenticate("pat", "wrong-password", now=now + timedelta(minutes=5))
    # ... and only the right password learns of the lock, with the time it ends
    with pytest.raises(AuthenticationError, match="locked .* until 12:15 UTC \\(about 10 minutes\\)"):
        users.authenticate("pat", PASSWORD, now=now + timedelta(minutes=5))
    assert users.get_user(pat.client_id, pat.user_id).is_locked(now + timedelta(minutes=14))
    assert users.authenticate("pat", PASSWORD, now=now + timedelta(minutes=15, seconds=1)).failed_logins == 0


def test_a_success_resets_the_count(users, pat):
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            users.authenticate("pat", "wrong-password")
    user = users.authenticate("pat", PASSWORD)  # the 5th attempt: right, so no lock
    assert (user.failed_logins, user.locked_until) == (0, None)
    for _ in range(4):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate("pat", "wrong-password")


class CheckGate:
    """Wraps the real ``bcrypt.checkpw``: records each check and holds it until released.

    Holding every check until all requests have either reached bcrypt or been
    refused is the worst interleaving for a lockout (nothing fails before every
    guess is in), made deterministic without sleeping.
    """

    def __init__(self, real):
        self.real, self.checked, self.done = real, [], 0
        self.changed, self.release = threading.Condition(), threading.Event()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self.changed:
            self.checked.append(password)
            self.changed.notify_all()
        assert self.release.wait(timeout=60), "the test never released the bcrypt checks"
        return self.real(password, hashed)

    def run(self, call):
        """``call()``'s result or its exception; counted as done either way."""
        try:
            return call()
        except Exception as exc:
            return exc
        finally:
            with self.changed:
                self.done += 1
                self.changed.notify_all()

    def wait_until(self, predicate) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self), timeout=60), "requests did not arrive"


def test_parallel_guesses_cannot_get_past_the_lock(users, pat, monkeypatch):
    """20 wrong guesses arrive while the right password is being checked: 5 are counted, the lock holds."""
    gate = CheckGate(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", gate)
    start = threading.Barrier(20)

    def guess(password):
        start.wait(timeout=60)
        return gate.run(lambda: users.authenticate("pat", password))

    with ThreadPoolExecutor(max_workers=21) as pool:
        right = pool.submit(gate.run, lambda: users.authenticate("pat", PASSWORD))
        gate.wait_until(lambda g: len(g.checked) == 1)  # the right password is in bcrypt
        wrong = [pool.submit(guess, f"wrong-guess-{i}") for i in range(20)]
        gate.wait_until(lambda g: len(g.checked) == 21)  # every attempt costs one check, locked or not
        gate.release.set()
        outcomes = [str(f.result()) for f in wrong]

    assert gate.checked[0] == PASSWORD.encode()
    assert outcomes == [LOGIN_FAILED] * 20
    # the right password was checked before the lock, but the lock came first: refused
    assert isinstance(right.result(), AuthenticationError)
    assert str(right.result()).startswith("the account is locked after repeated failed logins until")
    user = users.get_user(pat.client_id, pat.user_id)
    assert user.is_locked() and user.last_login_at is None and user.failed_logins == 0  # counted to 5, then locked
    with pytest.raises(AuthenticationError, match="locked after repeated failed logins"):
        users.authenticate("pat", PASSWORD)
    later = user.locked_until + timedelta(seconds=1)
    assert users.authenticate("pat", PASSWORD, now=later).failed_logins == 0


def test_wrong_current_passwords_count_toward_the_lockout(users, pat):
    """A stolen session must not allow unlimited guesses through the password change form."""
    change = lambda old: users.change_password(pat.client_id, pat.user_id, old, "new-password-2")  # noqa: E731
    for _ in range(4):
        with pytest.raises(AuthenticationError, match="^the current password is wrong$"):
            change("wrong-password")
    assert users.get_user(pat.client_id, pat.user_id).failed_logins == 4
    change(PASSWORD)  # right: the count starts again
    assert users.get_user(pat.client_id, pat.user_id).failed_logins == 0
    for _ in range(3):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate("pat", "wrong-password")
    with pytest.raises(AuthenticationError, match="^the current password is wrong$"):
        change("wrong-password")
    just_locked = "^the current password is wrong; 5 failed logins in a row: the account is locked until"
    with pytest.raises(AuthenticationError, match=just_locked):
        change("wrong-password")  # logins and changes share one count
    locked = users.get_user(pat.client_id, pat.user_id)
    assert locked.is_locked() and locked.locked_until - datetime.now(timezone.utc) > timedelta(minutes=14)
    with pytest.raises(AuthenticationError, match="locked after repeated failed logins"):
        users.change_password(pat.client_id, pat.user_id, "new-password-2", "third-password-3")  # even the right one
    with pytest.raises(AuthenticationError, match="locked after repeated failed logins"):
        users.authenticate("pat", "new-password-2")
    after = locked.locked_until + timedelta(seconds=1)
    assert users.authenticate("pat", "new-password-2", now=after).username == "pat"  # unchanged by the refused change
    assert users.get_user(pat.client_id, pat.user_id).sessions_valid_after == locked.sessions_valid_after


def test_unknown_users_get_the_same_answer_as_wrong_passwords(users, pat):
    with pytest.raises(AuthenticationError, match=FAILED):
        users.authenticate("nobody", PASSWORD)
    with pytest.raises(AuthenticationError, match=FAILED):
        users.authenticate("pat", "x" * 100)  # over bcrypt's limit: refused, not an exception


class CheckSpy:
    """Wraps the real ``bcrypt.checkpw`` and records the cost prefix of each hash it checks against."""

    def __init__(self, real):
        self.real, self.costs = real, []

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.costs.append(hashed[:7])
        return self.real(password, hashed)


def test_every_refused_login_does_the_same_work_whether_or_not_the_user_exists(users, pat, monkeypatch):
    """Structural, not timed: each attempt is exactly one bcrypt check of the user's cost, whatever the
    username, the password's length or the account's lock, and the refusals read the same."""
    spy = CheckSpy(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", spy)
    attempts = [("nobody", "x"), ("pat", "x"), ("nobody", "x" * 1024), ("pat", "x" * 1024),
                ("nobody", "wrong-password"), ("pat", "wrong-password"), ("pat", "wrong-password"),
                ("pat", "wrong-password"), ("pat", "wrong-password")]  # the last one locks pat
    for username, password in attempts:
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate(username, password)
    assert users.get_user(pat.client_id, pat.user_id).is_locked()
    with pytest.raises(AuthenticationError, match=FAILED):
        users.authenticate("pat", "x" * 1024)  # locked and wrong: still one check, still the same words
    assert spy.costs == [b"$2b$04$"] * (len(attempts) + 1)


def test_an_address_with_20_failures_is_blocked_before_any_account_is_tried(users, pat, monkeypatch):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    attacker, planner = "203.0.113.9", "198.51.100.7"
    for i in range(MAX_FAILED_LOGINS_PER_ADDRESS):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate(f"guess-{i}", "wrong-password", now=now, address=attacker)
    spy = CheckSpy(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", spy)
    with pytest.raises(AuthenticationError, match="^too many failed logins from your address: try again after 12:15"):
        users.authenticate("pat", PASSWORD, now=now, address=attacker)
    assert spy.costs == [] and users.get_user(pat.client_id, pat.user_id).failed_logins == 0  # pat untouched
    assert users.authenticate("pat", PASSWORD, now=now, address=planner).username == "pat"
    later = now + timedelta(minutes=15, seconds=1)
    assert users.authenticate("pat", PASSWORD, now=later, address=attacker).username == "pat"


class WaveGate:
    """Wraps the real ``bcrypt.checkpw`` and holds each check until every login thread is either in a check
    or finished: all attempts in flight reach bcrypt together (the worst interleaving for a throttle that
    counted after the check), deterministically and without sleeping."""

    def __init__(self, real, threads: int):
        self.real, self.threads = real, threads
        self.checks = self.waiting = self.finished = self.wave = 0
        self.changed = threading.Condition()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self.changed:
            self.checks += 1
            self.waiting += 1
            wave = self.wave
            self._release_when_all_arrived()
            assert self.changed.wait_for(lambda: self.wave != wave, timeout=60), "the checks were never released"
        return self.real(password, hashed)

    def finish(self) -> None:
        with self.changed:
            self.finished += 1
            self._release_when_all_arrived()

    def _release_when_all_arrived(self) -> None:
        if self.waiting and self.waiting + self.finished == self.threads:
            self.waiting, self.wave = 0, self.wave + 1
            self.changed.notify_all()


def test_parallel_failures_from_one_address_get_at_most_20_checks_and_the_block_stays(users, pat, monkeypatch):
    """16 threads send 80 wrong logins from one address at once: at most 20 reach bcrypt, the rest are
    refused as blocked, and the address is still blocked afterwards (a counted failure never lifts it)."""
    threads, attempts = 16, 5
    gate = WaveGate(bcrypt.checkpw, threads)
    monkeypatch.setattr(bcrypt, "checkpw", gate)
    attacker = "203.0.113.9"

    def login_repeatedly(thread: int) -> list[str]:
        answers = []
        try:
            for attempt in range(attempts):
                try:
                    users.authenticate(f"guess-{thread}-{attempt}", "wrong-password", address=attacker)
                except AuthenticationError as exc:
                    answers.append(str(exc))
        finally:
            gate.finish()
        return answers

    with ThreadPoolExecutor(max_workers=threads) as pool:
        answers = [a for answers in pool.map(login_repeatedly, range(threads)) for a in answers]

    assert gate.checks == MAX_FAILED_LOGINS_PER_ADDRESS
    assert answers.count(LOGIN_FAILED) == MAX_FAILED_LOGINS_PER_ADDRESS
    blocked = [a for a in answers if a.startswith("too many failed logins from your address")]
    assert len(blocked) == threads * attempts - MAX_FAILED_LOGINS_PER_ADDRESS
    with pytest.raises(AuthenticationError, match="^too many failed logins from your address"):
        users.authenticate("pat", PASSWORD, address=attacker)
    assert gate.checks == MAX_FAILED_LOGINS_PER_ADDRESS


def test_a_right_password_takes_its_attempt_back_from_the_address_count(users, pat):
    """Successful logins from an office's shared address never add up to a block; the 20th failure does."""
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    office = "198.51.100.7"
    for i in range(MAX_FAILED_LOGINS_PER_ADDRESS - 1):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate(f"guess-{i}", "wrong-password", now=now, address=office)
    for _ in range(30):
        assert users.authenticate("pat", PASSWORD, now=now, address=office).username == "pat"
    with pytest.raises(AuthenticationError, match=FAILED):
        users.authenticate("guess-x", "wrong-password", now=now, address=office)
    with pytest.raises(AuthenticationError, match="^too many failed logins from your address"):
        users.authenticate("pat", PASSWORD, now=now, address=office)


def test_failures_older_than_the_window_start_the_address_count_again(users, pat):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    for i in range(MAX_FAILED_LOGINS_PER_ADDRESS - 1):
        with pytest.raises(AuthenticationError, match=FAILED):
            users.authenticate(f"guess-{i}", "wrong-password", now=now, address="203.0.113.9")
    later = now + timedelta(minutes=16)
    with pytest.raises(AuthenticationError, match=FAILED):  # the 20th failure, but in a new window
        users.authenticate("guess-x", "wrong-password", now=later, address="203.0.113.9")
    assert users.authenticate("pat", PASSWORD, now=later, address="203.0.113.9").username == "pat"


def test_logout_and_password_change_void_earlier_sessions(users, pat):
    issued = datetime.now(timezone.utc)
    assert users.session_is_valid(pat.client_id, pat.user_id, issued)
    users.logout(pat.client_id, pat.user_id)
    assert not users.session_is_valid(pat.client_id, pat.user_id, issued)
    later = datetime.now(timezone.utc)
    assert users.session_is_valid(pat.client_id, pat.user_id, later)

    with pytest.raises(AuthenticationError, match="current password is wrong"):
        users.change_password(pat.client_id, pat.user_id, "not-it-at-all", "new-password-2")
    users.change_password(pat.client_id, pat.user_id, PASSWORD, "new-password-2")
    assert not users.session_is_valid(pat.client_id, pat.user_id, later)
    with pytest.raises(AuthenticationError):
        users.authenticate("pat", PASSWORD)
    assert users.authenticate("pat", "new-password-2").username == "pat"


def test_admins_manage_only_their_own_clients_users(users, clients, pat):
    a, b = clients
    admin_b = users.create_user(b, "boss-b", "b-admin-pass", "admin")
    assert admin_b.is_admin and [u.username for u in users.list_users(b)] == ["boss-b"]
    assert [u.username for u in users.list_users(a)] == ["pat"]
    for call in (
        lambda: users.get_user(b, pat.user_id),
        lambda: users.reset_password(b, pat.user_id, "hijacked-pass"),
        lambda: users.unlock(b, pat.user_id),
        lambda: users.logout(b, pat.user_id),
        lambda: users.change_password(b, pat.user_id, PASSWORD, "hijacked-pass"),
        lambda: users.session_is_valid(b, pat.user_id, datetime.now(timezone.utc)),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert users.authenticate("pat", PASSWORD).role == "planner"  # untouched


def test_admin_reset_and_unlock(users, pat):
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            users.authenticate("pat", "wrong-password")
    users.unlock(pat.client_id, pat.user_id)
    assert users.authenticate("pat", PASSWORD).failed_logins == 0
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            users.authenticate("pat", "wrong-password")
    before = users.get_user(pat.client_id, pat.user_id).sessions_valid_after
    users.reset_password(pat.client_id, pat.user_id, "fresh-start-3")
    user = users.authenticate("pat", "fresh-start-3")
    assert user.locked_until is None and user.sessions_valid_after > before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"username": "pat"}, "already taken"),
        ({"username": "a b"}, "username must be 3 to 64 characters"),
        ({"username": "ab"}, "username must be 3 to 64 characters"),
        ({"role": "owner"}, "role must be one of planner, admin"),
        ({"email": "not-an-email"}, "does not look like an email"),
    ],
)
def test_bad_new_users_are_refused(users, clients, pat, kwargs, message):
    request = {"username": "sam", "password": "long-enough-1", "role": "planner", **kwargs}
    with pytest.raises(ForecastingError, match=message):
        users.create_user(clients[0], request.pop("username"), request.pop("password"), **request)


def test_by_username_tells_the_users_client(users, clients, pat):
    assert users.by_username("pat").client_id == clients[0]
    with pytest.raises(NotFoundError):
        users.by_username("nobody")
    with pytest.raises(NotFoundError, match="client 999"):
        users.create_user(999, "ghost", "long-enough-1")
