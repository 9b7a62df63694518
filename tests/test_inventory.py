"""The reorder policy of docs/inventory-policy.md, checked against hand-computed values and closed forms."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.calculator import (
    MIN_COVER_HORIZON,
    REORDER_COLUMNS,
    InventoryCalculator,
)
from forecasting.core.errors import ForecastingError, NotFoundError
from forecasting.core.history import prepare_history
from forecasting.core.models.base import BaseForecastModel, Prediction, SamplePaths
from forecasting.modes.factory import ModelFactory

FIRST_DATE = np.datetime64("2024-03-01")  # day 1 of the forecast; the last history date is the day before
LAST_HISTORY_DATE = pd.Timestamp("2024-02-29")


def paths_of(values: np.ndarray, item_ids: list[str]) -> SamplePaths:
    """SamplePaths over [items, paths, days], every item's forecast starting on FIRST_DATE."""
    return SamplePaths(
        item_ids=np.array(item_ids, dtype=object),
        first_date=np.full(len(item_ids), FIRST_DATE, dtype="datetime64[ns]"),
        values=np.asarray(values, dtype=np.float64),
    )


def constant_paths(item_ids: list[str], demand: float, n_paths: int = 50, horizon: int = MIN_COVER_HORIZON):
    return paths_of(np.full((len(item_ids), n_paths, horizon), demand), item_ids)


def normal_paths(item_ids: list[str], mean=100.0, sd=20.0, n_paths=4000, horizon=MIN_COVER_HORIZON, seed=7):
    rng = np.random.default_rng(seed)
    return paths_of(rng.normal(mean, sd, size=(len(item_ids), n_paths, horizon)), item_ids)


def inventory(**columns) -> pd.DataFrame:
    """An inventory frame; scalars are broadcast to the length of item_id."""
    n = len(columns["item_id"])
    base = {"on_hand": 0.0, "on_order": 0.0, "lead_time_days": 7}
    base.update(columns)
    return pd.DataFrame({k: (v if isinstance(v, list) else [v] * n) for k, v in base.items()})


