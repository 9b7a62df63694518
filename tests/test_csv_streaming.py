"""Big CSV files: the streamed read (pyarrow, a block at a time) and where the size limits apply.

The block size is made tiny here so that a few thousand rows span many
blocks; the catalogue-size run is in benchmarks/bench_csv.py.
"""
from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.core.errors import InvalidInputError
from forecasting.io import csv_reader, sales_csv
from forecasting.io.csv_reader import RESTART, read_validated
from forecasting.io.sales_csv import iter_sales_file, read_sales_csv

BLOCK = 4096


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", BLOCK)


def catalogue(items: int, days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "item_id": np.repeat([f"SKU-{i:04d}" for i in range(items)], days),
        "date": np.tile(pd.date_range("2024-01-01", periods=days), items),
        "quantity": rng.poisson(4, items * days) + rng.integers(0, 4, items * days) / 4,
        "promo": rng.integers(0, 2, items * days).astype(float),
    })


def spreadsheet(frame: pd.DataFrame, variant: str) -> bytes:
    """``frame`` as a spreadsheet of ``variant`` writes it (the dialects of docs/data-formats.md)."""
    frame = frame.copy()
    iso = frame["date"].dt.strftime("%Y-%m-%d")
    if variant == "comma":
        return frame.assign(date=iso).to_csv(index=False).encode()
    if variant == "excel-europe":  # ; + decimal commas + DD.MM.YYYY + CRLF + spelled header
        frame.columns = ["Item ID", "Date", "Quantity", "promo"]
        text = frame.assign(Date=frame["Date"].dt.strftime("%d.%m.%Y")).to_csv(
            index=False, sep=";", decimal=",", lineterminator="\r\n")
        return text.encode()
    if variant == "windows-1252":  # ; + decimal commas + ids with accents, no byte-order mark
        frame["item_id"] = frame["item_id"].str.replace("SKU", "Crème")
        return frame.assign(date=iso).to_csv(index=False, sep=";", decimal=",").encode("cp1252")
    if variant == "bom-tab":
        return ("\ufeff" + frame.assign(date=iso).to_csv(index=False, sep="\t")).encode("utf-8")
    raise ValueError(variant)


VARIANTS = ("comma", "excel-europe", "windows-1252", "bom-tab")


@pytest.mark.parametrize("variant", VARIANTS)
def test_streamed_blocks_equal_the_text_read(variant, small_blocks, tmp_path):
    """Every dialect is streamed block by block (no fallback) and gives what the row-by-row text read gives."""
    frame = catalogue(12, 150)
    path = tmp_path / "sales.csv"
    path.write_bytes(spreadsheet(frame, variant))
    chunks = list(iter_sales_file(path))
    assert all(c is not RESTART for c in chunks)  # the fast read took the whole file
    assert len(chunks) > 10  # in blocks, never the whole file at once
    streamed = pd.concat(chunks, ignore_index=True)
    careful = read_validated(path, "sales", sales_csv.SALES_COLUMNS, sales_csv._check_chunk, None, None)
    pd.testing.assert_frame_equal(streamed, careful)
    expected = frame.assign(item_id=frame["item_id"].str.replace("SKU", "Crème") if variant == "windows-1252"
                            else frame["item_id"])
    pd.testing.assert_frame_equal(streamed.drop(columns="_row"), expected, check_dtype=False)
    assert streamed["_row"].tolist() == list(range(2, len(frame) + 2))


def test_a_compressed_file_is_streamed(small_blocks, tmp_path):
    frame = catalogue(5, 100)
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(gzip.compress(spreadsheet(frame, "comma")))
    chunks = list(iter_sales_file(path))
    assert all(c is not RESTART for c in chunks) and len(chunks) > 2
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True).drop(columns="_row"), frame,
                                  check_dtype=False)


def test_a_bad_cell_in_a_late_block_is_named_by_the_text_read(small_blocks, tmp_path):
    frame = catalogue(10, 100).assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d"))
    frame.loc[950, "quantity"] = -2.0
    frame.loc[951, "date"] = "2024-02-30"
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as info:
        list(iter_sales_file(path))
    assert [(p.row, p.problem.split(" (")[0]) for p in info.value.problems] == [
        (952, "negative quantity"), (953, "unparsable date")]


def test_repeated_pairs_in_different_blocks_reject_the_file(small_blocks, tmp_path, capsys):
    frame = catalogue(10, 100).assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d"))
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # row 5 again as the last row, 1001 rows later
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as whole:
        read_sales_csv(path)
    assert "repeated (item_id, date) pair at rows 5, 1002" in str(whole.value)
    assert main(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7", "--chunk-items", "3"]) == 2
    assert capsys.readouterr().err == f"error: {whole.value}\n"


def test_a_batch_forecast_takes_a_file_over_the_row_limit_of_uploads(small_blocks, monkeypatch, tmp_path, capsys):
    """The row limit is for files read whole: a batch job streams any number of rows."""
    monkeypatch.setattr(csv_reader, "DEFAULT_MAX_ROWS", 500)
    path = tmp_path / "sales.csv"
    frame = catalogue(20, 60)
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match="more than 500 rows"):
        read_sales_csv(path)
    out = tmp_path / "forecast.csv"
    assert main(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7", "--chunk-items", "6",
                 "--output", str(out)]) == 0, capsys.readouterr().err
    forecast = pd.read_csv(out)
    assert len(forecast) == 20 * 7 and forecast["item_id"].nunique() == 20
    # the same numbers as MA7 by hand: the mean of each item's last 7 days
    last_week = frame.groupby("item_id")["quantity"].apply(lambda q: q.iloc[-7:].mean())
    first_day = forecast.groupby("item_id").first()
    np.testing.assert_allclose(first_day["forecast"].to_numpy(), last_week.loc[first_day.index].to_numpy(), rtol=1e-6)


