"""Malformed input files: every kind of problem reported at once, one line, exit 2 (never 1), no error page.

A corpus of broken sales and inventory files goes through every entry point:
the file-mode CLI (forecast, backtest, reorder), the database CLI
(import-sales, import-inventory, SQLite file), the readers for frames and
Parquet, and the app's upload (Streamlit AppTest through the Data page).
"""
from __future__ import annotations

import codecs
import gzip
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.inventory_input import validate_inventory
from forecasting.applications.inventory.parameters import edit_values
from forecasting.cli import main
from forecasting.core.errors import InvalidInputError
from forecasting.core.sales import validate_sales_frame
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.sales_csv import read_sales_csv
from tests.support.app import login, open_page
from tests.support.demo_database import PLANNER

SALES_HEAD = "item_id,date,quantity\n"
INVENTORY_HEAD = "item_id,on_hand,on_order,lead_time_days\n"
GOOD_SALES = SALES_HEAD + "".join(f"A,2024-01-{d:02d},{d}\n" for d in range(1, 29))
GOOD_INVENTORY = INVENTORY_HEAD + "A,5,0,3\n"


def _wide(columns: int) -> bytes:
    names = ["item_id", "date", "quantity"] + [f"c{i}" for i in range(columns - 3)]
    return (",".join(names) + "\n" + ",".join(["A", "2024-01-01", "1"] + ["0"] * (columns - 3)) + "\n").encode()


def _invalid_utf8_after_the_sniffed_start() -> bytes:
    good = "".join(f"A{i},2024-01-01,1\n" for i in range(6_000)).encode()  # over the 64 KB the sniffing reads
    return SALES_HEAD.encode() + good + b"B\xff\xfe,2024-01-02,1\n"


#: name -> (file bytes, a piece of the one-line message)
SALES_CORPUS: dict[str, tuple[bytes, str]] = {
    "repeated header": (b"item_id,date,quantity,Quantity\nA,2024-01-01,1,2\n",
                        'repeats the column name(s) "quantity" in its header'),
    "empty file": (b"", "is empty"),
    "only a byte-order mark": (codecs.BOM_UTF8, "is empty"),
    "header only": (SALES_HEAD.encode(), "has a header but no data rows"),
    "binary garbage": (np.random.default_rng(7).bytes(3_000), "sales file"),
    "UTF-16 without its byte-order mark": (GOOD_SALES.encode("utf-16-le"), "missing required column"),
    "invalid UTF-8 late in the file": (_invalid_utf8_after_the_sniffed_start(), "not a readable CSV"),
    "5,000 columns": (_wide(5_000), "has 5,000 columns; the limit is 100"),
    "quoted newline in an item id": ((SALES_HEAD + '"A\nB",2024-01-01,1\n').encode(),
                                     'control character (line break, tab, NUL...) at row 2 ("A\\nB")'),
    "NUL in an item id": (SALES_HEAD.encode() + b"A\x00B,2024-01-01,1\n",
                          'control character (line break, tab, NUL...) at row 2 ("A\\u0000B")'),
    "missing columns": (b"item,day,qty\nA,2024-01-01,1\n", "missing required column(s) item_id, date, quantity"),
    "more fields than the header": ((SALES_HEAD + "A,2024-01-01,1,9\n").encode(), "more fields than its header"),
    "fewer fields than the header": ((SALES_HEAD + "A,2024-01-01\n").encode(), "missing quantity at row 2"),
    "unterminated quote": ((SALES_HEAD + '"A,2024-01-01,1\n').encode(), "sales file"),
    "huge number": ((SALES_HEAD + "A,2024-01-01,1.7e308\n").encode(),
                    'quantity beyond the limit of 1,000,000,000 at row 2 ("1.7e308")'),
    "overflowing number": ((SALES_HEAD + "A,2024-01-01,1e400\n").encode(), "quantity must be a finite number"),
    "negative": ((SALES_HEAD + "A,2024-01-01,-3\n").encode(), 'negative quantity at row 2 ("-3")'),
    "NaN and inf as text": ((SALES_HEAD + "A,2024-01-01,NaN\nA,2024-01-02,inf\nA,2024-01-03,-inf\n").encode(),
                            'non-numeric quantity at row 2 ("NaN"); quantity must be a finite number at rows 3, 4'),
    "dates out of range": ((SALES_HEAD + "A,1677-01-01,1\nA,9999-12-31,1\nA,0001-01-01,1\n").encode(),
                           "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY) at rows 2, 3, 4"),
    "blank and empty lines": ((SALES_HEAD + "\n\n,,\n").encode(), "empty item_id at row"),
    "every kind at once": ((SALES_HEAD + "A,2024-01-01,ten\nB,2024-01-01,1\nB,2024-01-01,2\n").encode(),
                           'non-numeric quantity at row 2 ("ten"); repeated (item_id, date) pair at rows 3, 4 '
                           '("B, 2024-01-01") (3 problems in all)'),
}