def by_item(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("item_id")


def constant_history(items: dict[str, float], days: int = 120, end: str = "2024-02-29") -> pd.DataFrame:
    dates = pd.date_range(end=end, periods=days, freq="D")
    return pd.DataFrame(
        {
            "item_id": np.repeat(list(items), days),
            "date": np.tile(dates, len(items)),
            "quantity": np.repeat(list(items.values()), days),
        }
    )


def normal_bound(level: float, days: int, mean=100.0, sd=20.0) -> float:
    """a-quantile of a sum of `days` i.i.d. N(mean, sd^2) days: days*m + z_a*s*sqrt(days)."""
    return days * mean + NormalDist().inv_cdf(level) * sd * math.sqrt(days)


# --- constant demand ------------------------------------------------------------------------------


def test_constant_demand_reorder_point_is_lead_time_times_demand_and_no_safety_stock():
    inv = inventory(item_id=["L7", "L3", "L0"], lead_time_days=[7, 3, 0], review_period_days=[7, 4, 0])
    table = by_item(InventoryCalculator.from_paths(constant_paths(["L0", "L3", "L7"], 4.0), inv, "test"))
    assert table.loc["L7", "reorder_point"] == 28.0
    assert table.loc["L7", "lead_time_demand"] == 28.0
    assert table.loc["L7", "order_up_to"] == 56.0
    assert table.loc["L3", "reorder_point"] == 12.0
    assert table.loc["L3", "order_up_to"] == 28.0
    # L = 0: nothing can arrive late, the reorder point is 0
    assert table.loc["L0", "reorder_point"] == 0.0
    assert table.loc["L0", "lead_time_demand"] == 0.0
    assert (table["safety_stock"] == 0.0).all()


def test_constant_history_through_ma7_sample_paths():
    history = constant_history({"A": 5.0, "B": 2.0})
    inv = inventory(item_id=["A", "B"], lead_time_days=[7, 10], review_period_days=[7, 0], on_hand=[40.0, 100.0])
    model = ModelFactory.create("ma7")
    table = by_item(InventoryCalculator.reorder(model, history, inv))
    assert table.loc["A", "reorder_point"] == 35.0
    assert table.loc["A", "lead_time_demand"] == 35.0
    assert table.loc["A", "order_up_to"] == 70.0
    assert table.loc["B", "reorder_point"] == 20.0
    assert table.loc["B", "order_up_to"] == 20.0
    assert (table["safety_stock"] == 0.0).all()
    assert (table["model"] == "ma7").all()
    # A: IP 40 > 35 -> ok: no quantity on an ok line, although the order-up-to level is 70 (issue 19)
    assert table.loc["A", "action"] == "ok"
    assert np.isnan(table.loc["A", "order_qty"]) and np.isnan(table.loc["A", "order_value"])
    assert table.loc["B", "action"] == "ok" and np.isnan(table.loc["B", "order_qty"])


# --- quantile of a total, not the sum of quantiles ------------------------------------------------


def test_normal_demand_reorder_point_matches_closed_form_and_sum_of_quantiles_does_not():
    levels = [0.9, 0.95, 0.99]
    ids = ["a90", "a95", "a99"]
    paths = normal_paths(ids)
    inv = inventory(item_id=ids, service_level=levels, lead_time_days=7, review_period_days=7)
    table = by_item(InventoryCalculator.from_paths(paths, inv, "test"))
    for item, level, values in zip(ids, levels, paths.values):
        expected = normal_bound(level, 7)
        assert table.loc[item, "reorder_point"] == pytest.approx(expected, rel=0.02)
        assert table.loc[item, "order_up_to"] == pytest.approx(normal_bound(level, 14), rel=0.02)
        assert table.loc[item, "lead_time_demand"] == pytest.approx(700.0, rel=0.01)
        # the shortcut the design forbids: 7 daily quantiles added up count the bad luck of every
        # day at once (z*s*L instead of z*s*sqrt(L)), which lands far outside the 2% band
        summed = np.quantile(values[:, :7], level, axis=0).sum()
        assert summed > expected * 1.02
        assert abs(table.loc[item, "reorder_point"] - expected) < abs(summed - expected) / 3


def test_quantiles_match_numpy_on_ragged_paths():
    """Items with fewer paths (NaN rows) use only their own paths: compared with np.nanquantile."""
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 5.0, size=(3, 200, 30))
    values[1, 120:, :] = np.nan
    values[2, 7:, :] = np.nan
    ids = ["full", "part", "few"]
    # the inventory lists the same items in another order than the paths
    inv = inventory(item_id=["part", "few", "full"], lead_time_days=[9, 2, 5], review_period_days=[14, 1, 3],
                    service_level=[0.97, 0.5, 0.8])
    table = by_item(InventoryCalculator.from_paths(paths_of(values, ids), inv, "test"))
    for row in inv.itertuples():
        i = ids.index(row.item_id)
        lead_totals = values[i, :, : row.lead_time_days].sum(axis=1)
        cycle_totals = values[i, :, : row.lead_time_days + row.review_period_days].sum(axis=1)
        got = table.loc[row.item_id]
        assert got["reorder_point"] == pytest.approx(np.nanquantile(lead_totals, row.service_level), rel=1e-12)
        assert got["order_up_to"] == pytest.approx(np.nanquantile(cycle_totals, row.service_level), rel=1e-12)
        assert got["lead_time_demand"] == pytest.approx(np.nanmean(lead_totals), rel=1e-12)
        assert got["safety_stock"] == pytest.approx(
            np.nanquantile(cycle_totals, row.service_level) - np.nanmean(cycle_totals), rel=1e-9
        )


class NormalQuantileModel(BaseForecastModel):
    """A test double of a *model* with known forecast quantiles: N(100, 20^2) every day.

    Its sample paths come from BaseForecastModel's default: independent daily
    draws through the quantile function. The calculator under test is real.
    """

    name = "normal-test"
    version = "1"
    description = "N(100, 20^2) quantiles every day"

    def _predict(self, history, horizon, levels, future_covariates, progress):
        z = np.array([NormalDist().inv_cdf(level) for level in levels])
        n = history.n_items
        point = np.full((n, horizon), 100.0)
        return Prediction(point, np.broadcast_to(100.0 + 20.0 * z, (n, horizon, len(levels))).copy())


