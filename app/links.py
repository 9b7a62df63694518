"""Links from one page to another with an item picked: ``st.page_link`` needs the registered page objects.

main registers the user's pages with ``st.navigation`` on every run and
remembers them here (per session), so a page can link to ``forecast`` or
``reorder`` with ``?item=<id>``; the target page picks that item and shows it
(:func:`app.widgets.pick_from_link`).
"""
from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import streamlit as st

_PAGES = "_registered_pages"


def remember(pages: Sequence[st.Page]) -> None:
    """The pages registered for this session's user in this run, by URL path."""
    st.session_state[_PAGES] = {page.url_path: page for page in pages}


def item_link(url_path: str, item_id: str, label: str, icon: str | None = None) -> None:
    """A link to the page at ``url_path`` with ``item_id`` picked (nothing when the user may not open it)."""
    page = st.session_state.get(_PAGES, {}).get(url_path)
    if page is not None:
        st.page_link(page, label=label, icon=icon, query_params={"item": item_id}, width="stretch")


def item_url(url_path: str, item_id: str) -> str:
    """The same link as a relative URL (for link columns of tables)."""
    return f"{url_path}?item={quote(str(item_id), safe='')}"
