"""Item edits of several items at once: all saved in one transaction, or none (both databases)."""
from __future__ import annotations

import numpy as np
import pytest

from forecasting.core.errors import ForecastingError, NotFoundError
from tests.support.db import database_state, inventory_frame

ITEMS = ["A", "B", "C"]


@pytest.fixture
def client(data):
    client_id = data.create_client("Acme").client_id
    data.import_inventory(client_id, inventory_frame(ITEMS))  # lead 3, review 7, service level 0.95, cost 2
    return client_id


@pytest.fixture
def other(data):
    client_id = data.create_client("Other").client_id
    data.import_inventory(client_id, inventory_frame(["B", "OTHER-ONLY"]))
    return client_id


def _params(data, client):
    items = data.list_items(client).set_index("item_id")
    return items[["name", "category", "unit_cost", "lead_time_days", "review_period_days", "service_level", "moq",
                  "pack_size"]]


def test_several_changes_are_all_saved_and_bump_the_version_once(data, client):
    before = _params(data, client)
    version = data.data_version(client)
    changed = data.update_items(client, {
        "A": {"lead_time_days": 9, "service_level": 0.9, "name": "Better name"},
        "C": {"unit_cost": None, "category": "Specials", "pack_size": 6},
        "B": {"lead_time_days": 1},
    })
    assert changed == 3
    assert data.data_version(client) == version + 1
    expected = before.copy()
    expected.loc["A", ["lead_time_days", "service_level", "name"]] = [9, 0.9, "Better name"]
    expected.loc["C", ["unit_cost", "category", "pack_size"]] = [np.nan, "Specials", 6.0]
    expected.loc["B", "lead_time_days"] = 1
    after = _params(data, client)
    assert after.drop(columns="unit_cost").to_dict("index") == expected.drop(columns="unit_cost").to_dict("index")
    np.testing.assert_array_equal(after["unit_cost"], [2.0, 2.0, np.nan])


def test_one_bad_change_among_good_ones_saves_nothing_and_names_every_bad_item(data, client, other):
    before = database_state(data.database)
    with pytest.raises(ForecastingError) as caught:
        data.update_items(client, {
            "A": {"lead_time_days": 9},
            "B": {"service_level": 1.5, "moq": -1},
            "C": {"review_period_days": 363},  # + the stored lead time of 3 > 365
        })
    assert not isinstance(caught.value, NotFoundError)
    assert str(caught.value) == (
        "bad item changes: item B: service_level must be a number strictly between 0 and 1, got 1.5, "
        "moq must be a number >= 0, got -1; "
        "item C: lead_time_days + 3 x lead_time_std_days (rounded up) + review_period_days must be at most 365 days, "
            "got 366"
    )
    assert database_state(data.database) == before  # A's valid change was not written either
    assert _params(data, client).loc["A", "lead_time_days"] == 3


def test_unknown_parameters_and_empty_changes_are_refused(data, client):
    before = database_state(data.database)
    with pytest.raises(ForecastingError, match=r"item A: unknown item parameter\(s\) colour"):
        data.update_items(client, {"A": {"colour": "red"}, "B": {"moq": 2}})
    with pytest.raises(ForecastingError, match="item B: nothing to update"):
        data.update_items(client, {"A": {"moq": 2}, "B": {}})
    with pytest.raises(ForecastingError, match="no item changes given"):
        data.update_items(client, {})
    assert database_state(data.database) == before


def test_a_long_list_of_bad_items_is_cut_short(data, client):
    ids = [f"X{i:02d}" for i in range(22)]
    data.import_inventory(client, inventory_frame(ids))
    with pytest.raises(ForecastingError) as caught:
        data.update_items(client, {i: {"moq": -1} for i in reversed(ids)})
    message = str(caught.value)
    assert message.startswith("bad item changes: item X00: moq must be a number >= 0, got -1; item X01: ")
    assert message.endswith("; item X19: moq must be a number >= 0, got -1 (and 2 more items)")
    assert "X20" not in message


def test_another_clients_item_is_not_found_and_nothing_is_saved(data, client, other):
    before = database_state(data.database)
    with pytest.raises(NotFoundError, match="unknown item.*: OTHER-ONLY, Z$"):
        data.update_items(client, {"A": {"moq": 5}, "OTHER-ONLY": {"moq": 5}, "Z": {"moq": 1}})
    assert database_state(data.database) == before
    with pytest.raises(NotFoundError, match="client 999 not found"):
        data.update_items(999, {"A": {"moq": 5}})
    # the same id in both clients: only the caller's item changes
    data.update_items(other, {"B": {"moq": 7}})
    assert data.list_items(other, ["B"])["moq"].iloc[0] == 7
    assert data.list_items(client, ["B"])["moq"].iloc[0] == 0


def test_update_item_is_a_one_item_update_items(data, client):
    version = data.data_version(client)
    data.update_item(client, "B", review_period_days=14, moq=3)
    b = data.list_items(client, ["B"]).iloc[0]
    assert (b["review_period_days"], b["moq"], b["lead_time_days"]) == (14, 3, 3)
    assert data.data_version(client) == version + 1
    with pytest.raises(ForecastingError, match="^bad item changes: item B: pack_size must be a number > 0, got 0$"):
        data.update_item(client, "B", pack_size=0)
    assert data.data_version(client) == version + 1


def test_policy_columns_are_edited_validated_and_cleared_back_to_the_class(data, client):
    """service_type, lead_time_std_days, phase_out; an empty service level / type means "use the class"."""
    data.update_items(client, {
        "A": {"service_type": "fill", "lead_time_std_days": 2.5, "phase_out": True},
        "B": {"service_level": None, "service_type": ""},
        "C": {"phase_out": 0, "service_type": "Cycle"},
    })
    items = data.list_items(client).set_index("item_id")
    assert items.loc["A", ["service_type", "lead_time_std_days", "phase_out"]].tolist() == ["fill", 2.5, True]
    assert np.isnan(items.loc["B", "service_level"]) and items.loc["B", "service_type"] == ""
    assert items.loc["C", ["service_type", "phase_out"]].tolist() == ["cycle", False]
    before = database_state(data.database)
    with pytest.raises(ForecastingError) as caught:
        data.update_items(client, {
            "A": {"service_type": "best"},
            "B": {"lead_time_std_days": -1, "phase_out": "yes"},
            "C": {"lead_time_std_days": 119},  # 3 + ceil(357) + 7 > 365
        })
    assert str(caught.value) == (
        "bad item changes: item A: service_type must be empty, cycle or fill, got 'best'; "
        "item B: lead_time_std_days must be a number of days >= 0, got -1, phase_out must be 0 or 1, got 'yes'; "
        "item C: lead_time_days + 3 x lead_time_std_days (rounded up) + review_period_days must be at most 365 days, "
        "got 367"
    )
    assert database_state(data.database) == before