def test_default_independent_sampling_of_a_quantile_model():
    history = constant_history({"X": 1.0, "Y": 1.0}, days=14)
    inv = inventory(item_id=["X", "Y"], lead_time_days=[7, 14], service_level=[0.95, 0.9])
    table = by_item(InventoryCalculator.reorder(NormalQuantileModel(), history, inv))
    assert table.loc["X", "reorder_point"] == pytest.approx(normal_bound(0.95, 7), rel=0.02)
    assert table.loc["Y", "reorder_point"] == pytest.approx(normal_bound(0.9, 14), rel=0.02)
    assert table.loc["X", "order_up_to"] == pytest.approx(normal_bound(0.95, 14), rel=0.02)
    assert table.loc["X", "lead_time_demand"] == pytest.approx(700.0, rel=0.01)


# --- order quantity -------------------------------------------------------------------------------


def test_pack_size_and_moq_rounding():
    # demand 1/day, L = 0, nothing on hand: the need equals the review period R
    cases = {  # item: (R, on_hand, moq, pack_size, expected order_qty)
        "need13_pack5": (13, 0.0, 0.0, 5.0, 15.0),
        "need10_pack5": (10, 0.0, 0.0, 5.0, 10.0),
        "need3_moq10_pack4": (3, 0.0, 10.0, 4.0, 12.0),  # MOQ 10 rounded up to whole packs
        "need12_moq10": (12, 0.0, 10.0, 1.0, 12.0),
        "need3_moq10": (3, 0.0, 10.0, 1.0, 10.0),
        "need0_moq10": (3, 3.0, 10.0, 4.0, np.nan),  # above the reorder point (0): ok, no order, whatever the MOQ
        "surplus_moq10": (3, 9.0, 10.0, 4.0, np.nan),
        "need3_pack0.4": (3, 0.0, 0.0, 0.4, 3.2),
    }
    ids = list(cases)
    inv = inventory(
        item_id=ids,
        lead_time_days=0,
        review_period_days=[c[0] for c in cases.values()],
        on_hand=[c[1] for c in cases.values()],
        moq=[c[2] for c in cases.values()],
        pack_size=[c[3] for c in cases.values()],
        unit_cost=2.5,
    )
    table = by_item(InventoryCalculator.from_paths(constant_paths(ids, 1.0), inv, "test"))
    for item, case in cases.items():
        assert table.loc[item, "order_qty"] == pytest.approx(case[4], nan_ok=True), item
    assert table.loc["need13_pack5", "order_value"] == 37.5


def test_need_just_above_a_pack_multiple_by_float_noise_is_not_rounded_up():
    # 3 days of 0.1 sum to 0.30000000000000004, i.e. 3.0000000000000004 packs of 0.1: 3 packs, not 4
    inv = inventory(item_id=["a"], lead_time_days=0, review_period_days=3, pack_size=0.1)
    table = InventoryCalculator.from_paths(constant_paths(["a"], 0.1), inv, "test")
    assert table.loc[0, "order_qty"] == pytest.approx(0.3)


def test_order_value_empty_without_cost_and_text_columns_filled():
    inv = inventory(item_id=["a", "b"], unit_cost=[3.0, np.nan], lead_time_days=0, review_period_days=4)
    table = by_item(InventoryCalculator.from_paths(constant_paths(["a", "b"], 1.0), inv, "test"))
    assert table.loc["a", "order_value"] == 12.0
    assert np.isnan(table.loc["b", "order_value"])
    assert (table["name"] == "").all() and (table["category"] == "").all()
    no_cost = InventoryCalculator.from_paths(constant_paths(["a"], 1.0), inventory(item_id=["a"]), "test")
    assert no_cost["unit_cost"].isna().all() and no_cost["order_value"].isna().all()