class CountingBytes(io.BytesIO):
    """An upload that counts the bytes handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.handed_out += len(data)
        return data

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.handed_out += count
        return count


@pytest.mark.parametrize("stop_early", [True, False])
def test_an_upload_over_the_row_limit_is_refused_before_it_is_read_whole(stop_early, small_blocks):
    data = spreadsheet(catalogue(200, 500), "comma")
    upload = CountingBytes(data)
    with pytest.raises(InvalidInputError, match=r"has more than 1,000 rows \(the limit\)$"):
        read_sales_csv(upload, max_rows=1000, stop_early=stop_early)
    assert upload.handed_out < len(data) / 4  # 100,000 rows on offer; refused within the first blocks


def test_the_byte_limit_is_checked_before_reading(tmp_path):
    upload = CountingBytes(spreadsheet(catalogue(3, 100), "comma"))
    with pytest.raises(InvalidInputError, match="the limit is"):
        read_sales_csv(upload, max_bytes=1000)
    assert upload.handed_out == 0


def test_a_file_over_the_row_limit_is_refused_by_the_streamed_read_not_after_a_text_read(
    small_blocks, monkeypatch, tmp_path
):
    """The limit stops the first read; the slow text read (which names bad rows) never starts."""
    monkeypatch.setattr(csv_reader, "DEFAULT_MAX_ROWS", 500)

    def text_read(*args, **kwargs):
        raise AssertionError("the file was read a second time, as text")

    monkeypatch.setattr(csv_reader, "_chunks", text_read)
    path = tmp_path / "sales.csv"
    path.write_bytes(spreadsheet(catalogue(20, 60), "comma"))
    with pytest.raises(InvalidInputError, match=r"has more than 500 rows \(the limit\)$"):
        read_sales_csv(path)


def test_import_sales_streams_a_file_over_the_row_limit_in_parts_as_one_import(
    db_url, small_blocks, monkeypatch, tmp_path, capsys
):
    """``import-sales`` takes a file of any size: split by item, validated whole, written a part at a time."""
    from forecasting.batch import staging
    from forecasting.services import data_access
    from forecasting.storage import Database
    from tests.support.db import database_state

    monkeypatch.setattr(csv_reader, "DEFAULT_MAX_ROWS", 500)
    monkeypatch.setattr(data_access, "IMPORT_PART_ITEMS", 3)  # several parts
    monkeypatch.setattr(staging, "MIN_PART_ROWS", 100)
    database = Database(db_url)
    assert main(["create-client", "Acme Foods", "--database-url", db_url]) == 0
    before = database_state(database)
    frame = catalogue(20, 60)
    frame.loc[frame["item_id"] == "SKU-0007", "promo"] = 0.0
    path = tmp_path / "sales.csv"
    path.write_bytes(spreadsheet(frame, "excel-europe"))
    capsys.readouterr()
    assert main(["import-sales", "--client", "Acme Foods", str(path), "--database-url", db_url]) == 0
    assert capsys.readouterr().out == "sales: 1,200 rows (1,200 inserted, 0 updated) for 20 items (20 new)\n"
    after = database_state(database)
    assert [v for _, v in after["versions"]] == [v + 1 for _, v in before["versions"]]  # one import
    stored = pd.DataFrame(after["sales"], columns=["item", "date", "quantity"])
    ids = {pk: external for pk, external, *_ in after["items"]}
    stored = stored.assign(item_id=stored["item"].map(ids), date=pd.to_datetime(stored["date"]))
    stored = stored.sort_values(["item_id", "date"]).reset_index(drop=True)
    np.testing.assert_array_equal(stored["item_id"], frame["item_id"])
    np.testing.assert_array_equal(stored["date"], frame["date"])
    np.testing.assert_allclose(stored["quantity"], frame["quantity"])
    assert after["counts"]["sales_covariates"] == int((frame["promo"] != 0).sum())


@pytest.mark.parametrize("bad", ["repeated pair", "negative quantity"])
def test_import_sales_of_a_bad_big_file_imports_nothing(bad, db_url, small_blocks, monkeypatch, tmp_path, capsys):
    from forecasting.batch import staging
    from forecasting.services import data_access
    from forecasting.storage import Database
    from tests.support.db import database_state

    monkeypatch.setattr(data_access, "IMPORT_PART_ITEMS", 3)
    monkeypatch.setattr(staging, "MIN_PART_ROWS", 100)
    database = Database(db_url)
    assert main(["create-client", "Acme Foods", "--database-url", db_url]) == 0
    before = database_state(database)
    frame = catalogue(20, 60).assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d"))
    if bad == "repeated pair":
        frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
        message = "repeated (item_id, date) pair at rows 5, 1202"
    else:
        frame.loc[1100, "quantity"] = -1.0
        message = "negative quantity at row 1102"
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["import-sales", "--client", "Acme Foods", str(path), "--database-url", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: sales file {path} rejected, nothing imported") and message in err
    assert database_state(database) == before
