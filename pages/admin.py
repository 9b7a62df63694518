"""Admin page (admins only): the users and API keys of the admin's own client."""
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
    create_tab, reset_tab, unlock_tab, keys_tab, planning_tab = st.tabs(
        ["Create a user", "Reset a password", "Unlock a user", "API keys", "Planning model"]
    )
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


    with keys_tab:
        _api_keys(services, user)

    with planning_tab:
        _planning_model(services, user)


def _planning_model(services, user) -> None:
    """The model of the client's published plan (docs/planning.md): used by the next plan, on demand or after an
    import."""
    current = services.planning.planning_model(user.client_id)
    st.caption(f"The published plan is made with **{current}** (the default is auto). A change applies to the next "
               "plan: the next sales import, or Re-plan now on the Forecast page.")
    st.session_state.setdefault(f"{KEY}_plan_model", current)
    pick_col, save_col = st.columns([3, 1], vertical_alignment="bottom")
    with pick_col:
        model, unavailable = widgets.model_select(f"{KEY}_plan", label="Planning model")
    if save_col.button("Save", key=f"{KEY}_plan_save", disabled=bool(unavailable) or model == current):
        with widgets.user_errors("Setting the planning model"):
            saved = services.planning.set_planning_model(user.client_id, model)
            _done(f"The planning model is now {saved}.")


def _api_keys(services, user) -> None:
    """Service keys for the REST API (X-API-Key): created here, shown once, revocable."""
    new_key = st.session_state.pop(f"{KEY}_new_key", None)
    if new_key:
        st.success("Copy this key now: it is shown only once and cannot be recovered.")
        st.code(new_key, language=None)
    keys = services.api_keys.list_keys(user.client_id)
    if keys:
        st.dataframe(_keys_frame(keys), hide_index=True, key=f"{KEY}_keys")
    else:
        st.caption("No API keys yet.")
    label_col, create_col = st.columns([3, 1], vertical_alignment="bottom")
    label = label_col.text_input("Label", key=f"{KEY}_key_label", placeholder="e.g. ERP nightly job")
    if create_col.button("Create key", key=f"{KEY}_key_create", type="primary"):
        with widgets.user_errors("Creating the key"):
            created = services.api_keys.create(user.client_id, label, created_by=user.user_id)
            st.session_state[f"{KEY}_new_key"] = created.key
            st.session_state.pop(f"{KEY}_key_label", None)
            st.rerun()
    active = {f"{k.prefix}... {k.name}".strip(): k.key_id for k in keys if k.active}
    if active:
        pick_col, revoke_col = st.columns([3, 1], vertical_alignment="bottom")
        target = pick_col.selectbox("Active key", list(active), key=f"{KEY}_key_pick")
        if revoke_col.button("Revoke", key=f"{KEY}_key_revoke"):
            with widgets.user_errors("Revoking the key"):
                services.api_keys.revoke(user.client_id, active[target])
                _done(f"Key {target} revoked: it stops working at once.")


def _keys_frame(keys) -> pd.DataFrame:
    def when(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else ""

    return pd.DataFrame(
        {
            "Key": [f"{k.prefix}..." for k in keys],
            "Label": [k.name for k in keys],
            "Created (UTC)": [when(k.created_at) for k in keys],
            "Last used (UTC)": [when(k.last_used_at) for k in keys],
            "Revoked (UTC)": [when(k.revoked_at) for k in keys],
        }
    )


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