# --- days of cover and stockout date -------------------------------------------------------------


def test_days_of_cover_and_stockout_date():
    # demand 3/day; cumulative 3, 6, 9, 12 ...
    inv = inventory(item_id=["oh10", "oh9", "oh0", "oh1000"], on_hand=[10.0, 9.0, 0.0, 1000.0])
    table = by_item(InventoryCalculator.from_paths(constant_paths(list(inv["item_id"]), 3.0), inv, "test"))
    assert table.loc["oh10", "days_of_cover"] == 4
    assert table.loc["oh10", "stockout_date"] == LAST_HISTORY_DATE + pd.Timedelta(days=4)
    assert table.loc["oh9", "days_of_cover"] == 4  # 9 covers day 3 exactly; day 4 exceeds
    assert table.loc["oh0", "days_of_cover"] == 1
    assert table.loc["oh0", "stockout_date"] == LAST_HISTORY_DATE + pd.Timedelta(days=1)
    # 28 days * 3 = 84 < 1000: no stockout within the horizon
    assert np.isnan(table.loc["oh1000", "days_of_cover"])
    assert pd.isna(table.loc["oh1000", "stockout_date"])


def test_stockout_dates_count_from_the_datas_as_of_date_never_from_an_items_last_sale():
    # A last sold on 02-29, B sells until the data's last day 06-10: A's days since are zero sales
    history = pd.concat(
        [constant_history({"A": 3.0}, end="2024-02-29"), constant_history({"B": 3.0}, end="2024-06-10")]
    )
    inv = inventory(item_id=["A", "B"], on_hand=10.0)
    table = by_item(InventoryCalculator.reorder(ModelFactory.create("seasonal-naive"), history, inv))
    assert pd.isna(table.loc["A", "stockout_date"])  # no demand in its last week: no stock-out, never one in the past
    assert table.loc["B", "stockout_date"] == pd.Timestamp("2024-06-14")  # 10 units last 3 days from 06-11
    # the history of items outside the inventory still sets the as-of date
    only_a = by_item(InventoryCalculator.reorder(ModelFactory.create("seasonal-naive"), history,
                                                 inventory(item_id=["A"], on_hand=10.0)))
    assert pd.isna(only_a.loc["A", "stockout_date"]) and only_a.loc["A", "lead_time_demand"] == 0


def test_zero_demand_never_stocks_out():
    inv = inventory(item_id=["z"], on_hand=0.0)
    table = InventoryCalculator.from_paths(constant_paths(["z"], 0.0), inv, "test")
    assert np.isnan(table.loc[0, "days_of_cover"]) and pd.isna(table.loc[0, "stockout_date"])


# --- review period, service level, action, order -------------------------------------------------


def test_review_period_changes_order_up_to_but_not_reorder_point():
    ids = ["r0", "r14"]
    values = np.repeat(normal_paths(["x"], n_paths=2000).values, 2, axis=0)  # same paths for both
    inv = inventory(item_id=ids, lead_time_days=5, review_period_days=[0, 14])
    table = by_item(InventoryCalculator.from_paths(paths_of(values, ids), inv, "test"))
    assert table.loc["r0", "reorder_point"] == table.loc["r14", "reorder_point"]
    assert table.loc["r0", "order_up_to"] == table.loc["r0", "reorder_point"]
    assert table.loc["r14", "order_up_to"] == pytest.approx(normal_bound(0.95, 19), rel=0.02)
    assert table.loc["r14", "order_qty"] > table.loc["r0", "order_qty"]