INVENTORY_CORPUS: dict[str, tuple[bytes, str]] = {
    "repeated header": (b"item_id,on_hand,On Hand,on_order,lead_time_days\nA,1,1,0,3\n",
                        'repeats the column name(s) "on_hand"'),
    "empty file": (b"", "is empty"),
    "header only": (INVENTORY_HEAD.encode(), "has a header but no data rows"),
    "binary garbage": (np.random.default_rng(8).bytes(3_000), "inventory file"),
    "5,000 columns": ((",".join(["item_id", "on_hand", "on_order", "lead_time_days"]
                                + [f"x{i}" for i in range(4_996)]) + "\nA,1,0,3" + ",0" * 4_996 + "\n").encode(),
                      "has 5,000 columns"),
    "NUL in an item id": (INVENTORY_HEAD.encode() + b"A\x00,1,0,3\n", "control character"),
    "quoted newline in an item id": ((INVENTORY_HEAD + '"A\nB",1,0,3\n').encode(), '("A\\nB")'),
    "huge stock": ((INVENTORY_HEAD + "A,1.7e308,1e12,3\n").encode(),
                   'on_hand beyond the limit of 1,000,000,000 at row 2 ("1.7e308"); on_order beyond the limit'),
    "huge unit cost": (b"item_id,on_hand,on_order,lead_time_days,unit_cost\nA,1,0,3,1e300\n",
                       "unit_cost beyond the limit of 1,000,000,000 at row 2"),
    "every kind at once": ((INVENTORY_HEAD + "A,x,0,3\nA,1,-1,3\nB,1,0,2.5\n").encode(),
                           'non-numeric on_hand at row 2 ("x"); repeated item_id at rows 2, 3 ("A"); on_order must be '
                           'a number >= 0 at row 3 ("-1"); lead_time_days must be a whole number of days >= 0 at row '
                           '4 ("2.5") (5 problems in all)'),
}


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "unexpected" not in err and "Traceback" not in err
    return lines[0]


