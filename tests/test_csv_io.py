"""The CSV formats of docs/data-formats.md: validation with row numbers, defaults, formula-safe export."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from forecasting.core.errors import InvalidInputError
from forecasting.io import csv_reader
from forecasting.io.csv_export import neutralise_formulas, to_csv_bytes
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.sales_csv import read_sales_csv


def sales(text: str) -> pd.DataFrame:
    return read_sales_csv(io.BytesIO(text.encode()))


def test_sales_file_is_parsed_with_covariates():
    frame = sales("item_id,date,quantity,promo\nA,2024-01-01,3,0\nB,2024-01-02,4.5,1\n")
    assert frame["item_id"].tolist() == ["A", "B"]
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-02"]
    assert frame["quantity"].tolist() == [3.0, 4.5]
    assert frame["promo"].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    "body,message",
    [
        ("A,2024-01-01,-1\n", "negative quantity at row 2"),
        ("A,2024-01-01,abc\n", "non-numeric quantity at row 2"),
        ("A,2024-01-01,\n", "missing quantity at row 2"),
        ("A,01/02/2024,1\n", "ambiguous date with slashes (day/month or month/day?): write YYYY-MM-DD or "
         "DD.MM.YYYY at row 2"),
        ("A,2024-02-30,1\n", "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY) at row 2"),
        ("A,2024-01-01,\"1,234.5\"\n", "non-numeric quantity (a thousands separator? write 1234.5) at row 2"),
        (",2024-01-01,1\n", "empty item_id at row 2"),
        ("A,2024-01-01,1\nA,2024-01-02,1\nA,2024-01-01,2\n", "repeated (item_id, date) pair at rows 2, 4"),
    ],
)
def test_sales_errors_name_rows_and_problem(body, message):
    with pytest.raises(InvalidInputError) as info:
        sales("item_id,date,quantity\n" + body)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_at_most_twenty_rows_of_a_kind_are_listed_and_a_hopeless_file_is_not_read_whole(monkeypatch):
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 500)
    body = "".join(f"A{k},2024-01-01,-1\n" for k in range(3_000))  # 500 problems in the first chunk of 500
    with pytest.raises(InvalidInputError) as info:
        sales("item_id,date,quantity\n" + body)
    assert len(info.value.problems) == 20
    assert "rows 2, 3, 4" in str(info.value) and ", 22" not in str(info.value)
    assert "(reading stopped at row 501)" in str(info.value)  # after the first chunk (lines 2 to 501)


def test_more_than_twenty_problems_say_how_many_more_when_the_whole_file_is_read():
    body = "".join(f"A,2024-01-{d:02d},-1\n" for d in range(1, 29))
    for stop_early in (True, False):  # all in the first chunk: both read it all
        with pytest.raises(InvalidInputError) as info:
            read_sales_csv(io.BytesIO(("item_id,date,quantity\n" + body).encode()), stop_early=stop_early)
        assert info.value.total == 28 and len(info.value.problems) == 20 and info.value.counts == {
            "negative quantity": 28}
        assert str(info.value).endswith(', 21 and 8 more ("-1") (28 problems in all)')
        assert "reading stopped" not in str(info.value)


EXPECTED = pd.DataFrame({
    "item_id": ["A-1", "A-1", "B"],
    "date": pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01"]),
    "quantity": [3.5, 2.0, 1250.75],
})


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Item ID,Date,Quantity\nA-1,2024-01-30,3.5\nA-1,2024-01-31,2\nB,2024-02-01,1250.75\n",
                     id="spelled-header"),
        pytest.param(b"ITEM_ID;DATE;QUANTITY\r\nA-1;30.01.2024;3,5\r\nA-1;31.01.2024;2\r\nB;01.02.2024;1250,75\r\n",
                     id="semicolon-decimal-comma-dotted-dates"),
        pytest.param(b"item id\tdate\tquantity\nA-1\t2024-01-30\t3,5\nA-1\t2024-01-31\t2\nB\t2024-02-01\t1250,75\n",
                     id="tab"),
        pytest.param(b"item-id|date|quantity\nA-1|2024-01-30|3.5\nA-1|2024-01-31|2\nB|2024-02-01|1250.75\n", id="pipe"),
        pytest.param("\ufeffItem Id,Date,Quantity\nA-1,2024-01-30,3.5\nA-1,2024-01-31,2\nB,2024-02-01,1250.75\n"
                     .encode("utf-8"), id="byte-order-mark"),
    ],
)
def test_sales_files_as_spreadsheets_export_them_are_read(raw):
    frame = read_sales_csv(io.BytesIO(raw))
    pd.testing.assert_frame_equal(frame, EXPECTED, check_dtype=False)


def test_a_bad_cell_in_a_european_file_names_the_cause_and_row():
    raw = b"Item ID;Date;Quantity\nA;30.01.2024;3,5\nA;31.01.2024;zwei\nA;1/2/2024;1\n"
    with pytest.raises(InvalidInputError) as info:
        read_sales_csv(io.BytesIO(raw))
    assert [(p.row, p.problem.split(" (")[0]) for p in info.value.problems] == [
        (3, "non-numeric quantity"), (4, "ambiguous date with slashes")]


def test_windows_encoded_names_are_read():
    raw = "item_id;on_hand;on_order;lead_time_days;name\nA;10;0;3;Crème brûlée\n".encode("cp1252")
    inv = read_inventory_csv(io.BytesIO(raw))
    assert inv["name"].tolist() == ["Crème brûlée"]


def test_inventory_header_spellings_and_decimal_commas():
    raw = (b"Item ID;On Hand;On Order;Lead Time Days;Service Level;Unit Cost;On Order Due;Name\n"
           b"A;10,5;0;3;0,9;2,75;05.02.2024;Pasta 1,5 kg\n")
    row = read_inventory_csv(io.BytesIO(raw)).iloc[0]
    assert (row.on_hand, row.service_level, row.unit_cost) == (10.5, 0.9, 2.75)
    assert row.on_order_due == pd.Timestamp("2024-02-05") and row["name"] == "Pasta 1,5 kg"


def test_missing_column_and_empty_file():
    with pytest.raises(InvalidInputError, match="missing required column") as info:
        sales("item_id,day,quantity\nA,2024-01-01,1\n")
    assert "found 'item_id', 'day', 'quantity', read with delimiter ','" in str(info.value)
    with pytest.raises(InvalidInputError, match="is empty"):
        sales("")
    with pytest.raises(InvalidInputError, match="no data rows"):
        sales("item_id,date,quantity\n")


def test_size_and_row_limits():
    text = "item_id,date,quantity\n" + "".join(f"A,2024-01-{d:02d},1\n" for d in range(1, 11))
    with pytest.raises(InvalidInputError, match="the limit is"):
        read_sales_csv(io.BytesIO(text.encode()), max_bytes=50)
    with pytest.raises(InvalidInputError, match="more than 5 rows"):
        read_sales_csv(io.BytesIO(text.encode()), max_rows=5)


def test_inventory_defaults_and_validation():
    inv = read_inventory_csv(io.BytesIO(b"item_id,on_hand,on_order,lead_time_days\nA,10,5,3\n"), default_service_level=0.9)
    row = inv.iloc[0]
    assert (row.review_period_days, row.service_level, row.moq, row.pack_size) == (7, 0.9, 0, 1)
    assert np.isnan(row.unit_cost) and row["name"] == ""
    bad = b"item_id,on_hand,on_order,lead_time_days,service_level,pack_size\nA,1,0,2.5,1.2,0\nA,1,0,2,0.9,1\n"
    with pytest.raises(InvalidInputError) as info:
        read_inventory_csv(io.BytesIO(bad))
    text = str(info.value)
    assert "lead_time_days must be a whole number of days >= 0 at row 2" in text
    assert "service_level must be a number strictly between 0 and 1 at row 2" in text
    assert "pack_size must be a number > 0 at row 2" in text


def test_export_neutralises_formulas_in_text_cells_only():
    frame = pd.DataFrame(
        {"name": ["=cmd|'/c calc'!A1", "+1", "-x", "@sum", "\tx", "ok", "a=b"], "qty": [-1.5, 2, 3, 4, 5, 6, 7]}
    )
    safe = neutralise_formulas(frame)
    assert safe["name"].tolist() == ["'=cmd|'/c calc'!A1", "'+1", "'-x", "'@sum", "'\tx", "ok", "a=b"]
    assert safe["qty"].tolist() == frame["qty"].tolist()  # numbers are not text
    text = to_csv_bytes(frame.assign(date=pd.Timestamp("2024-05-01"))).decode()
    assert text.splitlines()[1] == "'=cmd|'/c calc'!A1,-1.5,2024-05-01"


def test_typed_fast_read_equals_the_careful_read(tmp_path):
    """Clean files take a typed read; it must give exactly what the row-by-row checks give."""
    from forecasting.io import sales_csv
    from forecasting.io.csv_reader import read_validated

    rng = np.random.default_rng(5)
    lines = [f"SKU{i % 7},{d:%Y-%m-%d},{q},{p}" for i, (d, q, p) in enumerate(
        zip(pd.date_range("2024-01-01", periods=300).repeat(1)[: 300], rng.poisson(3, 300), rng.integers(0, 2, 300))
    )]
    text = "item_id,date,quantity,promo\n" + "\n".join(lines) + "\n"
    path = tmp_path / "s.csv"
    path.write_text(text)
    careful = read_validated(path, "sales", sales_csv.SALES_COLUMNS, sales_csv._check_chunk, None, None).drop(
        columns="_row"
    )
    pd.testing.assert_frame_equal(read_sales_csv(path), careful)
    pd.testing.assert_frame_equal(read_sales_csv(io.BytesIO(text.encode())), careful)


def test_doubtful_cells_fall_back_to_the_careful_read():
    # a trailing blank in an id is stripped by the careful read; text in a covariate is named by row
    frame = sales("item_id,date,quantity\nA ,2024-01-01,1\nA,2024-01-02,2\n")
    assert frame["item_id"].tolist() == ["A", "A"]
    with pytest.raises(InvalidInputError, match="non-numeric promo at row 3"):
        sales("item_id,date,quantity,promo\nA,2024-01-01,1,0\nA,2024-01-02,2,yes\n")
