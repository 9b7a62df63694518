"""Streamlit entry point of the planner dashboard: ``streamlit run app/main.py`` from the repo root.

Every run: page set-up, the login check (cookie or session, with revocation),
then either the login form or the user's pages. Pages are registered with
``st.navigation`` only after login (docs/platform-notes.md: a ``pages/`` folder next to
this script would be routed without running it, bypassing the login).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import config, links, navigation  # noqa: E402
from app.auth import Session, start_session  # noqa: E402
from app.services import get_services  # noqa: E402
from forecasting.services.container import Services  # noqa: E402
from app.widgets import data_as_of, sentence  # noqa: E402
from forecasting.core.errors import ForecastingError  # noqa: E402
from forecasting.services.users import UserInfo  # noqa: E402
from forecasting.storage import StorageError  # noqa: E402

log = logging.getLogger("app")

CSS = """
<style>
/* the login cookie components are invisible iframes: take no space for them */
[data-testid="stElementContainer"]:has(iframe[height="0"]) { display: none; }
.block-container { padding-top: 2.6rem; padding-bottom: 2rem; }
h1 { font-size: 1.8rem !important; padding-bottom: 0.3rem !important; }
h3 { font-size: 1.15rem !important; }
/* a narrow main area (a small window, or ~800 px with the sidebar open): rows of widgets wrap instead of
   squeezing labels and buttons until they are cut off */
[data-testid="stMain"] { container-type: inline-size; }
@container (max-width: 760px) {
  [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {
    flex: 1 1 11rem !important; min-width: 11rem !important; width: auto !important;
  }
}
</style>
"""


@st.cache_resource(show_spinner=False)
def _cookie_key() -> config.CookieKey:
    """Resolved once per server process (and the log says where it came from)."""
    key = config.cookie_key(_secrets())
    log.warning("login cookie key from %s", key.source)
    return key


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: fine, the other sources are tried
        return {}


def main() -> None:
    st.set_page_config(page_title="Demand planning", page_icon=":material/inventory_2:", layout="wide")
    st.html(CSS)
    try:
        key = _cookie_key()
        services = get_services()
    except ForecastingError as exc:
        st.error(f"The app cannot start: {exc}")
        st.stop()
    try:
        _serve(services, start_session(services.users, key.value))
    except ForecastingError as exc:  # e.g. the database went away between two clicks
        st.error(sentence(str(exc)) + " Your inputs are kept; try again in a moment.")
    except StorageError:
        log.exception("database error")
        st.error("The database could not answer (it has been logged). Your inputs are kept; try again in a moment.")


def _serve(services: Services, session: Session) -> None:
    """Login check, then the login form or the user's pages."""
    user = session.current_user()
    if user is None:
        user = session.login_form()
    if user is not None:
        user = _sidebar(services, session, user)
        if user is None:  # logged out this run: the form again, in this run, so the cookie deletion is sent
            session.login_form()
    if user is None:
        st.session_state.pop("current_user", None)
        st.navigation(navigation.login_pages(), position="hidden").run()
        return
    st.session_state["current_user"] = user
    pages = navigation.pages_for(user)
    links.remember(pages)
    st.navigation(pages).run()


def _sidebar(services: Services, session: Session, user: UserInfo) -> UserInfo | None:
    """Who is logged in, for which client, the data's as-of date; log out; change password. None once logged out."""
    holder = st.sidebar.empty()
    with holder.container():
        st.markdown(f"**{user.name or user.username}**  \n{user.client_name} · {user.role}")
        client = services.data.get_client(user.client_id)
        data_as_of(client.as_of, client.freq)
        clicked = st.button("Log out", key="logout_button", icon=":material/logout:")
        with st.expander("Change password"):
            with st.form("change_password", clear_on_submit=True):
                old = st.text_input("Current password", type="password")
                new = st.text_input("New password", type="password", help="8 to 72 bytes")
                repeat = st.text_input("New password again", type="password")
                change = st.form_submit_button("Change password")
            outcome = st.empty()
    if clicked:
        holder.empty()
        session.logout(user)
        return None
    if change:
        try:
            session.change_password(user, old, new, repeat)
            outcome.success("Password changed; other browsers are logged out.")
        except ForecastingError as exc:
            outcome.error(sentence(str(exc)))
    return user


main()
