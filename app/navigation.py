"""The pages and who may open them; registered with ``st.navigation`` by app/main.py only after login.

Before login the same URL paths are registered as hidden pages that draw
nothing but the login form (drawn by main), so a bookmarked page URL shows
the login form and, once logged in, the page itself.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from forecasting.services.users import UserInfo
from pages import admin, attention, compare, data, forecast, reorder, simulate


@dataclass(frozen=True)
class PageSpec:
    url_path: str
    title: str
    icon: str
    render: Callable[[], None]
    admin_only: bool = False


PAGES = (
    PageSpec("attention", "Attention", ":material/notifications_active:", attention.render),
    PageSpec("forecast", "Forecast", ":material/insights:", forecast.render),
    PageSpec("compare", "Compare models", ":material/compare_arrows:", compare.render),
    PageSpec("reorder", "Reorder", ":material/local_shipping:", reorder.render),
    PageSpec("simulate", "Policy simulator", ":material/science:", simulate.render),
    PageSpec("data", "Data", ":material/database:", data.render),
    PageSpec("admin", "Admin", ":material/admin_panel_settings:", admin.render, admin_only=True),
)


def pages_for(user: UserInfo) -> list[st.Page]:
    """The pages this user may open (Admin only for admins).

    Attention is the landing page, which Streamlit serves at the root URL (its
    own path is then reserved, hence ``home``); a hidden copy at ``/attention``
    keeps that URL working too.
    """
    landing = PAGES[0]
    pages = [
        st.Page(spec.render, title=spec.title, icon=spec.icon, url_path="home" if k == 0 else spec.url_path,
                default=k == 0)
        for k, spec in enumerate(PAGES)
        if user.is_admin or not spec.admin_only
    ]
    alias = st.Page(landing.render, title=landing.title, icon=landing.icon, url_path=landing.url_path,
                    visibility="hidden")
    return [*pages, alias]


def login_pages() -> list[st.Page]:
    """The root and every page's URL path, each drawing nothing (main has drawn the login form)."""
    root = st.Page(_nothing, title="Log in", url_path="login", default=True)
    return [root, *(st.Page(_nothing, title="Log in", url_path=spec.url_path) for spec in PAGES)]


def _nothing() -> None:
    """The page body while logged out: empty."""
