"""Moving many rows at once: PostgreSQL binary COPY in and out, SQLite executemany.

Rows travel as numpy column arrays. On PostgreSQL fixed-width columns are
packed into COPY's binary format with one numpy structured array (no per-row
Python); on SQLite rows stream through one ``executemany``.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

#: days between 1970-01-01 (numpy's epoch) and 2000-01-01 (PostgreSQL's binary date epoch)
PG_DATE_OFFSET = 10957
#: COPY BINARY signature, flags and header-extension length
PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
PG_COPY_TRAILER = b"\xff\xff"
#: column kinds for binary COPY: big-endian numpy format and byte width
PG_KINDS = {"int4": ">i4", "int8": ">i8", "float8": ">f8", "date": ">i4"}
#: bound parameters per IN list (SQLite allows 32,766)
MAX_IN_LIST = 10_000


#: a column kind: a name in PG_KINDS, or a numpy dtype for a fixed-size ``bytea`` holding raw values
Kind = str | np.dtype


def _field_dtype(kind: Kind) -> np.dtype:
    return np.dtype(PG_KINDS[kind]) if isinstance(kind, str) else np.dtype(kind)


def _record_dtype(kinds: Sequence[Kind]) -> np.dtype:
    fields: list[tuple] = [("n", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"len{i}", ">i4"), (f"v{i}", _field_dtype(kind))]
    return np.dtype(fields)


def copy_in(
    conn: Connection, table: str, columns: Sequence[str], kinds: Sequence[Kind], arrays: Sequence[np.ndarray]
) -> None:
    """PostgreSQL: COPY the arrays into ``table`` in binary format (no NULLs; dates as day numbers).

    A numpy-dtype kind is a fixed-size ``bytea`` of raw values ([rows, values] array), as in :func:`copy_out`.
    """
    dtype = _record_dtype(kinds)
    n = len(arrays[0]) if arrays else 0
    records = np.empty(n, dtype=dtype)
    records["n"] = len(kinds)
    for i, (kind, values) in enumerate(zip(kinds, arrays)):
        records[f"len{i}"] = _field_dtype(kind).itemsize
        records[f"v{i}"] = np.asarray(values) - PG_DATE_OFFSET if kind == "date" else values
    payload = io.BytesIO(PG_COPY_HEADER + records.tobytes() + PG_COPY_TRAILER)
    cursor = conn.connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)", payload)
    finally:
        cursor.close()


def copy_out(conn: Connection, query: str, params: dict, kinds: Sequence[Kind]) -> list[np.ndarray]:
    """PostgreSQL: run ``query`` (psycopg2 ``%(name)s`` parameters) through binary COPY; one array per column.

    Every column must be NOT NULL and of a fixed size (see :data:`Kind`); dates come back as day numbers.
    """
    cursor = conn.connection.cursor()
    try:
        sql = cursor.mogrify(query, params).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    finally:
        cursor.close()
    raw = buffer.getbuffer()
    ext = int.from_bytes(raw[15:19], "big")
    start = 19 + ext
    dtype = _record_dtype(kinds)
    body = len(raw) - start - len(PG_COPY_TRAILER)
    if body % dtype.itemsize:
        raise RuntimeError("unexpected COPY output (a NULL or a column of another type?)")
    records = np.frombuffer(raw, dtype=dtype, count=body // dtype.itemsize, offset=start)
    out = []
    for i, kind in enumerate(kinds):
        field = _field_dtype(kind)
        values = records[f"v{i}"].astype(field.base.newbyteorder("="))  # a bytea kind gives [rows, values]
        out.append(values + PG_DATE_OFFSET if kind == "date" else values)
    return out


def insert_on_conflict(conn: Connection, table: Table):
    """An INSERT into ``table`` in the connection's dialect, so that it takes ``on_conflict_do_*`` (PostgreSQL or
    SQLite: both spell the upsert the same way)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def executemany(conn: Connection, sql: str, rows: Iterable[tuple]) -> None:
    """SQLite: one prepared statement over many rows, streamed from an iterable (e.g. a ``zip`` of lists)."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def day_strings(days: np.ndarray) -> list[str]:
    """Day numbers as ISO ``YYYY-MM-DD`` strings (how SQLAlchemy stores dates in SQLite)."""
    return np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]")).tolist()


def chunks(values: Sequence, size: int = MAX_IN_LIST) -> Iterator[Sequence]:
    """Consecutive slices of at most ``size`` (IN lists stay under the driver's parameter limit)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
