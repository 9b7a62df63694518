"""Demand classes on the recent window and the 'no recent demand' rule, on hand-made items."""
from __future__ import annotations

import numpy as np

from forecasting.modes.statistical.classification import (
    CLASS_WINDOW_DAYS,
    NO_RECENT_DEMAND,
    NO_RECENT_DEMAND_DAYS,
    classify,
    no_recent_demand,
)


def matrix(*rows: np.ndarray) -> np.ndarray:
    """Right-aligned [items, T] history, NaN before each row's first day."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, width - len(r):] = r
    return out


def test_an_item_dead_for_227_days_is_no_recent_demand_not_smooth():
    selling = np.r_[np.full(400, 5.0), np.zeros(227)]  # every day 5 units, then nothing for 227 days
    adi, cv2, labels = classify(matrix(selling))
    assert labels.tolist() == [NO_RECENT_DEMAND]
    # the window's numbers are still reported: 137 selling days of the last 364
    assert adi[0] == CLASS_WINDOW_DAYS / (CLASS_WINDOW_DAYS - 227) and cv2[0] == 0.0
    dead, since = no_recent_demand(matrix(selling))
    assert dead.tolist() == [True] and since.tolist() == [227]


def test_classes_come_from_the_last_year_only():
    # erratic long ago (1, 20, 1, 20...), steady 5 a day over the last year: smooth now
    old = np.tile([1.0, 20.0], 200)
    item = np.r_[old, np.full(CLASS_WINDOW_DAYS, 5.0)]
    adi, cv2, labels = classify(matrix(item))
    assert labels.tolist() == ["smooth"] and adi[0] == 1.0 and cv2[0] == 0.0
    # sizes 1 and 20 half the days: mean 10.5, population variance 90.25, CV^2 = 90.25 / 110.25
    _, cv2, labels = classify(matrix(old[-CLASS_WINDOW_DAYS:]))
    assert labels.tolist() == ["erratic"] and np.isclose(cv2[0], 90.25 / 110.25)


def test_a_slow_seller_between_sales_is_not_dead_until_four_of_its_intervals():
    # one unit on days 0, 40, 80, 120: ADI while it sold = 121 / 4 = 30.25, so dead 4 x 30.25 = 121 days on
    sales = np.zeros(121)
    sales[::40] = 1.0
    waiting = np.r_[sales, np.zeros(120)]
    dead = np.r_[sales, np.zeros(121)]
    flags, since = no_recent_demand(matrix(waiting, dead))
    assert flags.tolist() == [False, True] and since.tolist() == [120, 121]
    labels = classify(matrix(waiting, dead))[2]
    assert labels.tolist() == ["intermittent", NO_RECENT_DEMAND]  # equal sizes: CV^2 = 0


def test_a_fast_seller_is_dead_after_13_weeks_not_sooner():
    pause = np.r_[np.full(200, 3.0), np.zeros(NO_RECENT_DEMAND_DAYS - 1)]  # a stock-out, say
    stopped = np.r_[np.full(200, 3.0), np.zeros(NO_RECENT_DEMAND_DAYS)]
    assert no_recent_demand(matrix(pause, stopped))[0].tolist() == [False, True]


def test_never_sold_is_no_demand_and_a_sale_in_the_last_day_is_alive():
    never = np.zeros(50)
    today = np.r_[np.zeros(49), 2.0]
    flags, since = no_recent_demand(matrix(never, today))
    assert flags.tolist() == [False, False] and since.tolist() == [-1, 0]
    assert classify(matrix(never, today))[2].tolist() == ["no demand", "intermittent"]
