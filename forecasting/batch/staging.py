"""On-disk staging of a batch job: the sales file split by item, and result parts merged in order.

A long sales file (``item_id,date,quantity`` rows, in any order) is read once,
chunk by chunk, with the rules of the sales format; each chunk's rows go to
one of several Arrow files by a hash of their item id, so that every item's
rows end up together in one part and a chunk of items can be read without
the rest of the file. A second pass over the parts (one part in memory at a
time) checks what needs the whole file: repeated (item_id, date) pairs, with
the same message as for a file read whole.

Results come back per chunk in any order; each is written to a part of its
own, sorted by a key column, and :func:`merge_parts` reads the parts a few
rows at a time and writes one table in key order.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.core.calendar import DAILY, DateTally, Frequency, misfit_error
from forecasting.core.cells import Problems
from forecasting.core.errors import InvalidInputError
from forecasting.core.history import day_numbers_to_dates, to_day_numbers
from forecasting.core.sales import REPEATED_PAIR
from forecasting.io.csv_reader import RESTART, rejected
from forecasting.io.parquet_reader import is_parquet
from forecasting.io.sales_csv import iter_sales_file

#: the column a result part is sorted by (dropped when the table is written)
KEY = "_key"
#: rows per record batch of a result part: what merging holds of each part at a time
PART_BATCH_ROWS = 4_096
#: a CSV's rows are estimated from the bytes of its first lines
SAMPLE_BYTES = 1 << 20
#: parts hold at least this many rows (a file in random item order would otherwise need a part per few items)
MIN_PART_ROWS = 500_000
MAX_PARTS = 1024


@dataclass(frozen=True)
class StagedSales:
    """A sales file split by item: the part files, each part's items (sorted) and first days, the as-of day."""

    parts: tuple[str, ...]
    #: per part: its item ids, sorted
    item_ids: tuple[np.ndarray, ...]
    #: per part: each item's first day (day numbers), in ``item_ids`` order
    first_days: tuple[np.ndarray, ...]
    #: the file's last sales date over all items (a day number)
    as_of: int
    #: the file's bucket, detected from its dates or declared
    freq: Frequency = DAILY


