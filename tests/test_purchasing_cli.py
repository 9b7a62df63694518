"""Issue 19's command-line contract: import-suppliers and orders (both databases), errors as one line, exit 2."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from tests.support.db import sales_frame

SUPPLIERS = """record,supplier,lead_time_days,currency,item_id,pack_size,moq,unit_cost,supplier_item_code
supplier,Acme,5,EUR,,,,,
item,Acme,,,A,10,20,1.5,AC-1
"""


@pytest.fixture
def client(cli, tmp_path):
    """Sales up to yesterday (so today's approvals fall inside the forecast), A and B out of stock."""
    assert cli("create-client", "Shop")[0] == 0
    sales = tmp_path / "sales.csv"
    start = (date.today() - timedelta(days=60)).isoformat()
    sales_frame({"A": 5, "B": 3}, days=60, start=start).to_csv(sales, index=False, date_format="%Y-%m-%d")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,unit_cost\nA,0,0,2,1\nB,0,0,2,2\n")
    assert cli("import-sales", "--client", "Shop", str(sales))[0] == 0
    assert cli("import-inventory", "--client", "Shop", str(inventory))[0] == 0
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    code, out, err = cli("import-suppliers", "--client", "Shop", str(path))
    assert code == 0, err
    assert out == "imported 1 supplier(s) and 1 item link(s) for client 'Shop'\n"
    return "Shop"


def test_orders_writes_proposal_lines_then_approve_all_puts_them_on_order(cli, client, tmp_path):
    out_file = tmp_path / "orders.csv"
    code, _, err = cli("orders", "--client", client, "--output", str(out_file))
    assert code == 0, err
    lines = pd.read_csv(out_file).set_index("item_id")
    for column in ("supplier", "order", "qty_needed", "qty_rounded", "order_value"):
        assert column in lines.columns
    assert lines.loc["A", "supplier"] == "Acme" and lines.loc["A", "qty_rounded"] % 10 == 0
    assert lines.loc["A", "qty_rounded"] >= 20 and lines.loc["A", "order_value"] == lines.loc["A", "order_qty"] * 1.5
    assert pd.isna(lines.loc["B", "supplier"])  # no supplier: the item's own terms

    code, out, err = cli("orders", "--client", client, "--approve", "all")
    assert code == 0 and "approved 2 line(s)" in err
    approved = pd.read_csv(io.StringIO(out)).set_index("item_id")
    # ordered today (the real date, not the data's as-of date: yesterday), due 5 days (Acme's lead time) later
    assert approved.loc["A", "due_date"] == (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    code, out, _ = cli("orders", "--client", client)
    assert code == 0 and "A" not in set(pd.read_csv(io.StringIO(out))["item_id"].astype(str))


def test_bad_input_is_one_error_line_and_exit_2(cli, client, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("record,supplier,lead_time_days,item_id,pack_size\nsupplier,X,-1,,\nitem,Y,,A,0\n")
    code, _, err = cli("import-suppliers", "--client", client, str(bad))
    assert code == 2 and err.startswith("error: supplier file") and err.count("\n") == 1
    assert "lead_time_days" in err and "unknown supplier" in err and "pack_size" in err
    code, _, err = cli("orders", "--client", client, "--approve", "PO-999")
    assert code == 2 and err == "error: no draft order(s) PO-999 for this client\n"
    code, _, err = cli("orders", "--client", "Nobody")
    assert code == 2 and err.startswith("error: ")