def _run(capsys, *argv: str) -> tuple[int, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(list(argv))
    assert not caught, [str(w.message) for w in caught][:3]  # no warning spam (one message, nothing else)
    return code, capsys.readouterr().err


@pytest.fixture
def good_files(tmp_path: Path) -> tuple[Path, Path]:
    sales, inventory = tmp_path / "good_sales.csv", tmp_path / "good_inventory.csv"
    sales.write_text(GOOD_SALES)
    inventory.write_text(GOOD_INVENTORY)
    return sales, inventory


@pytest.fixture
def database(tmp_path: Path, capsys) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert main(["create-client", "Acme", "--database-url", url]) == 0
    capsys.readouterr()
    return url


@pytest.mark.parametrize("name", list(SALES_CORPUS))
def test_cli_reports_a_malformed_sales_file_on_one_line_with_exit_2(name, tmp_path, good_files, database, capsys):
    data, message = SALES_CORPUS[name]
    path = tmp_path / "sales.csv"
    path.write_bytes(data)
    _, inventory = good_files
    for argv in (
        ["forecast", "--input", str(path), "--model", "ma7", "--horizon", "3"],
        ["backtest", "--input", str(path), "--model", "ma7", "--horizon", "3"],
        ["reorder", "--input", str(path), "--inventory", str(inventory)],
        ["import-sales", "--client", "Acme", str(path), "--database-url", database],
    ):
        code, err = _run(capsys, *argv)
        line = _one_error_line(err)
        assert code == 2 and message in line, (argv[0], line)


@pytest.mark.parametrize("name", list(INVENTORY_CORPUS))
def test_cli_reports_a_malformed_inventory_file_on_one_line_with_exit_2(name, tmp_path, good_files, database,
                                                                        capsys):
    data, message = INVENTORY_CORPUS[name]
    path = tmp_path / "inventory.csv"
    path.write_bytes(data)
    sales, _ = good_files
    for argv in (
        ["reorder", "--input", str(sales), "--inventory", str(path)],
        ["import-inventory", "--client", "Acme", str(path), "--database-url", database],
    ):
        code, err = _run(capsys, *argv)
        line = _one_error_line(err)
        assert code == 2 and message in line, (argv[0], line)


def test_a_damaged_compressed_file_is_a_validation_error(tmp_path, capsys):
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(b"not gzip at all")
    code, err = _run(capsys, "forecast", "--input", str(path), "--model", "ma7", "--horizon", "3")
    assert code == 2 and "not a readable CSV" in _one_error_line(err)
    path.write_bytes(gzip.compress(GOOD_SALES.encode()) + b"A,2024-01-01,1")  # a good start, garbage after it
    code, err = _run(capsys, "forecast", "--input", str(path), "--model", "ma7", "--horizon", "3")
    assert code == 2 and "not a readable CSV" in _one_error_line(err)


def test_a_file_with_a_text_quantity_and_repeated_pairs_names_both_kinds_everywhere(tmp_path):
    """Issue 21: both kinds in one report, with rows, quoted values and counts; the same from every reader."""
    text = SALES_HEAD + "A,2024-01-01,ten\nB,2024-01-01,1\nB,2024-01-01,2\nC,2024-01-01,-1\n"
    expected = ('non-numeric quantity at row 2 ("ten"); repeated (item_id, date) pair at rows 3, 4 '
                '("B, 2024-01-01"); negative quantity at row 5 ("-1") (4 problems in all)')
    with pytest.raises(InvalidInputError) as from_csv:
        read_sales_csv(io.BytesIO(text.encode()))
    assert str(from_csv.value).endswith(expected)
    assert from_csv.value.counts == {"non-numeric quantity": 1, "repeated (item_id, date) pair": 2,
                                     "negative quantity": 1}
    assert [(p.row, p.value) for p in from_csv.value.problems] == [(2, "ten"), (3, "B, 2024-01-01"),
                                                                   (4, "B, 2024-01-01"), (5, "-1")]
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    with pytest.raises(InvalidInputError) as from_frame:
        validate_sales_frame(frame)
    assert str(from_frame.value) == "sales data rejected, nothing imported: " + expected
    path = tmp_path / "sales.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(InvalidInputError) as from_parquet:
        stage_error(path)
    assert str(from_parquet.value).endswith(expected)


def stage_error(path: Path) -> None:
    """The file-mode CLI's reading of a sales file (staged in parts), raising its error."""
    from forecasting.batch.staging import stage_sales

    stage_sales(path, path.parent / "parts", items_per_part=1)


def test_quantities_are_bounded_for_every_entry_point():
    """1.7e308 passed every rule and made later sums infinite: the bound is 1e9, one rule, the row named."""
    with pytest.raises(InvalidInputError, match=r"quantity beyond the limit of 1,000,000,000 at row 3 \("):
        read_sales_csv(io.BytesIO((SALES_HEAD + "A,2024-01-01,1\nA,2024-01-02,1.7e308\n").encode()))
    with pytest.raises(InvalidInputError, match=r"promo beyond the limit of 1,000,000,000 at row 2 \(\"-2e9\"\)"):
        read_sales_csv(io.BytesIO(b"item_id,date,quantity,promo\nA,2024-01-01,1,-2e9\n"))
    assert read_sales_csv(io.BytesIO((SALES_HEAD + "A,2024-01-01,1e9\n").encode()))["quantity"].tolist() == [1e9]
    with pytest.raises(InvalidInputError, match="quantity beyond the limit of 1,000,000,000 at row 2"):
        validate_sales_frame(pd.DataFrame({"item_id": ["A"], "date": ["2024-01-01"], "quantity": [1.7e308]}))
    inventory = pd.DataFrame({"item_id": ["a", "b"], "on_hand": [1.0, 2e9], "on_order": [0.0, 0.0],
                              "lead_time_days": [3, 3], "unit_cost": [1e10, 1.0]})
    with pytest.raises(InvalidInputError) as info:
        validate_inventory(inventory)
    assert str(info.value) == ("inventory on_hand beyond the limit of 1,000,000,000; bad for item(s) b. "
                               "unit_cost beyond the limit of 1,000,000,000; bad for item(s) a (2 problems)")
    assert edit_values({"unit_cost": 1e12})[1] == ["unit_cost beyond the limit of 1,000,000,000, got 1000000000000.0"]


def test_a_nul_in_an_item_id_is_refused_by_the_reader_as_by_every_other_entry_point():
    """The CSV reader used to cut the id at the NUL and import 'A'; the API refuses NUL: one rule now."""
    with pytest.raises(InvalidInputError, match=r'at row 3 \("A\\u0000B"\)'):
        read_sales_csv(io.BytesIO(SALES_HEAD.encode() + b"C,2024-01-01,1\nA\x00B,2024-01-01,1\n"))
    with pytest.raises(InvalidInputError, match="control character"):
        validate_sales_frame(pd.DataFrame({"item_id": ["A\x00B"], "date": ["2024-01-01"], "quantity": [1]}))
    with pytest.raises(InvalidInputError, match="control character"):
        validate_inventory(pd.DataFrame({"item_id": ["A\tB"], "on_hand": [1.0], "on_order": [0.0],
                                         "lead_time_days": [3]}))
    with pytest.raises(InvalidInputError, match=r'at row 2 \("A\\u0000"\)'):
        read_inventory_csv(io.BytesIO(INVENTORY_HEAD.encode() + b"A\x00,1,0,3\n"))
    # a NUL elsewhere than in an id is named too, not silently cut
    with pytest.raises(InvalidInputError, match=r'non-numeric quantity at row 2 \("1\\u00002"\)'):
        read_sales_csv(io.BytesIO(SALES_HEAD.encode() + b"A,2024-01-01,1\x002\n"))


def test_a_5000_column_file_gives_one_message_and_no_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InvalidInputError) as info:
            read_sales_csv(io.BytesIO(_wide(5_000)))
        # below the limit a wide file is read without pandas' fragmentation warnings
        frame = read_sales_csv(io.BytesIO(_wide(100)))
    assert str(info.value) == ("sales file upload has 5,000 columns; the limit is 100 (the format's columns and "
                               "covariates)")
    assert frame.shape == (1, 100) and not caught


