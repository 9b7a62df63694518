"""The Reorder page shows each item's class and target (issue 20)."""
from __future__ import annotations

from tests.support.app import table_with
from tests.test_app_pages import _planner_on


def test_reorder_page_shows_each_items_class_and_target(backend):
    at = _planner_on("reorder")
    at.button(key="ro_run").click()
    at = at.run()
    assert not at.exception and not at.error
    shown = table_with(at, "reorder_point", "action").set_index("item_id").sort_index()
    expected = backend.forecasts.reorder(backend.client_id("Demo Foods")).set_index("item_id").sort_index()
    columns = ["abc", "xyz", "lifecycle", "service_level", "service_type", "excess_qty"]
    assert shown[columns].equals(expected[columns])
    assert set(shown["abc"]) == {"A", "B", "C"} and set(shown["lifecycle"]) <= {"new", "active", "dead"}
