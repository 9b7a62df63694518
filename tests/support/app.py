"""Shared helpers of the test_app_* modules: a private demo database per test, login, page switch, chart JSON.

No tests here; the fixtures are registered in tests/conftest.py, the modules import the helpers.
"""
from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.users import UserService
from forecasting.storage import open_database
from tests.support.demo_database import TEST_BCRYPT_ROUNDS, fresh_copy

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
RUN_TIMEOUT_S = 60


@dataclass
class Backend:
    """The same database the app uses, reached directly (an independent view for checking the pages)."""

    url: str
    data: DataAccess
    forecasts: ForecastService
    users: UserService

    def client_id(self, name: str) -> int:
        return self.data.client_by_name(name).client_id


@pytest.fixture
def backend(tmp_path, monkeypatch) -> Backend:
    """A private copy of the demo database, set as the app's DATABASE_URL, with fresh Streamlit caches."""
    url = fresh_copy(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("FORECASTING_COOKIE_KEY", secrets.token_hex(32))
    monkeypatch.delenv("FORECASTING_ENV", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    database = open_database(url)
    data = DataAccess(database)
    yield Backend(url, data, ForecastService(data), UserService(database, TEST_BCRYPT_ROUNDS))
    st.cache_data.clear()
    st.cache_resource.clear()
    database.dispose()


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_S)


def login(username: str, password: str, at: AppTest | None = None) -> AppTest:
    """Fill the login form and submit it; returns the app after that run."""
    at = at or new_app().run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key=_submit_key(at)).click()
    return at.run()


def _submit_key(at: AppTest) -> str:
    return next(b.key for b in at.button if b.label == "Log in")


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Go to the page registered under ``url_path`` (as a browser URL would).

    ``AppTest.switch_page`` only knows file pages; ``st.Page(callable)`` pages
    are keyed by the hash of their URL path, which is what a browser sends.
    """
    at._page_hash = calc_hash(url_path)
    return at.run()


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def plotly_traces(at: AppTest, index: int = 0) -> list[dict]:
    """The traces of a plotly chart on the page, arrays decoded (plotly 7 sends typed arrays as base64)."""
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return [{k: _decode(v) for k, v in trace.items()} for trace in spec["data"]]


def _decode(value):
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return value


def table_with(at: AppTest, *columns: str):
    """The first dataframe on the page that has all these columns (AppTest does not expose dataframe keys)."""
    for frame in at.dataframe:
        value = frame.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no dataframe with columns {columns}; found {[list(f.value.columns) for f in at.dataframe]}")


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """File name -> bytes of every download button the app rendered (read where Streamlit stores them)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict[str, bytes] = {}
    add = MediaFileManager.add

    def recording_add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            files[file_name] = path_or_data
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", recording_add)
    return files
