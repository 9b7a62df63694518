"""The plan commands of docs/cli.md: plan, import-overrides, overrides, fva (SQLite and PostgreSQL)."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.support.db import sales_frame


@pytest.fixture
def acme(cli, tmp_path):
    assert cli("create-client", "Acme")[0] == 0
    sales = tmp_path / "sales.csv"
    sales_frame({"A": 5, "B": 3}, days=60).to_csv(sales, index=False, date_format="%Y-%m-%d")
    assert cli("import-sales", "--client", "Acme", str(sales))[0] == 0
    assert cli("planning-model", "--client", "Acme", "--set", "ma7") == (0, "ma7\n", "")
    return "Acme"


def test_plan_writes_baseline_final_and_quantiles_and_is_reused(cli, acme):
    code, out, err = cli("plan", "--client", acme, "--model", "ma7", "--horizon", "14")
    assert code == 0 and "(made)" in err and "as of 2024-02-29" in err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["item_id", "date", "baseline", "final", "q0.1", "q0.5", "q0.9"]
    assert len(table) == 28 and table["date"].min() == "2024-03-01"
    code, _, err = cli("plan", "--client", acme)
    assert code == 0 and "(reused)" in err


def test_overrides_import_export_and_a_re_plan_after_a_sales_import(cli, acme, tmp_path):
    assert cli("plan", "--client", acme, "--model", "ma7", "--horizon", "14")[0] == 0
    path = tmp_path / "overrides.csv"
    path.write_text("item_id,start_date,end_date,change,kind,reason,note\n"
                    "A,2024-03-01,2024-03-07,50,percent,promotion,spring flyer\n"
                    "B,2024-03-02,2024-03-03,40,total,customer information,\n")
    code, out, _ = cli("import-overrides", "--client", acme, str(path))
    assert (code, out) == (0, "2 override(s) imported\n")
    code, out, _ = cli("overrides", "--client", acme)
    exported = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert exported["item_id"].tolist() == ["A", "B"] and exported["created_by"].tolist() == ["cli", "cli"]
    assert exported["note"].tolist() == ["spring flyer", ""] and exported["reverted"].tolist() == [False, False]
    _, out, _ = cli("plan", "--client", acme)
    table = pd.read_csv(io.StringIO(out))
    a = table[(table["item_id"] == "A") & (table["date"] <= "2024-03-07")]
    assert a["final"].to_numpy() == pytest.approx(a["baseline"].to_numpy() * 1.5)
    assert table[(table["item_id"] == "B") & table["date"].between("2024-03-02", "2024-03-03")]["final"].sum() \
        == pytest.approx(40)
    more = tmp_path / "more.csv"
    more.write_text("item_id,date,quantity\nA,2024-03-01,9\nB,2024-03-01,1\n")
    code, _, err = cli("import-sales", "--client", acme, str(more))
    assert code == 0 and "(made), as of 2024-03-01" in err
    code, out, _ = cli("fva", "--client", acme)
    fva = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(fva.columns[:9]) == ["level", "key", "buckets", "actual", "wape_naive", "wape_plan",
                                                   "wape_final", "fva_plan", "fva_final"]
    assert fva.set_index(["level", "key"]).loc[("reason", "promotion"), "buckets"] == 1


def test_a_bad_override_file_is_one_error_line_exit_2_and_nothing_imported(cli, acme, tmp_path):
    assert cli("plan", "--client", acme, "--model", "ma7", "--horizon", "14")[0] == 0
    path = tmp_path / "bad.csv"
    path.write_text("item_id,start_date,end_date,change,kind,reason,note\n"
                    "ZZZ,2024-03-01,2024-03-07,50,percent,promotion,\n"
                    "A,2024-03-07,2024-03-01,50,percent,promotion,\n"
                    "A,2024-03-01,2024-03-07,-101,percent,promotion,\n"
                    "A,2024-03-01,2024-04-30,5,total,event,\n")
    code, out, err = cli("import-overrides", "--client", acme, str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")
    for text in ["unknown item at row 2", "end_date before start_date at row 3", "percentage below -100 at row 4",
                 "outside the plan's horizon (2024-03-01 to 2024-03-14) at row 5", "nothing imported"]:
        assert text in err
    _, out, _ = cli("overrides", "--client", acme)
    assert len(pd.read_csv(io.StringIO(out))) == 0


def test_import_overrides_without_a_plan_is_an_error(cli, acme, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("item_id,start_date,end_date,change,kind,reason,note\nA,2024-03-01,2024-03-07,5,percent,event,\n")
    code, _, err = cli("import-overrides", "--client", acme, str(path))
    assert code == 2 and "no published plan" in err


def test_batch_reorder_uses_the_plan_with_its_overrides_and_says_so(cli, acme, tmp_path, db_url):
    from forecasting.services.container import build_services
    from tests.support.db import inventory_frame

    inventory = tmp_path / "inventory.csv"
    inventory_frame(["A", "B"], lead_time_days=3, on_hand=20.0).to_csv(inventory, index=False)
    assert cli("import-inventory", "--client", acme, str(inventory))[0] == 0
    code, out, err = cli("reorder", "--client", acme)
    assert code == 0 and "demand: ma7" in err  # no plan yet: a fresh ma7 run
    no_plan = pd.read_csv(io.StringIO(out)).set_index("item_id")
    assert cli("plan", "--client", acme, "--horizon", "14")[0] == 0
    path = tmp_path / "overrides.csv"
    path.write_text("item_id,start_date,end_date,change,kind,reason,note\nA,2024-03-01,2024-03-14,100,percent,event,\n")
    assert cli("import-overrides", "--client", acme, str(path))[0] == 0
    code, out, err = cli("reorder", "--client", acme, "--chunk-items", "1")  # two chunks: the plan reaches both
    services = build_services(db_url)
    plan = services.planning.current_plan(services.data.client_by_name(acme).client_id)
    label = f"plan {plan.plan_id} (ma7, as of {plan.as_of})"
    assert code == 0 and f"demand: {label}, with its overrides" in err
    table = pd.read_csv(io.StringIO(out)).set_index("item_id")
    expected = services.forecasts.reorder(services.data.client_by_name(acme).client_id, None)
    expected = expected.set_index("item_id")
    assert (table["model"] == label).all()
    assert table.loc["A", "order_up_to"] == pytest.approx(expected.loc["A", "order_up_to"])
    assert table.loc["B", "order_up_to"] == pytest.approx(no_plan.loc["B", "order_up_to"])  # B: no override
    assert table.loc["A", "order_up_to"] > 1.5 * no_plan.loc["A", "order_up_to"]  # A's demand doubled
    code, out, err = cli("reorder", "--client", acme, "--model", "ma7")
    assert "demand: ma7" in err and pd.read_csv(io.StringIO(out)).set_index("item_id").loc["A", "order_up_to"] \
        == pytest.approx(no_plan.loc["A", "order_up_to"])
    services.database.dispose()
