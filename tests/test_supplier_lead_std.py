"""``lead_time_std_days`` in the supplier file (docs/data-formats.md): read, checked, stored, used by the policy."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest

from forecasting.core.errors import InvalidInputError
from forecasting.io.suppliers_csv import read_suppliers_csv
from tests.support.db import sales_frame

SUPPLIERS = """record,supplier,lead_time_days,lead_time_std_days,review_period_days,item_id,pack_size
supplier,Acme,5,2,7,,
supplier,Bolt,4,,7,,
item,Acme,,1.5,,A,1
item,Acme,,,,B,1
item,Bolt,,,,C,1
"""


def test_the_reader_takes_the_std_of_suppliers_and_links_empty_meaning_not_given():
    parsed = read_suppliers_csv(SUPPLIERS.encode())
    assert parsed.suppliers.set_index("supplier")["lead_time_std_days"].fillna(-1).to_dict() == {"Acme": 2.0,
                                                                                                 "Bolt": -1}
    assert parsed.links.set_index("item_id")["lead_time_std_days"].fillna(-1).to_dict() == {"A": 1.5, "B": -1,
                                                                                            "C": -1}


def test_bad_std_values_are_listed_by_line_and_nothing_is_read():
    text = ("record,supplier,lead_time_days,lead_time_std_days,review_period_days,item_id\n"
            "supplier,Acme,5,-1,7,\n"          # line 2: negative
            "supplier,Bolt,300,30,7,\n"        # line 3: 300 + 90 + 7 > 365
            "item,Bolt,,x,,A\n"                # line 4: not a number (so Bolt's std: too long as well)
            "item,Bolt,,,,B\n")                # line 5: Bolt's 300 + 3 x 30 + 7 is too long for B as well
    with pytest.raises(InvalidInputError) as caught:
        read_suppliers_csv(text.encode())
    rows = sorted((p.row, p.problem) for p in caught.value.problems)
    assert [r for r, _ in rows] == [2, 3, 4, 4, 5]  # line 4: not a number, and Bolt's terms too long
    assert "lead_time_std_days must be a number of days >= 0" in rows[0][1]
    assert all("at most 365 days" in rows[k][1] for k in (1, 2, 4)) and "lead_time_std_days must be" in rows[3][1]


def test_imported_std_reaches_the_items_and_the_reorder_table(cli, tmp_path):
    """Link's std, else the supplier's; an item without either keeps its own (from the inventory file)."""
    assert cli("create-client", "Shop")[0] == 0
    sales = tmp_path / "sales.csv"
    start = (date.today() - timedelta(days=60)).isoformat()
    sales_frame({"A": 5, "B": 3, "C": 2, "D": 4}, days=60, start=start).to_csv(sales, index=False,
                                                                               date_format="%Y-%m-%d")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,lead_time_std_days\n"
                         "A,0,0,2,0\nB,0,0,2,0\nC,0,0,2,0.5\nD,0,0,2,3\n")
    assert cli("import-sales", "--client", "Shop", str(sales))[0] == 0
    assert cli("import-inventory", "--client", "Shop", str(inventory))[0] == 0
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    code, _, err = cli("import-suppliers", "--client", "Shop", str(path))
    assert code == 0, err
    code, out, err = cli("reorder", "--client", "Shop")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out)).set_index("item_id")
    assert table["lead_time_std_days"].to_dict() == {"A": 1.5, "B": 2.0, "C": 0.5, "D": 3.0}
    assert table["lead_time_days"].to_dict() == {"A": 5, "B": 5, "C": 4, "D": 2}
