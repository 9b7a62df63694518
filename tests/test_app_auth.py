"""Login, lockout, logout, revocation and role gating of the dashboard, driven through AppTest."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from app import config
from app.widgets import sentence
from forecasting.services.users import LOGIN_FAILED
from tests.support.demo_database import ADMIN, OTHER_CLIENT_PLANNER, PLANNER
from tests.support.app import login, new_app, open_page, texts

PAGE_PATHS = ("home", "forecast", "compare", "reorder", "simulate", "data", "admin")
#: what the form shows for every refused login
REFUSED = sentence(LOGIN_FAILED)


def _logged_in(at: AppTest) -> bool:
    return bool(at.session_state["authentication_status"])


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_url_shows_only_the_login_form(backend, path):
    at = new_app().run()
    at = open_page(at, path)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.title and not at.dataframe and not at.get("plotly_chart") and not at.sidebar.button
    assert not _logged_in(at)


def test_login_shows_the_users_name_client_and_landing_page(backend):
    at = login(PLANNER.username, PLANNER.password)
    assert not at.exception
    assert _logged_in(at)
    assert texts(at.title) == ["Attention"]  # the landing page: what needs action today
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert PLANNER.name in sidebar and "Demo Foods" in sidebar and "planner" in sidebar
    assert "login_username" not in [t.key for t in at.text_input]


def test_wrong_password_is_refused_and_counted(backend):
    at = login(PLANNER.username, "not-the-password")
    assert texts(at.error) == [REFUSED]
    assert not _logged_in(at) and not at.title
    client = backend.client_id("Demo Foods")
    user = backend.users.by_username(PLANNER.username)
    assert user.failed_logins == 1
    # the form keeps the username typed
    assert at.text_input(key="login_username").value == PLANNER.username
    at = login(PLANNER.username, PLANNER.password, at)
    assert _logged_in(at)
    assert backend.users.get_user(client, user.user_id).failed_logins == 0


def test_unknown_user_gets_the_same_message(backend):
    at = login("nobody-here", "whatever-password")
    assert texts(at.error) == [REFUSED]


def test_empty_form_asks_for_both_fields(backend):
    at = login("", "")
    assert texts(at.error) == ["Enter your username and password."]


def test_five_failures_lock_the_account_for_fifteen_minutes(backend):
    at = new_app().run()
    for _ in range(4):
        at = login(PLANNER.username, "wrong-password-x", at)
        assert texts(at.error) == [REFUSED]
    at = login(PLANNER.username, "wrong-password-x", at)
    assert texts(at.error) == [REFUSED]  # locked now, in the words an unknown username gets
    at = login(PLANNER.username, "wrong-password-x", at)
    assert texts(at.error) == [REFUSED]
    # even the right password is refused while locked: only it learns of the lock
    at = login(PLANNER.username, PLANNER.password, at)
    assert "the account is locked" in at.error[0].value.lower()
    assert not _logged_in(at)
    user = backend.users.by_username(PLANNER.username)
    left = user.locked_until - datetime.now(timezone.utc)
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    # an admin unlocks: the right password works again
    backend.users.unlock(user.client_id, user.user_id)
    at = login(PLANNER.username, PLANNER.password, at)
    assert _logged_in(at)


def test_logout_ends_the_session_and_voids_cookies_everywhere(backend):
    at = login(PLANNER.username, PLANNER.password)
    before = backend.users.by_username(PLANNER.username).sessions_valid_after
    at.sidebar.button(key="logout_button").click()
    at = at.run()
    assert not _logged_in(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert texts(at.info) == ["You have logged out."]
    assert not at.title
    assert backend.users.by_username(PLANNER.username).sessions_valid_after > before


def test_a_session_ends_when_the_user_logs_out_elsewhere(backend):
    at = login(PLANNER.username, PLANNER.password)
    user = backend.users.by_username(PLANNER.username)
    backend.users.logout(user.client_id, user.user_id)  # e.g. the same user logging out in another browser
    at = at.run()
    assert not _logged_in(at)
    assert "logged out" in at.info[0].value and "password change elsewhere" in at.info[0].value


def test_password_change_keeps_this_session_and_needs_the_current_password(backend):
    at = login(PLANNER.username, PLANNER.password)
    form = at.sidebar.expander[0]
    fields = form.text_input
    fields[0].input("wrong-current-pw")
    fields[1].input("a-new-password-1")
    fields[2].input("a-new-password-1")
    form.button[0].click()
    at = at.run()
    assert "the current password is wrong" in at.sidebar.error[0].value.lower()
    form = at.sidebar.expander[0]
    form.text_input[0].input(PLANNER.password)
    form.text_input[1].input("a-new-password-1")
    form.text_input[2].input("a-new-password-1")
    form.button[0].click()
    at = at.run()
    assert texts(at.sidebar.success) == ["Password changed; other browsers are logged out."]
    assert _logged_in(at.run())  # this session goes on
    assert _logged_in(login(PLANNER.username, "a-new-password-1"))


def test_planner_has_no_admin_page_and_admin_has(backend):
    planner = login(PLANNER.username, PLANNER.password)
    planner = open_page(planner, "admin")
    assert texts(planner.title) == ["Attention"]  # unknown page for a planner: the landing page runs instead
    admin = login(ADMIN.username, ADMIN.password)
    admin = open_page(admin, "admin")
    assert texts(admin.title) == ["Admin"]
    users = admin.dataframe[0].value
    assert sorted(users["Username"]) == sorted([PLANNER.username, ADMIN.username])


@pytest.mark.parametrize("path", ["home", "compare", "reorder", "data", "admin"])
def test_pages_check_the_login_themselves(backend, path):
    """A page function run without main's login check stops with a message and shows no data."""
    module = {"home": "forecast"}.get(path, path)

    def script(module: str) -> None:
        import importlib

        importlib.import_module(f"pages.{module}").render()

    at = AppTest.from_function(script, args=(module,), default_timeout=60).run()
    assert texts(at.warning) == ["Please log in."]
    assert not at.title and not at.dataframe and not at.multiselect


