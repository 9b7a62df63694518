"""Real-browser fixtures: `streamlit run app/main.py` on 127.0.0.1 and Debian's Chromium through Playwright.

Recipe of docs/platform-notes.md: a free port, the health endpoint polled until the
server answers, Chromium from /usr/bin with the sandbox-free flags, a new
browser context (fresh cookies) per test at 1366x768. The server runs on a
private copy of the demo database with its own random cookie key.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.app_server import (
    ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS, VIEWPORT, AppServer, running_server,
)


@pytest.fixture(scope="session")
def app_server() -> Iterator[AppServer]:
    with running_server("app-e2e-") as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver (scripts/test.sh does it)")
    from playwright.sync_api import sync_playwright

    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (no cookies) per test."""
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    ctx.set_default_timeout(STEP_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
