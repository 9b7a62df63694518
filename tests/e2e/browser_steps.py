"""What a planner does in the browser, as small steps shared by the e2e tests and the app benchmark."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

COOKIE_NAME = "forecasting_login"
CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'


IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: the app counts as settled when no run has started for this long (late reruns come from the cookie component)
SETTLE_MS = 400
#: a select box's list is looked for this long after a click, and the box opened this many times at most
OPEN_WAIT_MS = 5_000
OPEN_TRIES = 3


def wait_idle(page: Page, timeout_ms: float = 30_000) -> None:
    """Until the app's script has finished its runs and stays idle for a moment."""
    waited = 0.0
    while waited < timeout_ms:
        page.wait_for_timeout(SETTLE_MS / 2)
        page.locator(IDLE).wait_for(timeout=timeout_ms)
        page.wait_for_timeout(SETTLE_MS)
        if page.locator(IDLE).count():
            return
        waited += 1.5 * SETTLE_MS
    raise AssertionError(f"the app did not settle within {timeout_ms / 1000:.0f} s")


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.locator('[data-testid="stApp"]').wait_for()
    wait_idle(page)


def login_form_visible(page: Page) -> bool:
    return page.get_by_role("textbox", name="Username").is_visible()


def log_in(page: Page, url: str, username: str, password: str) -> None:
    """Open ``url``, fill the login form, and wait for the first page and the login cookie.

    Setting the cookie makes the app run once more; waiting for it keeps the
    next click from landing while that run redraws the page.
    """
    open_app(page, url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    login_cookie(page)
    wait_idle(page)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    wait_idle(page)


def go_to(page: Page, title: str) -> None:
    """Switch page through the sidebar navigation and wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    wait_idle(page)


def multiselect_input(page: Page, label: str):
    return page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text(label, exact=False)).locator("input")


def choose_option(page: Page, box: Locator, option: Locator) -> None:
    """Open a select box at its text field (its middle may be a chip) and click ``option`` in its list.

    The box is opened again when its list did not show: a click that lands
    while the app redraws the box (a rerun just ended) opens nothing.
    """
    for _ in range(OPEN_TRIES):
        wait_idle(page)
        box.locator("input").click()
        try:
            expect(option).to_be_visible(timeout=OPEN_WAIT_MS)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    option.click()


def pick_top(page: Page, n: int) -> None:
    """The 'Top N by volume' quick pick."""
    choose_option(page, page.get_by_test_id("stSelectbox").filter(has_text="Quick pick"),
                  page.get_by_role("option", name=f"Top {n} by volume"))
    wait_idle(page)


def chips(page: Page, label: str) -> list[str]:
    """The chosen values (chips) of a multi-select, as shown."""
    tags = page.get_by_test_id("stMultiSelect").filter(has_text=label).locator("[data-tag] > span[title]")
    return [str(tag.get_attribute("title")) for tag in tags.all()]


def chosen_items(page: Page) -> list[str]:
    """Item ids of the chips in the Items multi-select."""
    return [text.split(" - ")[0].strip() for text in chips(page, "Items")]


def run_forecast(page: Page) -> None:
    """Click Run and wait for the new result's caption and chart."""
    page.get_by_role("button", name="Run forecast").click()
    page.get_by_text("run #").first.wait_for(state="visible")
    chart_visible(page)
    wait_idle(page)


def chart_visible(page: Page, timeout_ms: float = 30_000) -> None:
    """Until a plotly chart with drawn lines is on screen."""
    page.locator(f"{CHART} .scatterlayer .trace").first.wait_for(state="visible", timeout=timeout_ms)


def login_cookie(page: Page, timeout_ms: float = 30_000) -> dict:
    """The login cookie once the cookie component has set it (its script runs late on a busy machine)."""
    deadline_step = 100
    waited = 0
    while waited < timeout_ms:
        for cookie in page.context.cookies():
            if cookie["name"] == COOKIE_NAME:
                return cookie
        page.wait_for_timeout(deadline_step)
        waited += deadline_step
    raise AssertionError(f"no {COOKIE_NAME} cookie after {timeout_ms / 1000:.0f} s")


def login_cookie_gone(page: Page, timeout_ms: float = 30_000) -> bool:
    """Whether the login cookie is deleted within ``timeout_ms`` (the cookie component deletes it from the page)."""
    waited = 0
    while COOKIE_NAME in {c["name"] for c in page.context.cookies()}:
        if waited >= timeout_ms:
            return False
        page.wait_for_timeout(100)
        waited += 100
    return True


#: every text of the main area (tables and charts aside) that its clipping box cuts off
_CUT_OFF = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  // tables and charts draw their own text; inputs and multiselect chips scroll inside their box by design
  const skip = '[data-testid="stDataFrame"], [data-testid="stPlotlyChart"], [data-testid="stTable"], input, ' +
               '[data-tag]';
  const out = new Set();
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim(), el = node.parentElement;
    if (!text || !el.offsetParent || el.closest(skip)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (!r.width) continue;
    for (let box = el; box && box !== main; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (style.overflowX !== 'visible' || style.textOverflow === 'ellipsis') {
        const b = box.getBoundingClientRect();
        if (r.right > b.right + 1 || r.left < b.left - 1) out.add(text);
        break;
      }
    }
  }
  return [...out];
}"""


def cut_off_texts(page: Page) -> list[str]:
    """Labels, buttons, metrics and other texts of the main area that do not fit their box (cut off)."""
    return page.evaluate(_CUT_OFF)


def page_overflows(page: Page) -> bool:
    """Whether the main area is wider than the window (the page would scroll sideways)."""
    return bool(page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m.scrollWidth > m.clientWidth + 1; }"
    ))


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path