def test_a_user_sees_only_their_clients_items(backend):
    at = open_page(login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password), "forecast")
    options = [o.split(" - ")[0] for o in at.multiselect(key="fc_items").options]
    own = backend.data.list_items(backend.client_id(OTHER_CLIENT_PLANNER.client))["item_id"].tolist()
    assert sorted(options) == sorted(own) and len(own) > 0
    assert not any(o.startswith("DF-") for o in options)


def test_production_mode_refuses_to_start_without_a_cookie_key(backend, monkeypatch, tmp_path):
    monkeypatch.setenv("FORECASTING_ENV", "production")
    monkeypatch.delenv("FORECASTING_COOKIE_KEY")
    at = new_app().run()
    assert "The app cannot start" in at.error[0].value and "FORECASTING_COOKIE_KEY" in at.error[0].value
    assert not at.text_input  # no login form either


def test_cookie_key_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("FORECASTING_COOKIE_KEY", raising=False)
    monkeypatch.delenv("FORECASTING_ENV", raising=False)
    key_file = tmp_path / "data" / ".cookie_key"
    first = config.cookie_key({}, key_file)
    assert len(bytes.fromhex(first.value)) == 32 and first.source == str(key_file)
    assert config.cookie_key({}, key_file).value == first.value  # generated once, then kept
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert config.cookie_key({"cookie_key": "s" * 40}, key_file).value == "s" * 40
    with pytest.raises(config.ConfigurationError, match="too short"):
        config.cookie_key({"cookie_key": "short"}, key_file)
    with pytest.raises(config.ConfigurationError, match="placeholder"):
        config.cookie_key({"cookie_key": "replace-with-64-hex-characters-from-the-command-above"}, key_file)
    monkeypatch.setenv("FORECASTING_COOKIE_KEY", "e" * 64)
    assert config.cookie_key({"cookie_key": "s" * 40}, key_file).value == "e" * 64  # environment first
    monkeypatch.delenv("FORECASTING_COOKIE_KEY")
    monkeypatch.setenv("FORECASTING_ENV", "production")
    with pytest.raises(config.ConfigurationError, match="production needs a login cookie key"):
        config.cookie_key({}, key_file)


def test_database_failures_are_clear_messages(backend):
    at = open_page(login(PLANNER.username, PLANNER.password), "forecast")
    at.multiselect(key="fc_items").set_value(["DF-0001"])
    at = at.run()
    with backend.data.database.write() as conn:  # the run history table disappears
        conn.exec_driver_sql("ALTER TABLE forecast_runs RENAME TO forecast_runs_gone")
    at.button(key="fc_run").click()
    at = at.run()
    assert not at.exception
    assert texts(at.error) == [
        "Forecast failed because of an internal error; it has been logged. Your inputs are kept."
    ]
    assert at.multiselect(key="fc_items").value == ["DF-0001"]
    with backend.data.database.write() as conn:  # now the clients too: neither the login check nor the page work
        conn.exec_driver_sql("ALTER TABLE clients RENAME TO clients_gone")
    at = at.run()
    assert not at.exception
    assert texts(at.error) == [
        "The database could not answer (it has been logged). Your inputs are kept; try again in a moment."
    ]


def test_preflight_check_for_the_run_script(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "secrets.toml")
    monkeypatch.delenv("FORECASTING_COOKIE_KEY", raising=False)
    monkeypatch.setenv("FORECASTING_ENV", "production")
    assert config.main() == 2
    assert capsys.readouterr().err.startswith("error: FORECASTING_ENV=production needs a login cookie key")
    (tmp_path / "secrets.toml").write_text(f'cookie_key = "{"k" * 64}"\n')
    assert config.main() == 0
    assert capsys.readouterr().out == "login cookie key from .streamlit/secrets.toml\n"


def test_the_next_user_in_the_same_tab_sees_nothing_of_the_previous_users_client(backend):
    """Results and item choices kept by the pages are dropped at logout (the next login may be another client's)."""
    at = login(PLANNER.username, PLANNER.password)
    at = open_page(at, "reorder")
    at.button(key="ro_run").click()
    at = at.run()
    demo_items = set(backend.data.list_items(backend.client_id("Demo Foods"))["item_id"])
    assert any(set(df.value.get("item_id", [])) & demo_items for df in at.dataframe)

    at.sidebar.button(key="logout_button").click()
    at = at.run()
    at = login(OTHER_CLIENT_PLANNER.username, OTHER_CLIENT_PLANNER.password, at)
    at = open_page(at, "reorder")
    assert not at.exception
    shown = set()
    for df in at.dataframe:
        shown |= set(map(str, df.value.get("item_id", [])))
    for box in at.multiselect:
        shown |= set(map(str, box.options)) | set(map(str, box.value))
    assert not shown & {i for i in demo_items if not i.startswith("NW")}