def test_per_item_service_level_versus_override():
    ids = ["low", "high"]
    values = np.repeat(normal_paths(["x"], n_paths=2000).values, 2, axis=0)
    inv = inventory(item_id=ids, service_level=[0.5, 0.99])
    per_item = by_item(InventoryCalculator.from_paths(paths_of(values, ids), inv, "test"))
    totals = values[0, :, :7].sum(axis=1)
    assert per_item.loc["low", "reorder_point"] == pytest.approx(np.quantile(totals, 0.5), rel=1e-12)
    assert per_item.loc["high", "reorder_point"] == pytest.approx(np.quantile(totals, 0.99), rel=1e-12)
    assert list(per_item.loc[ids, "service_level"]) == [0.5, 0.99]

    override = by_item(InventoryCalculator.from_paths(paths_of(values, ids), inv, "test", service_level=0.9))
    assert (override["service_level"] == 0.9).all()
    assert override.loc["low", "reorder_point"] == override.loc["high", "reorder_point"]
    assert override.loc["low", "reorder_point"] == pytest.approx(np.quantile(totals, 0.9), rel=1e-12)

    default = InventoryCalculator.from_paths(paths_of(values[:1], ["x"]), inventory(item_id=["x"]), "test")
    assert default.loc[0, "service_level"] == 0.95


def test_action_uses_inventory_position_including_on_order():
    # reorder point 7 * 2 = 14
    inv = inventory(
        item_id=["at", "below", "above", "incoming"],
        on_hand=[14.0, 13.0, 15.0, 4.0],
        on_order=[0.0, 0.0, 0.0, 11.0],
    )
    table = by_item(InventoryCalculator.from_paths(constant_paths(list(inv["item_id"]), 2.0), inv, "test"))
    assert dict(table["action"]) == {"at": "reorder", "below": "reorder", "above": "ok", "incoming": "ok"}
    assert table.loc["incoming", "inventory_position"] == 15.0
    # order-up-to 28: IP 13 -> 15; IP 15 is above the reorder point: ok, so no quantity (issue 19)
    assert table.loc["below", "order_qty"] == 15.0
    assert np.isnan(table.loc["incoming", "order_qty"]) and np.isnan(table.loc["above", "order_qty"])


def test_columns_and_sort_order():
    # demand 2/day, L = 7: reorder point 14. Reorder first, then days of cover (empty last), then id.
    inv = inventory(
        item_id=["ok_late", "ok_never", "re_b", "re_a", "re_soon", "ok_soon"],
        on_hand=[20.0, 500.0, 10.0, 10.0, 1.0, 16.0],
        on_order=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        name=["Late", "Never", "B", "A", "Soon", None],
        category="cat",
    )
    table = InventoryCalculator.from_paths(constant_paths(list(inv["item_id"]), 2.0), inv, "m")
    assert list(table.columns) == REORDER_COLUMNS
    assert list(table["item_id"]) == ["re_soon", "re_a", "re_b", "ok_soon", "ok_late", "ok_never"]
    assert list(table["name"]) == ["Soon", "A", "B", "", "Late", "Never"]
    assert list(table["days_of_cover"].iloc[:5]) == [1, 6, 6, 9, 11]


def test_paths_of_items_outside_the_inventory_are_ignored():
    paths = paths_of(np.stack([np.full((10, 28), 1.0), np.full((10, 28), 9.0)]), ["other", "mine"])
    table = InventoryCalculator.from_paths(paths, inventory(item_id=["mine"]), "test")
    assert list(table["item_id"]) == ["mine"] and table.loc[0, "reorder_point"] == 63.0


# --- horizon and history scoping ------------------------------------------------------------------


def test_required_horizon():
    assert InventoryCalculator.required_horizon(inventory(item_id=["a"], lead_time_days=3)) == MIN_COVER_HORIZON
    inv = inventory(item_id=["a", "b"], lead_time_days=[30, 2], review_period_days=[7, 60])
    assert InventoryCalculator.required_horizon(inv) == 62
    assert InventoryCalculator.required_horizon(inventory(item_id=["a"], lead_time_days=358)) == 365
    with pytest.raises(ForecastingError, match=r"at most 365 days.*item\(s\) far"):
        InventoryCalculator.required_horizon(inventory(item_id=["near", "far"], lead_time_days=[7, 359]))