def test_a_utf16_export_with_its_byte_order_mark_is_read():
    frame = read_sales_csv(io.BytesIO(codecs.BOM_UTF16_LE + GOOD_SALES.encode("utf-16-le")))
    assert len(frame) == 28 and frame["quantity"].sum() == sum(range(1, 29))


# --- the app's upload -------------------------------------------------------------------------------


def _upload_each(at, kind: str, corpus: dict[str, tuple[bytes, str]]):
    at.radio(key="data_kind").set_value(kind)
    at = at.run()
    for name, (data, message) in corpus.items():
        at.file_uploader(key=f"data_{kind}_file").upload(f"{kind}.csv", data, "text/csv")
        at = at.run()
        assert not at.exception, (name, [e.value for e in at.exception])
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "\n" not in errors[0], (name, errors)
        assert message.lower() in errors[0].lower(), (name, errors[0])  # the page starts it with a capital
        assert not [b for b in at.button if b.key == "data_import"], name
    return at


def test_the_upload_reports_every_malformed_file_without_an_error_page(backend):
    client = backend.client_id("Demo Foods")
    version = backend.data.data_version(client)
    at = open_page(login(PLANNER.username, PLANNER.password), "data")
    at = _upload_each(at, "sales", SALES_CORPUS)
    _upload_each(at, "inventory", INVENTORY_CORPUS)
    assert backend.data.data_version(client) == version


def test_the_upload_lists_every_kind_with_its_values(backend):
    at = open_page(login(PLANNER.username, PLANNER.password), "data")
    at.file_uploader(key="data_sales_file").upload("bad.csv", SALES_CORPUS["every kind at once"][0], "text/csv")
    at = at.run()
    table = at.table[0].value
    assert table.index.tolist() == [2, 3, 4]
    assert table["Problem"].tolist() == ["non-numeric quantity", "repeated (item_id, date) pair",
                                         "repeated (item_id, date) pair"]
    assert table["Value"].tolist() == ['"ten"', '"B, 2024-01-01"', '"B, 2024-01-01"']