def stage_sales(path: str | Path, folder: Path, items_per_part: int, freq: str | None = None) -> StagedSales:
    """Split a validated sales file into parts of about ``items_per_part`` items (see the module docstring).

    ``freq``: the declared bucket (D, W, M), else detected from the dates
    (:class:`DateTally`); dates off the bucket are refused with their rows.
    Raises InvalidInputError as :func:`read_sales_csv` would for the whole file:
    bad rows and repeated pairs in one error (rows with an unreadable id or
    date are staged for nothing but the check).
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    folder.mkdir(parents=True, exist_ok=True)
    writers: list = []
    schema = None
    n_parts = 0
    last_day: int | None = None
    tally = DateTally()
    problems = Problems()
    for chunk in iter_sales_file(path, problems):
        if chunk is RESTART:  # the typed read gave up: start again from the text read
            for writer in writers:
                writer.close()
            writers, schema, last_day, tally = [], None, None, DateTally()
            continue
        if problems:  # the file is rejected: its rows are staged only for the repeated pairs check
            chunk = chunk[chunk["date"].notna().to_numpy() & (chunk["item_id"] != "").to_numpy()]
        if not len(chunk):
            continue
        frame = pd.DataFrame({"item_id": chunk["item_id"].to_numpy(dtype=object),
                              "day": to_day_numbers(chunk["date"]).astype(np.int32)})
        for column in chunk.columns:
            if column not in ("item_id", "date"):
                frame[column] = chunk[column].to_numpy()
        if schema is None:
            rows_per_item = len(frame) / max(1, frame["item_id"].nunique())
            rows = _estimated_rows(path, len(frame))
            n_parts = min(math.ceil(rows / (rows_per_item * items_per_part)), math.ceil(rows / MIN_PART_ROWS))
            n_parts = max(1, min(n_parts, MAX_PARTS))
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
            writers = [ipc.new_file(str(folder / f"sales-{p:05d}.arrow"), schema) for p in range(n_parts)]
        tally.add(frame["day"].to_numpy())
        newest = int(frame["day"].max())
        last_day = newest if last_day is None else max(last_day, newest)
        part = pd.util.hash_array(frame["item_id"].to_numpy(dtype=object)) % np.uint64(n_parts)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
        table = pa.Table.from_pandas(frame.iloc[order], schema=schema, preserve_index=False)
        for p in range(n_parts):
            if bounds[p + 1] > bounds[p]:
                writers[p].write_table(table.slice(bounds[p], bounds[p + 1] - bounds[p]))
    for writer in writers:
        writer.close()
    if (schema is None or last_day is None) and not problems:
        raise InvalidInputError(f"sales file {path} has a header but no data rows")
    parts = tuple(str(folder / f"sales-{p:05d}.arrow") for p in range(n_parts))
    item_ids, first_days = _check_parts(path, parts if schema is not None else (), problems)
    bucket = tally.frequency(freq)
    _check_bucket(path, parts, bucket, freq is not None)
    return StagedSales(parts, item_ids, first_days, last_day, bucket)


def _estimated_rows(path: str | Path, first_chunk_rows: int) -> float:
    """About how many rows the file has (exact for Parquet; from the first lines' length for CSV)."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        return float(pq.ParquetFile(path).metadata.num_rows)
    if not Path(path).is_file():  # a pipe cannot be read twice: reading a sample would take rows from the reader
        return float(first_chunk_rows)
    size = Path(path).stat().st_size
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    lines = max(1, sample.count(b"\n"))
    return max(float(first_chunk_rows), size / (len(sample) / lines))


def _check_parts(
    path: str | Path, parts: tuple[str, ...], problems: Problems
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Every part's items and first days; the whole file's repeated (item_id, date) pairs are an error.

    One part at a time, on integer codes of the item ids (no Python object per row).
    ``problems`` (the rows' own) are reported with the pairs.
    """
    import pyarrow.compute as pc

    pairs = Problems()
    item_ids, first_days = [], []
    for part in parts:
        table = _read_table(part, ("item_id", "day", "_row"))
        encoded = pc.dictionary_encode(table["item_id"]).combine_chunks()
        codes = encoded.indices.to_numpy().astype(np.int64)
        names = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        day = table["day"].to_numpy().astype(np.int64)
        key = (codes << 32) | (day - day.min())
        order = np.argsort(key, kind="stable")
        same = key[order][1:] == key[order][:-1]
        if same.any():
            repeated = np.zeros(len(key), dtype=bool)
            repeated[order[1:][same]] = repeated[order[:-1][same]] = True
            rows = table["_row"].to_numpy()[repeated]
            first = np.argsort(rows, kind="stable")[: InvalidInputError.MAX_LISTED]
            pairs.count(REPEATED_PAIR, len(rows))
            pairs.extend(_row_problems(rows[first], names[codes[repeated][first]], day[repeated][first]))
        first = np.full(len(names), np.iinfo(np.int64).max)
        np.minimum.at(first, codes, day)
        by_id = np.argsort(names)
        item_ids.append(names[by_id])
        first_days.append(first[by_id])
        del table, key, order
    pairs[:] = sorted(pairs, key=lambda p: p.row)[: InvalidInputError.MAX_LISTED]
    problems.add(pairs)
    if problems:
        raise rejected("sales", str(path), problems)
    return tuple(item_ids), tuple(first_days)


def _check_bucket(path: str | Path, parts: tuple[str, ...], freq: Frequency, declared: bool) -> None:
    """Dates off the file's bucket (declared, or detected from most rows) are one error naming their rows."""
    if freq == DAILY:
        return
    misfits: list[np.ndarray] = []
    total = 0
    for part in parts:
        table = _read_table(part, ("day", "_row"))
        off = ~freq.fits(table["day"].to_numpy())
        if off.any():
            total += int(off.sum())
            misfits.append(np.sort(table["_row"].to_numpy()[off])[: InvalidInputError.MAX_LISTED])
    if total:
        rows = np.sort(np.concatenate(misfits))[: InvalidInputError.MAX_LISTED]
        raise misfit_error(freq, rows.tolist(), total, declared, f"sales file {path}")


def _row_problems(rows: np.ndarray, item_ids: np.ndarray, days: np.ndarray) -> list:
    """The repeated pairs' problems, each pair quoted as the whole-file reader quotes it."""
    from forecasting.core.errors import RowProblem

    dates = day_numbers_to_dates(days.astype(np.int64))
    return [RowProblem(int(r), REPEATED_PAIR, f"{i}, {pd.Timestamp(d):%Y-%m-%d}")
            for r, i, d in zip(rows, item_ids, dates)]


def _read_table(part: str, columns: tuple[str, ...] | None = None, item_ids: np.ndarray | None = None):
    """A staged part as an Arrow table: all its rows, or those of ``item_ids``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc

    with pa.OSFile(part, "rb") as source:
        table = ipc.open_file(source).read_all()
    if columns is not None:
        table = table.select(list(columns))
    if item_ids is not None:
        table = table.filter(pc.is_in(table["item_id"], value_set=pa.array(list(item_ids), type=pa.string())))
    return table


def sales_frame(part: str, item_ids: np.ndarray) -> pd.DataFrame:
    """The long sales frame (``item_id, date, quantity, <covariates>``) of some items of a part."""
    frame = _read_table(part, None, item_ids).to_pandas()
    frame.insert(1, "date", day_numbers_to_dates(frame.pop("day").to_numpy()))
    return frame.drop(columns="_row")


def write_part(frame: pd.DataFrame, path: Path) -> None:
    """A result part (already sorted by :data:`KEY`) as an Arrow file."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table, max_chunksize=PART_BATCH_ROWS)


def merge_parts(parts: list[Path], write: Callable[[pd.DataFrame], None]) -> None:
    """Write the rows of sorted parts in :data:`KEY` order (stable: a key's rows keep their part's order).

    Holds a record batch (PART_BATCH_ROWS rows) of each part at a time: everything up to the
    smallest of the parts' last buffered keys can be written, since no part
    still has a smaller key to come.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc

    if not parts:
        return
    files = [pa.OSFile(str(p), "rb") for p in parts]
    readers = [ipc.open_file(f) for f in files]
    schema = pa.unify_schemas([r.schema for r in readers], promote_options="permissive")
    next_batch = [0] * len(readers)
    buffers: list = [None] * len(readers)
    try:
        while True:
            for i, reader in enumerate(readers):
                if (buffers[i] is None or not len(buffers[i])) and next_batch[i] < reader.num_record_batches:
                    buffers[i] = pa.Table.from_batches([reader.get_batch(next_batch[i])]).cast(schema)
                    next_batch[i] += 1
            live = [i for i in range(len(readers)) if buffers[i] is not None and len(buffers[i])]
            if not live:
                return
            pending = [i for i in live if next_batch[i] < readers[i].num_record_batches]
            bound = min(buffers[i][KEY][-1].as_py() for i in pending) if pending else None
            taken = []
            for i in live:
                table = buffers[i]
                if bound is None:
                    count = len(table)
                else:
                    count = int(pc.sum(pc.less_equal(table[KEY], bound)).as_py() or 0)
                if count:
                    taken.append(table.slice(0, count))
                    buffers[i] = table.slice(count)
            merged = pa.concat_tables(taken)
            merged = merged.take(pc.sort_indices(merged, sort_keys=[(KEY, "ascending")]))
            write(merged.drop_columns([KEY]).to_pandas())
    finally:
        for f in files:
            f.close()