def test_reorder_forecasts_only_the_inventory_items():
    # "short" has 3 days of history, too few for any model: it must not even be prepared
    history = pd.concat([constant_history({"A": 2.0, "B": 4.0}), constant_history({"short": 1.0}, days=3)])
    inv = inventory(item_id=["B", "A"], lead_time_days=40)
    table = by_item(InventoryCalculator.reorder(ModelFactory.create("ma7"), history, inv))
    assert sorted(table.index) == ["A", "B"]
    assert table.loc["A", "order_up_to"] == 94.0 and table.loc["B", "reorder_point"] == 160.0


def test_reorder_accepts_prepared_history():
    prepared = prepare_history(constant_history({"A": 2.0, "B": 4.0, "C": 1.0}))
    inv = inventory(item_id=["C", "A"])
    table = by_item(InventoryCalculator.reorder(ModelFactory.create("ma7"), prepared, inv))
    assert table.loc["C", "reorder_point"] == 7.0 and table.loc["A", "reorder_point"] == 14.0


def test_reorder_names_inventory_items_without_history():
    history = constant_history({"A": 2.0})
    inv = inventory(item_id=["A", "ghost", "phantom"])
    with pytest.raises(NotFoundError, match="without sales history: ghost, phantom"):
        InventoryCalculator.reorder(ModelFactory.create("ma7"), history, inv)
    with pytest.raises(NotFoundError, match="without sales history: ghost"):
        InventoryCalculator.reorder(ModelFactory.create("ma7"), prepare_history(history), inventory(item_id=["ghost"]))


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lead_time_days": [7, -1]}, r"lead_time_days must be a whole number of days >= 0; bad for item\(s\) b"),
        ({"lead_time_days": [2.5, 7]}, r"lead_time_days must be a whole number.*item\(s\) a"),
        ({"review_period_days": [7, -7]}, r"review_period_days must be a whole number.*item\(s\) b"),
        ({"service_level": [1.2, 0.9]}, r"service_level must be a number strictly between 0 and 1.*item\(s\) a"),
        ({"service_level": [0.9, 0.0]}, r"service_level must be .*item\(s\) b"),
        ({"pack_size": [0.0, 1.0]}, r"pack_size must be a number > 0; bad for item\(s\) a"),
        ({"moq": [1.0, -5.0]}, r"moq must be a number >= 0.*item\(s\) b"),
        ({"on_order": [-1.0, 0.0]}, r"on_order must be a number >= 0.*item\(s\) a"),
        ({"on_hand": ["ten", 1.0]}, r"on_hand must be a number >= 0.*item\(s\) a"),
        ({"on_hand": [np.nan, 1.0]}, r"on_hand must be a number >= 0.*item\(s\) a"),
        ({"on_hand": [5.0, -1.0]}, r"on_hand must be a number >= 0.*item\(s\) b"),
        ({"unit_cost": [-2.0, 1.0]}, r"unit_cost must be empty or a number >= 0.*item\(s\) a"),
        ({"item_id": ["a", "a"]}, r"repeats item_id\(s\) a"),
        ({"item_id": ["a", ""]}, r"empty item_id"),
    ],
)
def test_bad_inventory_values(change, message):
    inv = inventory(item_id=["a", "b"]).assign(**change)
    with pytest.raises(ForecastingError, match=message):
        InventoryCalculator.from_paths(constant_paths(["a", "b"], 1.0), inv, "test")


def test_missing_column_and_empty_inventory():
    with pytest.raises(ForecastingError, match="missing required column.*on_order"):
        InventoryCalculator.from_paths(
            constant_paths(["a"], 1.0), inventory(item_id=["a"]).drop(columns="on_order"), "test"
        )
    with pytest.raises(ForecastingError, match="missing required column.*lead_time_days"):
        InventoryCalculator.required_horizon(inventory(item_id=["a"]).drop(columns="lead_time_days"))
    with pytest.raises(ForecastingError, match="no rows"):
        InventoryCalculator.from_paths(constant_paths(["a"], 1.0), inventory(item_id=[]), "test")


