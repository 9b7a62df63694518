"""The effect of a sales upload on the other items' as-of date (hand-made cases), and the service's refusal."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from forecasting.core.as_of import AsOfMove, AsOfMoveError, as_of_move
from tests.support.db import database_state, sales_frame


def test_a_later_upload_adds_the_days_in_between_to_every_stored_item_not_in_it():
    stored = [f"I{i:03d}" for i in range(200)]
    move = as_of_move(date(2025, 12, 31), date(2026, 1, 7), stored, ["I000", "I001", "NEW"])
    assert move == AsOfMove(date(2025, 12, 31), date(2026, 1, 7), 198)
    assert (move.days, move.zero_days) == (7, 198 * 7)
    assert move.message().startswith(
        "this upload moves the data's as-of date from 2025-12-31 to 2026-01-07 (7 days): 198 item(s) not in the "
        "file would get 7 more days of zero sales each (1,386 zero-sales days in all)"
    )


@pytest.mark.parametrize(
    "current, last, stored, upload",
    [
        (None, date(2026, 1, 7), [], ["A"]),  # the client's first sales: nothing to move
        (date(2026, 1, 7), date(2026, 1, 7), ["A", "B"], ["A"]),  # ends on the as-of date
        (date(2026, 1, 7), date(2026, 1, 1), ["A", "B"], ["A"]),  # ends before it
        (date(2026, 1, 1), date(2026, 1, 7), ["A", "B"], ["B", "A", "C"]),  # every stored item is in the file
    ],
)
def test_no_move_when_no_other_item_gains_zero_days(current, last, stored, upload):
    assert as_of_move(current, last, stored, upload) is None


def test_one_day_is_worded_in_the_singular():
    move = as_of_move(date(2026, 1, 1), date(2026, 1, 2), ["A", "B"], ["A"])
    assert "(1 day): 1 item(s) not in the file would get 1 more day of zero sales each (1 zero-sales days" in (
        move.message()
    )


def test_the_service_refuses_the_move_and_writes_nothing_unless_confirmed(data, database):
    client = data.create_client("Acme").client_id
    data.import_sales(client, sales_frame({"A": 2, "B": 3, "C": 1}, days=10))  # to 2024-01-10
    data.import_inventory(client, pd.DataFrame({"item_id": ["X"], "on_hand": [1.0], "on_order": [0.0],
                                                "lead_time_days": [2]}))  # X has no sales: no history to extend
    upload = sales_frame({"A": 2}, days=4, start="2024-01-11")  # to 2024-01-14
    expected = AsOfMove(date(2024, 1, 10), date(2024, 1, 14), 2)
    assert data.sales_as_of_move(client, upload) == expected
    before = database_state(database)
    with pytest.raises(AsOfMoveError) as refused:
        data.import_sales(client, upload)
    assert refused.value.move == expected
    assert database_state(database) == before and data.get_client(client).as_of == date(2024, 1, 10)

    data.import_sales(client, upload, move_as_of=True)
    assert data.get_client(client).as_of == date(2024, 1, 14)
    assert data.sales_as_of_move(client, upload) is None
