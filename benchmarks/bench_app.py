"""Browser timings of the dashboard (the issue's Speed section), in Chromium against `streamlit run`.

    .venv/bin/python benchmarks/bench_app.py [--repeats 5]

Measures, on a private copy of the demo database (Demo Foods, 200 items):

1. from clicking Run to the chart being visible, for an MA7 forecast of 10
   items that has not been computed before (target < 3 s);
2. the same request again, answered from the forecast cache (target < 1 s);
3. a page switch after login: clicking a page in the sidebar until its title
   is visible (target < 1 s).

Each repetition uses another horizon, so that step 1 is never a cache hit.
The first value of each step is reported apart: it includes the server
process's one-off work (imports, first database reads).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.e2e import browser_steps as steps  # noqa: E402
from tests.e2e.app_server import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, AppServer  # noqa: E402
from tests.support.demo_database import PLANNER  # noqa: E402

TARGETS_S = {"forecast, computed": 3.0, "forecast, from cache": 1.0, "page switch": 1.0}
PAGES = ("Compare models", "Reorder", "Data", "Forecast")


def set_horizon(page: Page, days: int) -> None:
    field = page.get_by_role("spinbutton", name="Horizon")
    field.fill(str(days))
    field.press("Enter")
    steps.wait_idle(page)


def timed_run(page: Page, expected_caption: str) -> float:
    """Seconds from the click on Run to a chart visible under the new run's caption."""
    before = page.get_by_text("run #").first.inner_text() if page.get_by_text("run #").count() else ""
    started = time.perf_counter()
    page.get_by_role("button", name="Run forecast").click()
    caption = page.get_by_text(expected_caption).first
    caption.wait_for(state="visible")
    expect(caption).not_to_have_text(before)
    steps.chart_visible(page)
    return time.perf_counter() - started


def timed_switch(page: Page, title: str) -> float:
    started = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for(state="visible")
    elapsed = time.perf_counter() - started
    steps.wait_idle(page)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    timings: dict[str, list[float]] = {name: [] for name in TARGETS_S}
    server = AppServer(Path(tempfile.mkdtemp(prefix="bench-app-")))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            expect.set_options(timeout=60_000)
            steps.log_in(page, server.url, PLANNER.username, PLANNER.password)
            steps.pick_top(page, 10)
            assert len(steps.chosen_items(page)) == 10
            for k in range(args.repeats):
                set_horizon(page, 28 + k)
                timings["forecast, computed"].append(timed_run(page, "Computed now: run #"))
                steps.wait_idle(page)
                timings["forecast, from cache"].append(timed_run(page, "From the cache: run #"))
                steps.wait_idle(page)
            for _ in range(args.repeats):
                for title in PAGES:
                    timings["page switch"].append(timed_switch(page, title))
            browser.close()
    finally:
        server.stop()

    print(f"Dashboard timings in Chromium (MA7, 10 items, demo data; {args.repeats} repetitions)")
    print(f"{'step':<24}{'first s':>9}{'median s':>10}{'max s':>9}{'target s':>10}")
    for name, values in timings.items():
        print(f"{name:<24}{values[0]:>9.3f}{statistics.median(values):>10.3f}{max(values):>9.3f}"
              f"{TARGETS_S[name]:>10.1f}")
    print("first = the first time after the server started (cold caches and imports in the server process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