@pytest.mark.parametrize("level", [1.2, 0.0, 1.0, -0.5, "high"])
def test_bad_service_level_override(level):
    with pytest.raises(ForecastingError, match="service level"):
        InventoryCalculator.from_paths(constant_paths(["a"], 1.0), inventory(item_id=["a"]), "test", level)


def test_bad_override_fails_before_any_forecast():
    class Exploding(NormalQuantileModel):
        def _predict(self, *args):
            raise AssertionError("the forecast must not run")

    with pytest.raises(ForecastingError, match="service level"):
        InventoryCalculator.reorder(Exploding(), constant_history({"a": 1.0}), inventory(item_id=["a"]), 1.5)


def test_inventory_item_without_paths_or_with_too_short_paths():
    with pytest.raises(NotFoundError, match=r"no forecast .* item\(s\) b"):
        InventoryCalculator.from_paths(constant_paths(["a"], 1.0), inventory(item_id=["a", "b"]), "test")
    inv = inventory(item_id=["a"], lead_time_days=25, review_period_days=7)
    with pytest.raises(ForecastingError, match=r"cover 28 days .* item\(s\) a"):
        InventoryCalculator.from_paths(constant_paths(["a"], 1.0), inv, "test")
    nan_paths = paths_of(np.full((1, 5, 28), np.nan), ["a"])
    with pytest.raises(ForecastingError, match=r"no complete sample path .* item\(s\) a"):
        InventoryCalculator.from_paths(nan_paths, inventory(item_id=["a"]), "test")


# --- projected stock: the table's own expected demand, stock on order, the suggested order --------------


def test_projection_by_hand_with_stock_on_order_arriving_on_its_due_date():
    # 2 units a day; 5 on hand; 10 on order due on the 3rd forecast day; lead time 4, review 7 (order-up-to 22)
    inv = inventory(item_id=["a", "b"], on_hand=5.0, on_order=10.0, lead_time_days=4, review_period_days=7,
                    on_order_due=["2024-03-03", None])
    plan = InventoryCalculator.plan_from_paths(constant_paths(["a", "b"], 2.0), inv, "test")
    table = by_item(plan.table)
    a = plan.projection[plan.projection.item_id == "a"]
    assert a["date"].iloc[0] == pd.Timestamp("2024-03-01") and (a["expected_demand"] == 2.0).all()
    assert a["projected_stock"].tolist()[:9] == [3, 1, 9, 7, 5, 3, 1, -1, -3]  # 10 arrive on day 3
    # the stock-out is where that line goes below 0: the table and the chart agree by construction
    assert table.loc["a", "days_of_cover"] == 8 and table.loc["a", "stockout_date"] == pd.Timestamp("2024-03-08")
    # position 15 is above the reorder point 8: "ok", so no suggested order to add (issue 19)
    assert np.isnan(table.loc["a", "order_qty"]) and table.loc["a", "on_order_due"] == pd.Timestamp("2024-03-03")
    assert (a["with_suggested_order"] == a["projected_stock"]).all()
    # without a due date the stock on order arrives after the lead time (day 4): 5 - 2 - 2 - 2 < 0 on day 3
    b = plan.projection[plan.projection.item_id == "b"]
    assert b["projected_stock"].tolist()[:5] == [3, 1, -1, 7, 5]
    assert table.loc["b", "days_of_cover"] == 3 and table.loc["b", "on_order_due"] == pd.Timestamp("2024-03-04")


def test_overdue_stock_on_order_counts_from_the_first_day_and_bad_due_dates_are_named():
    inv = inventory(item_id=["a"], on_hand=0.0, on_order=6.0, on_order_due=["2024-01-15"])
    plan = InventoryCalculator.plan_from_paths(constant_paths(["a"], 2.0), inv, "test")
    assert plan.projection["projected_stock"].tolist()[:4] == [4, 2, 0, -2]
    with pytest.raises(ForecastingError, match=r"on_order_due must be empty or a date YYYY-MM-DD.*item\(s\) a"):
        InventoryCalculator.plan_from_paths(constant_paths(["a"], 2.0), inventory(item_id=["a"], on_order_due=["soon"]),
                                            "test")
