"""Policy targets (docs/inventory-policy.md): class matrix, lifecycle, fill-rate levels, lead-time variability."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.inventory.targets import (
    ClassPolicy,
    expected_shortage,
    fill_rate_level,
    fill_rate_reorder_point,
)
from forecasting.core.errors import InvalidInputError
from tests.test_inventory import (
    by_item,
    constant_paths,
    inventory,
    normal_paths,
    paths_of,
)


def _classes(**rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"item_id": k, "abc": a, "xyz": x, "lifecycle": life} for k, (a, x, life) in rows.items()])


def _normal_loss(z: np.ndarray | float) -> np.ndarray:
    """Standard normal loss function G(z) = E[(Z - z)^+] = phi(z) - z (1 - Phi(z))."""
    return stats.norm.pdf(z) - z * stats.norm.sf(z)


def test_fill_rate_level_matches_the_normal_loss_function():
    # daily N(100, 20^2), L = 7, R = 7: textbook E[short per cycle] at S =
    # s_{L+R} G((S - m_{L+R}) / s_{L+R}) - s_L G((S - m_L) / s_L), set equal to (1 - b) x 700
    mean, sd, lead, review = 100.0, 20.0, 7, 7
    paths = normal_paths(["N"], mean, sd, n_paths=40_000, horizon=lead + review, seed=3).values
    lead_totals, cycle_totals = paths[:, :, :lead].sum(axis=2), paths.sum(axis=2)
    m_l, s_l = lead * mean, sd * np.sqrt(lead)
    m_c, s_c = (lead + review) * mean, sd * np.sqrt(lead + review)
    for target in (0.95, 0.98, 0.995):
        def gap(s: float) -> float:
            return s_c * _normal_loss((s - m_c) / s_c) - s_l * _normal_loss((s - m_l) / s_l) - (1 - target) * review * mean
        textbook = optimize.brentq(gap, m_l - 5 * s_c, m_c + 6 * s_c)
        found = fill_rate_level(lead_totals, cycle_totals, np.array([target]))[0]
        # compare the safety stocks (S - mean), the part the target decides
        assert found - m_c == pytest.approx(textbook - m_c, abs=3.0), target
        assert expected_shortage(lead_totals, cycle_totals, np.array([found]))[0] == pytest.approx(
            (1 - target) * review * mean, rel=0.05)


def _poisson_shortage(mu: float, s: int) -> float:
    """E[(X - s)^+] for X ~ Poisson(mu), exactly: mu - s + sum_{k<s} (s - k) p(k)."""
    k = np.arange(s)
    return mu - s + float(np.sum((s - k) * stats.poisson.pmf(k, mu)))


def test_fill_rate_level_matches_the_exact_poisson_shortage():
    rate, lead, review, target = 2.0, 5, 7, 0.95
    rng = np.random.default_rng(11)
    daily = rng.poisson(rate, size=(1, 100_000, lead + review)).astype(float)
    lead_totals, cycle_totals = daily[:, :, :lead].sum(axis=2), daily.sum(axis=2)
    allowed = (1 - target) * rate * review

    def short(s: int) -> float:
        return _poisson_shortage(rate * (lead + review), s) - _poisson_shortage(rate * lead, s)

    exact = next(s for s in range(200) if short(s) <= allowed)  # smallest whole S meeting the target
    assert short(exact - 1) > allowed * 1.05 and short(exact) < allowed * 0.95  # a clear margin either side
    found = fill_rate_level(lead_totals, cycle_totals, np.array([target]))[0]
    assert exact - 1 < found <= exact
    for s in (exact - 2, exact, exact + 2):  # the sample estimate of the shortage itself, at whole S
        assert expected_shortage(lead_totals, cycle_totals, np.array([float(s)]))[0] == pytest.approx(short(s), rel=0.03)


def test_fill_type_in_the_inventory_column_uses_the_fill_rate_level():
    paths = normal_paths(["C", "F"], n_paths=4000, horizon=28)
    values = paths.values
    lead_totals, cycle_totals = values[1:, :, :7].sum(axis=2), values[1:, :, :14].sum(axis=2)
    textbook = fill_rate_level(lead_totals, cycle_totals, np.array([0.95]))[0]
    for on_hand, on_order in ((0.0, 0.0), (300.0, 200.0), (textbook, 10.0)):
        inv = inventory(item_id=["C", "F"], review_period_days=7, service_level=0.95, service_type=["cycle", "fill"],
                        on_hand=on_hand, on_order=on_order)
        table = by_item(InventoryCalculator.from_paths(paths, inv, "test"))
        f = fill_rate_level(lead_totals, cycle_totals, np.array([0.95]), np.array([on_hand + on_order]))[0]
        assert table.loc["F", "order_up_to"] == pytest.approx(f)
        assert table.loc["C", "order_up_to"] == pytest.approx(np.quantile(values[0, :, :14].sum(axis=1), 0.95))
    assert table.loc["F", "order_up_to"] == pytest.approx(textbook)  # a position above the level: the textbook one
    # a 95% fill rate needs far less than a 95% chance of no stock-out in the cycle
    assert table.loc["F", "safety_stock"] < table.loc["C", "safety_stock"] / 2
    assert (table.loc["C", "service_type"], table.loc["F", "service_type"]) == ("cycle", "fill")


def test_bad_service_type_is_an_error_naming_the_item():
    with pytest.raises(InvalidInputError, match="service_type must be empty, cycle or fill; bad for item.*B"):
        InventoryCalculator.from_paths(constant_paths(["A", "B"], 1.0), inventory(
            item_id=["A", "B"], service_type=["fill", "sometimes"]), "test")


def test_class_matrix_own_level_new_floor_and_dead_items():
    ids = ["ax", "own", "newcz", "dead", "flagged"]
    paths = normal_paths(ids, n_paths=2000)
    inv = inventory(item_id=ids, on_hand=[0.0, 0.0, 0.0, 500.0, 300.0], on_order=[0.0, 0.0, 0.0, 40.0, 0.0],
                    service_level=[None, 0.8, None, None, None], phase_out=[0, 0, 0, 0, 1], unit_cost=2.0)
    classes = _classes(ax=("A", "X", "active"), own=("A", "X", "active"), newcz=("C", "Z", "new"),
                       dead=("A", "X", "dead"), flagged=("B", "Y", "active"))
    table = by_item(InventoryCalculator.from_paths(paths, inv, "test", classes=classes))
    assert table.loc["ax", "service_level"] == 0.98  # default matrix, A/X
    assert table.loc["own", "service_level"] == 0.8  # the item's own level wins
    assert table.loc["newcz", "service_level"] == 0.95  # C/Z is 0.85, a new item gets at least 0.95
    for item in ("dead", "flagged"):
        row = table.loc[item]
        assert row["lifecycle"] == "dead"
        assert (row["reorder_point"], row["order_up_to"], row["safety_stock"]) == (0, 0, 0)
        assert row["action"] == "ok" and np.isnan(row["order_qty"])  # an ok line carries no quantity (issue 19)
        assert row["action"] == "ok"
    assert table.loc["dead", "excess_qty"] == 540.0  # the whole position is excess to clear
    assert table.loc["flagged", "excess_qty"] == 300.0
    assert table.loc["ax", "excess_qty"] == 0.0
    custom = ClassPolicy(levels={**{c: 0.9 for c in ("AX", "AY", "AZ", "BX", "BY", "BZ", "CX", "CY", "CZ")}, "AX": 0.99})
    table = by_item(InventoryCalculator.from_paths(paths, inv, "test", classes=classes, policy=custom))
    assert table.loc["ax", "service_level"] == 0.99
    # the caller's override beats everything
    table = by_item(InventoryCalculator.from_paths(paths, inv, "test", 0.7, classes=classes))
    assert set(table["service_level"]) == {0.7}


def test_invalid_policy_is_rejected():
    with pytest.raises(InvalidInputError, match="AX: service level must be strictly between 0 and 1"):
        ClassPolicy(levels={"AX": 1.0})
    with pytest.raises(InvalidInputError, match="ABC thresholds"):
        ClassPolicy(abc_thresholds=(0.95, 0.8))


def test_zero_lead_time_std_gives_todays_numbers_exactly():
    paths = normal_paths(["A", "B"], n_paths=1000)
    base = inventory(item_id=["A", "B"], lead_time_days=[3, 9], on_hand=[100.0, 900.0])
    today = InventoryCalculator.from_paths(paths, base, "test")
    same = InventoryCalculator.from_paths(paths, base.assign(lead_time_std_days=0.0), "test")
    pd.testing.assert_frame_equal(today, same)


def test_lead_time_std_samples_a_discretised_normal_per_path():
    # constant demand 10/day, L = 7, std 2: lead times round(7 + 2z) have P(<= 9) = Phi(1.25) = 0.894 and
    # P(<= 10) = Phi(1.75) = 0.960, so the 0.93-quantile of the lead-time demand is 10 days x 10 = 100
    paths = constant_paths(["A"], 10.0, n_paths=1000, horizon=28)
    inv = inventory(item_id=["A"], lead_time_days=7, lead_time_std_days=2.0, service_level=0.93)
    row = by_item(InventoryCalculator.from_paths(paths, inv, "test")).loc["A"]
    assert row["reorder_point"] == 100.0
    assert row["order_up_to"] == 170.0  # + R = 7 days of 10
    assert row["lead_time_demand"] == pytest.approx(70.0, abs=1.5)  # mean lead time stays 7
    # paths must reach L + ceil(3 x std) + R = 20 days
    short = constant_paths(["A"], 10.0, horizon=19)
    with pytest.raises(Exception, match="sample paths cover 19 days"):
        InventoryCalculator.from_paths(short, inv, "test")


def test_required_horizon_includes_lead_time_spread():
    inv = inventory(item_id=["A"], lead_time_days=20, lead_time_std_days=4.0, review_period_days=7)
    assert InventoryCalculator.required_horizon(inv) == 20 + 12 + 7


def test_reorder_classifies_from_history():
    dates = pd.date_range(end="2024-02-29", periods=400, freq="D")
    history = pd.concat([
        pd.DataFrame({"item_id": "live", "date": dates, "quantity": 10.0}),
        pd.DataFrame({"item_id": "gone", "date": dates, "quantity": np.where(np.arange(400) < 150, 5.0, 0.0)}),
    ])
    inv = inventory(item_id=["live", "gone"], on_hand=[10.0, 30.0])
    from forecasting.modes.factory import ModelFactory

    table = by_item(InventoryCalculator.reorder(ModelFactory.create("ma7"), history, inv))
    assert table.loc["live", ["abc", "xyz", "lifecycle"]].tolist() == ["A", "X", "active"]
    assert table.loc["live", "service_level"] == 0.98
    assert table.loc["gone", "lifecycle"] == "dead"
    assert np.isnan(table.loc["gone", "order_qty"]) and table.loc["gone", "excess_qty"] == 30.0


def test_cli_reorder_reports_classes_and_targets(tmp_path, capsys):
    from tests.test_cli_file_mode import run, write_sales

    # A: 400 days of 10 (A/X, active); D: sold 5/day until 200 days ago (dead)
    sales = write_sales(tmp_path / "s.csv", {"A": [10] * 400, "D": [5] * 200 + [0] * 200})
    inv = tmp_path / "inv.csv"
    inv.write_text("item_id,on_hand,on_order,lead_time_days,service_type,lead_time_std_days\n"
                   "A,0,0,7,,0\nD,30,0,7,fill,1.5\n")
    code, out, err = run(["reorder", "--input", str(sales), "--inventory", str(inv)], capsys)
    assert code == 0, err
    table = pd.read_csv(__import__("io").StringIO(out), keep_default_na=False).set_index("item_id")
    assert table.loc["A", ["abc", "xyz", "lifecycle", "service_type"]].tolist() == ["A", "X", "active", "cycle"]
    assert float(table.loc["A", "service_level"]) == 0.98  # the A/X cell of the default matrix
    assert table.loc["D", ["lifecycle", "service_type"]].tolist() == ["dead", "fill"]
    assert table.loc["D", "order_qty"] == "" and float(table.loc["D", "excess_qty"]) == 30  # ok: no quantity
    assert float(table.loc["D", "lead_time_std_days"]) == 1.5
    code, out, err = run(["reorder", "--input", str(sales), "--inventory", str(inv), "--service-type", "fill",
                          "--service-level", "0.9"], capsys)
    table = pd.read_csv(__import__("io").StringIO(out), keep_default_na=False).set_index("item_id")
    assert table.loc["A", "service_type"] == "fill" and float(table.loc["A", "service_level"]) == 0.9


@pytest.mark.parametrize("extra,message", [
    (["--service-type", "always"], "argument --service-type: invalid choice: 'always'"),
])
def test_cli_bad_service_type_exits_2(extra, message, tmp_path, capsys):
    from tests.test_cli_file_mode import run, write_sales

    sales = write_sales(tmp_path / "s.csv", {"A": [1] * 30})
    inv = tmp_path / "inv.csv"
    inv.write_text("item_id,on_hand,on_order,lead_time_days\nA,0,0,7\n")
    code, _, err = run(["reorder", "--input", str(sales), "--inventory", str(inv), *extra], capsys)
    assert code == 2 and message in err and err.count("\n") == 1
    inv.write_text("item_id,on_hand,on_order,lead_time_days,service_type\nA,0,0,7,often\n")
    code, _, err = run(["reorder", "--input", str(sales), "--inventory", str(inv)], capsys)
    assert code == 2 and "service_type must be empty, cycle or fill" in err and err.count("\n") == 1


def test_api_reorder_takes_and_reports_the_service_type(api):
    headers = {"X-API-Key": api.key_a}
    request = {"item_ids": ["A1", "A2"], "service_level": 0.9, "service_type": "fill"}
    answer = api.http.post("/api/v1/reorder", json=request, headers=headers)
    assert answer.status_code == 200, answer.text
    rows = pd.DataFrame(answer.json()["items"]).set_index("item_id").sort_index()
    expected = api.service.reorder(api.a, ["A1", "A2"], "ma7", service_level=0.9, service_type="fill")
    expected = expected.set_index("item_id").sort_index()
    assert set(rows["service_type"]) == {"fill"} and set(rows["service_level"]) == {0.9}
    np.testing.assert_allclose(rows["order_up_to"], expected["order_up_to"], rtol=1e-12)
    assert set(rows["lifecycle"]) <= {"new", "active", "dead"} and set(rows["abc"]) <= {"A", "B", "C"}
    bad = api.http.post("/api/v1/reorder", json={**request, "service_type": "often"}, headers=headers)
    assert bad.status_code == 422 and "Traceback" not in bad.text


def _lost_in_cycle(lead_totals, cycle_totals, position: float, level: float) -> float:
    """One review cycle replayed path by path, written apart from targets.py: the position serves the lead
    time, what it cannot serve is lost; the order of S - IP arrives with what is left; the cycle is served
    from that, the rest is lost."""
    left = np.maximum(position - lead_totals, 0.0)
    stock = left + max(level - position, 0.0)
    return float(np.mean(np.maximum((cycle_totals - lead_totals) - stock, 0.0)))


def test_with_an_empty_shelf_the_fill_level_covers_the_review_period_by_the_normal_loss_function():
    """IP = 0: everything sold in the lead time is lost anyway, so S only serves the R days after the order
    arrives: the single-period textbook result s_R G((S - m_R) / s_R) = (1 - b) m_R."""
    mean, sd, lead, review = 100.0, 20.0, 7, 7
    paths = normal_paths(["N"], mean, sd, n_paths=40_000, horizon=lead + review, seed=5).values
    lead_totals, cycle_totals = paths[:, :, :lead].sum(axis=2), paths.sum(axis=2)
    m_r, s_r = review * mean, sd * np.sqrt(review)
    for target in (0.95, 0.98):
        textbook = optimize.brentq(lambda s: s_r * _normal_loss((s - m_r) / s_r) - (1 - target) * m_r, 0, 2 * m_r)
        found = fill_rate_level(lead_totals, cycle_totals, np.array([target]), np.array([0.0]))[0]
        assert found == pytest.approx(textbook, abs=2.0), target
        assert _lost_in_cycle(lead_totals[0], cycle_totals[0], 0.0, found) == pytest.approx(
            (1 - target) * m_r, rel=0.05)


def test_the_lost_sales_level_meets_its_target_in_a_replayed_cycle_and_is_the_textbook_one_above_it():
    """Poisson demand, several positions: the units lost in one replayed cycle at the found S are the allowance;
    a position at or above the backorder level gives exactly the backorder level (no order)."""
    rate, lead, review, target = 3.0, 5, 7, 0.95
    rng = np.random.default_rng(12)
    daily = rng.poisson(rate, size=(1, 100_000, lead + review)).astype(float)
    lead_totals, cycle_totals = daily[:, :, :lead].sum(axis=2), daily.sum(axis=2)
    allowed = (1 - target) * rate * review
    textbook = fill_rate_level(lead_totals, cycle_totals, np.array([target]))[0]
    previous = 0.0
    for position in (0.0, 5.0, 10.0, 15.0, 20.0):
        found = fill_rate_level(lead_totals, cycle_totals, np.array([target]), np.array([position]))[0]
        assert position < found <= textbook and found >= previous  # rises with the position, up to the textbook
        assert _lost_in_cycle(lead_totals[0], cycle_totals[0], position, found) == pytest.approx(allowed, rel=0.02)
        previous = found
    for position in (textbook, textbook + 30):
        assert fill_rate_level(lead_totals, cycle_totals, np.array([target]), np.array([position]))[0] == \
            pytest.approx(textbook)


def _totals(daily: np.ndarray, lead: int) -> tuple[np.ndarray, np.ndarray]:
    """(lead-time totals, lead time + review totals) of [items, paths, days] daily demand."""
    return daily[:, :, :lead].sum(axis=2), daily.sum(axis=2)


def test_a_pooled_fill_target_gives_two_items_one_stock_out_probability_and_the_group_its_target():
    """Two normal items 20x apart in volume sharing a fill target: the least total stock meeting the group's fill
    is S_i = m_i + z s_i with one z (the Lagrange condition P(D_{L+R} > S_i) equal), z solving
    sum_i [s_i G(z) - s_L,i G((S_i - m_L,i) / s_L,i)] = (1 - b) x R x sum mu_i (normal loss function G)."""
    lead, review = 7, 7
    mu, sd = np.array([100.0, 5.0]), np.array([20.0, 3.0])
    rng = np.random.default_rng(21)
    daily = mu[:, None, None] + sd[:, None, None] * rng.standard_normal((2, 40_000, lead + review))
    lead_totals, cycle_totals = _totals(daily, lead)
    m_l, s_l = lead * mu, sd * np.sqrt(lead)
    m_c, s_c = (lead + review) * mu, sd * np.sqrt(lead + review)

    def textbook_short(level: np.ndarray) -> np.ndarray:
        return s_c * _normal_loss((level - m_c) / s_c) - s_l * _normal_loss((level - m_l) / s_l)

    for target in (0.95, 0.98):
        z = optimize.brentq(lambda z, b=target: textbook_short(m_c + z * s_c).sum() - (1 - b) * review * mu.sum(),
                            -3, 6)
        found = fill_rate_level(lead_totals, cycle_totals, np.full(2, target))
        out = (cycle_totals > found[:, None]).mean(axis=1)  # each item's stock-out probability per cycle
        assert abs(out[0] - out[1]) <= 2 / 40_000, target  # the same quantile level of both items' paths
        assert (found - m_c) / s_c == pytest.approx([z, z], abs=0.05), target
        demand = (cycle_totals - lead_totals).mean(axis=1).sum()  # the paths' expected demand per cycle
        group_fill = 1 - expected_shortage(lead_totals, cycle_totals, found).sum() / demand
        assert group_fill == pytest.approx(target, abs=1e-6)
        assert 1 - textbook_short(found).sum() / (review * mu.sum()) == pytest.approx(target, abs=0.002)
        # each item alone at the same fill: the slow item (3x the relative spread) needs a higher z, the group
        # spends less in total by giving it the fast item's stock-out probability
        alone = np.array([fill_rate_level(lead_totals[[i]], cycle_totals[[i]], np.array([target]))[0]
                          for i in range(2)])
        assert found[1] < alone[1] and found[0] > alone[0] and found.sum() < alone.sum(), target


@pytest.mark.parametrize("position", [None, 0.0, 650.0, 5000.0])
def test_a_group_of_one_is_the_smallest_level_meeting_its_own_allowance(position):
    """One item per target value (two targets in one call): each level is the per-item rule, the root of
    E[short(S)] = (1 - b) x E[D_R] for its position; and the reorder point the root of E[(D_L - s)^+] = same."""
    lead, review = 7, 7
    daily = normal_paths(["A", "B"], 100.0, 20.0, n_paths=20_000, horizon=lead + review, seed=8).values
    lead_totals, cycle_totals = _totals(daily, lead)
    targets = np.array([0.95, 0.98])
    ip = None if position is None else np.full(2, position)
    found = fill_rate_level(lead_totals, cycle_totals, targets, ip)
    points = fill_rate_reorder_point(lead_totals, cycle_totals, targets)
    for i, target in enumerate(targets):
        allowed = (1 - target) * np.mean(cycle_totals[i] - lead_totals[i])
        own = None if ip is None else ip[[i]]
        lead_i, cycle_i = lead_totals[[i]], cycle_totals[[i]]
        root = optimize.brentq(lambda s, a=allowed, d=lead_i, c=cycle_i, ip=own:
                               expected_shortage(d, c, np.array([s]), ip)[0] - a, 0.0, cycle_i.max())
        assert found[i] == pytest.approx(root, abs=1e-6)
        point = optimize.brentq(lambda s, a=allowed, d=lead_i: np.mean(np.maximum(d - s, 0.0)) - a, 0.0, lead_i.max())
        assert points[i] == pytest.approx(point, abs=1e-6)


def test_a_pooled_fill_target_on_poisson_demand_meets_the_exact_poisson_shortage_in_total():
    """Poisson items at 0.3 and 8 a day sharing a fill target (position above the levels): the group's
    shortage by the exact Poisson formula at the found levels is the allowance, and both levels sit at one
    quantile level of their cycle totals (a discrete distribution: one level within each item's atom)."""
    rate, lead, review, target = np.array([0.3, 8.0]), 5, 7, 0.95
    rng = np.random.default_rng(13)
    daily = rng.poisson(rate[:, None, None], size=(2, 100_000, lead + review)).astype(float)
    lead_totals, cycle_totals = _totals(daily, lead)
    found = fill_rate_level(lead_totals, cycle_totals, np.full(2, target))

    def poisson_short(mean: float, level: float) -> float:
        k = np.arange(int(np.ceil(level)))
        return mean - level + float(np.sum((level - k) * stats.poisson.pmf(k, mean)))

    exact = sum(poisson_short(r * (lead + review), s) - poisson_short(r * lead, s) for r, s in zip(rate, found))
    assert exact == pytest.approx((1 - target) * review * rate.sum(), rel=0.03)
    # the threshold below which a path is short: D_{L+R}, or 0 on a path without demand in the review period
    threshold = np.where(cycle_totals > lead_totals, cycle_totals, 0.0)
    below = (threshold < found[:, None]).mean(axis=1)
    at_most = (threshold <= found[:, None]).mean(axis=1)
    assert below.max() <= at_most.min()  # one common quantile level


def test_fill_items_sharing_a_target_in_one_reorder_run_are_pooled():
    """The calculator pools the fill items of one target (the run's items), leaves cycle and dead items out."""
    rng = np.random.default_rng(4)
    mu = np.array([100.0, 5.0, 100.0, 5.0, 50.0])
    cv = np.array([0.2, 0.6, 0.3, 0.3, 0.3])  # F2: slow and erratic, so pooling moves its level
    daily = mu[:, None, None] * (1 + cv[:, None, None] * rng.standard_normal((5, 4000, 28)))
    paths = paths_of(daily, ["F1", "F2", "C", "D", "G"])
    inv = inventory(item_id=["F1", "F2", "C", "D", "G"], review_period_days=7,
                    service_level=[0.95, 0.95, 0.95, 0.95, 0.98],
                    service_type=["fill", "fill", "cycle", "fill", "fill"], phase_out=[0, 0, 0, 1, 0])
    table = by_item(InventoryCalculator.from_paths(paths, inv, "test"))
    lead_totals, cycle_totals = daily[:, :, :7].sum(axis=2), daily[:, :, :14].sum(axis=2)
    pooled = fill_rate_level(lead_totals[:2], cycle_totals[:2], np.full(2, 0.95), np.zeros(2))
    assert table.loc[["F1", "F2"], "order_up_to"].to_numpy() == pytest.approx(pooled)
    assert table.loc["G", "order_up_to"] == pytest.approx(
        fill_rate_level(lead_totals[[4]], cycle_totals[[4]], np.array([0.98]), np.zeros(1))[0])
    assert table.loc["D", "order_up_to"] == 0.0
    alone = fill_rate_level(lead_totals[[1]], cycle_totals[[1]], np.array([0.95]), np.zeros(1))[0]
    assert table.loc["F2", "order_up_to"] != pytest.approx(alone, rel=0.01)
