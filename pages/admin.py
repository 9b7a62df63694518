"""Admin page (admins only): the users of the admin's own client; create, reset password, unlock."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import widgets
from app.auth import require_user
from app.services import get_services
from forecasting.storage.models import ROLES

KEY = "adm"


def render() -> None:
    user = require_user(role="admin")
    services = get_services()
    st.title("Admin")
    st.caption(f"Users of {user.client_name}. Admins manage only their own client's users.")
    flash = st.session_state.pop(f"{KEY}_flash", None)
    if flash:
        st.success(flash)
    users = services.users.list_users(user.client_id)
    st.dataframe(_users_frame(users), hide_index=True, key=f"{KEY}_users")

    by_name = {u.username: u for u in users}
    create_tab, reset_tab, unlock_tab = st.tabs(["Create a user", "Reset a password", "Unlock a user"])
    with create_tab:
        with st.form(f"{KEY}_create", clear_on_submit=False):
            left, right = st.columns(2)
            username = left.text_input("Username", key=f"{KEY}_new_username", help="3 to 64 letters, digits or . _ @ -")
            name = right.text_input("Full name", key=f"{KEY}_new_name")
            email = left.text_input("Email (optional)", key=f"{KEY}_new_email")
            role = right.selectbox("Role", ROLES, key=f"{KEY}_new_role")
            password = left.text_input("Password", type="password", key=f"{KEY}_new_password", help="8 to 72 bytes")
            repeat = right.text_input("Password again", type="password", key=f"{KEY}_new_repeat")
            create = st.form_submit_button("Create user", type="primary")
        if create:
            if password != repeat:
                st.error("The passwords do not match.")
            else:
                with widgets.user_errors("Creating the user"):
                    created = services.users.create_user(user.client_id, username, password, role, name, email)
                    for field in ("username", "name", "email", "password", "repeat"):
                        st.session_state.pop(f"{KEY}_new_{field}", None)
                    _done(f"Created {created.username} ({created.role}).")

    with reset_tab:
        with st.form(f"{KEY}_reset", clear_on_submit=True):
            target_col, new_col, again_col = st.columns(3)
            target = target_col.selectbox("User", list(by_name), key=f"{KEY}_reset_user")
            new = new_col.text_input("New password", type="password", help="8 to 72 bytes")
            again = again_col.text_input("New password again", type="password")
            reset = st.form_submit_button("Reset password")
        if reset:
            if new != again:
                st.error("The passwords do not match.")
            else:
                with widgets.user_errors("Resetting the password"):
                    services.users.reset_password(user.client_id, by_name[target].user_id, new)
                    _done(f"New password set for {target}; their open sessions are logged out.")

    with unlock_tab:
        locked = [u.username for u in users if u.is_locked()]
        if not locked:
            st.caption("No user is locked.")
        else:
            pick, button = st.columns([2, 1], vertical_alignment="bottom")
            target = pick.selectbox("Locked user", locked, key=f"{KEY}_unlock_user")
            if button.button("Unlock", key=f"{KEY}_unlock"):
                with widgets.user_errors("Unlocking"):
                    services.users.unlock(user.client_id, by_name[target].user_id)
                    _done(f"{target} can log in again.")


def _done(message: str) -> None:
    """Show the message after a rerun, so the users table above includes the change."""
    st.session_state[f"{KEY}_flash"] = message
    st.rerun()


def _users_frame(users) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Username": [u.username for u in users],
            "Name": [u.name for u in users],
            "Email": [u.email for u in users],
            "Role": [u.role for u in users],
            "Locked until (UTC)": [u.locked_until.strftime("%H:%M") if u.is_locked() else "" for u in users],
            "Last login (UTC)": [u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "" for u in users],
        }
    )
