"""Chunked, all-or-nothing validation of uploaded CSV files.

A file is read in chunks of text (never typed by pandas guessing), each chunk
is checked column by column, and reading stops as soon as enough problems are
known to reject the file: a 2 GB file with a bad row near the top is not read
whole just to fail. Row numbers are file line numbers (the header is row 1),
as a spreadsheet shows them.

Clean files are first streamed by pyarrow's CSV reader (a block of
:data:`BLOCK_BYTES` at a time, columns typed in C++), which is many times
faster than pandas' text read; any doubt sends the file to the text read,
which names the rows. Limits (bytes, rows) belong to whole-file reads such
as uploads, and are checked before or while reading, never after: a batch
job's streamed read (:func:`iter_validated`) has none.
"""
from __future__ import annotations

import io
import lzma
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from forecasting.core.cells import Problems, header_problem
from forecasting.core.errors import InvalidInputError, RowProblem, shortened
from forecasting.io.dialect import Dialect, canonical_header, decimal_commas_to_points, guarded, nul_back, sniff

CHUNK_ROWS = 200_000
#: what the fast streamed read holds of the file at a time (about 700,000 rows of ``item_id,date,quantity``)
BLOCK_BYTES = 16 * 1024**2
#: default limits of a file read whole (:func:`read_validated`; the app passes its own)
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_ROWS = 20_000_000

#: the megabyte of the size messages (as Streamlit counts it)
MB = 1024**2

Source = str | Path | BinaryIO
#: checks one chunk (text or typed columns, row numbers) and returns problems plus parsed columns
ChunkCheck = Callable[[pd.DataFrame, np.ndarray], tuple[list[RowProblem], pd.DataFrame]]


def source_name(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    return getattr(source, "name", None) or "upload"


#: what :func:`iter_validated` yields when the typed read gave up midway: drop what came before
RESTART = None


def read_validated(
    source: Source,
    kind: str,
    required: tuple[str, ...],
    check: ChunkCheck,
    max_bytes: int | None,
    max_rows: int | None,
    typed: dict[str, str] | None = None,
    known: tuple[str, ...] = (),
    text_columns: tuple[str, ...] = ("item_id",),
    stop_early: bool = True,
    whole: Callable[[pd.DataFrame], list[RowProblem]] | None = None,
) -> pd.DataFrame:
    """Read ``source`` as text columns, run ``check`` on each chunk, and return the parsed frame.

    The whole frame of :func:`iter_validated`'s chunks (see there for the rules),
    within ``max_bytes`` and ``max_rows`` (None: :data:`DEFAULT_MAX_BYTES`,
    :data:`DEFAULT_MAX_ROWS`), since the frame is held in memory; ``whole``
    checks what needs every row (repeated keys). Its problems and the rows' are
    reported together: one error names every kind of problem.
    """
    max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    max_rows = DEFAULT_MAX_ROWS if max_rows is None else max_rows
    parts: list[pd.DataFrame] = []
    problems = Problems()
    for parsed in iter_validated(
        source, kind, required, check, max_bytes, max_rows, typed, known, text_columns, stop_early, problems
    ):
        if parsed is RESTART:
            parts.clear()
        else:
            parts.append(parsed)
    frame = pd.concat(parts, ignore_index=True) if parts else None  # none: reading stopped at the first chunk
    if whole is not None and frame is not None:
        problems.add(whole(frame))
    if problems:
        raise rejected(kind, source_name(source), problems)
    return frame


def rejected(kind: str, name: str, problems: Problems) -> InvalidInputError:
    """The error of a file with bad rows: every kind of problem, its rows, values and counts."""
    where = f" (reading stopped at row {problems.stopped_at:,})" if problems.stopped_at else ""
    return problems.error(f"{kind} file {name} rejected, nothing imported{where}")


def iter_validated(
    source: Source,
    kind: str,
    required: tuple[str, ...],
    check: ChunkCheck,
    max_bytes: int | None,
    max_rows: int | None,
    typed: dict[str, str] | None = None,
    known: tuple[str, ...] = (),
    text_columns: tuple[str, ...] = ("item_id",),
    stop_early: bool = True,
    problems: Problems | None = None,
) -> Iterator[pd.DataFrame | None]:
    """The parsed chunks of ``source``, checked by ``check``, for readers that keep only a chunk in memory.

    The file is read the way it was written (:mod:`forecasting.io.dialect`:
    encoding, delimiter, decimal commas outside ``text_columns``), and header
    names matching ``required`` or ``known`` columns in another spelling are
    renamed to them. Raises InvalidInputError (every kind of problem, the first
    20 rows of each, with row numbers, and how many more) and, with
    ``stop_early``, reads nothing after the first chunk (CHUNK_ROWS rows) with
    a problem: a 2 GB file with a bad row near the top is not read whole just to
    fail, and every kind of problem in the rows read is reported at once. A
    caller must treat what it got as void when that happens. Given
    ``problems``, bad rows are added to it instead, every chunk is yielded, and
    the caller raises (with what needs the whole file). ``max_bytes`` is
    checked before reading and ``max_rows`` at every block, so a file over a
    limit is refused without being read to its end; None is no limit (a
    streaming caller holds a chunk at a time). When ``typed`` (column dtypes)
    is given and the source can be read twice (a regular file, an in-memory
    upload), pyarrow's streaming reader is tried first with the same ``check``
    (:func:`_read_arrow`); at the first doubt (a cell it cannot type, any
    problem) it yields :data:`RESTART` (forget the chunks so far) and the file
    is read again as text, which names the rows.
    """
    name = source_name(source)
    size = _size(source)
    if size is not None and max_bytes is not None and size > max_bytes:
        raise InvalidInputError(
            f"{kind} file {name} is {size / MB:,.1f} MB; the limit is {max_bytes / MB:,.1f} MB"
        )
    if size == 0:
        raise InvalidInputError(f"{kind} file {name} is empty")
    dialect = sniff(source)
    names = canonical_header(dialect.header, (*required, *known)) if dialect.header else None
    wrong = header_problem(names or [])
    if wrong:
        raise InvalidInputError(f"{kind} file {name} {wrong}")
    if typed is not None and size is not None:
        complete = yield from _read_arrow(source, dialect, names, typed, check, max_rows, kind, name, text_columns)
        if complete:
            return
        yield RESTART
    collect = problems is not None
    problems = Problems() if problems is None else problems
    rows_read = 0
    try:
        for chunk in _chunks(source, dialect, names, required, kind, name):
            if stop_early and problems:  # there is more, unchecked
                problems.stopped_at = rows_read + 1
                break
            rows_read += len(chunk)
            if max_rows is not None and rows_read > max_rows:
                raise _too_many_rows(kind, name, max_rows)
            if dialect.decimal_comma:
                for column in chunk.columns:
                    if column not in text_columns:
                        chunk[column] = decimal_commas_to_points(chunk[column])
            line_numbers = chunk.index.to_numpy() + 2
            found, parsed = check(chunk, line_numbers)
            problems.add(found)
            if collect or not problems:
                yield parsed
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{kind} file {name} is not a readable CSV ({_one_line(exc)})") from None
    if problems and not collect:
        raise rejected(kind, name, problems)
    if rows_read == 0:
        raise InvalidInputError(f"{kind} file {name} has a header but no data rows")


def _read_arrow(
    source: Source,
    dialect: Dialect,
    names: list[str] | None,
    typed: dict[str, str],
    check: ChunkCheck,
    max_rows: int | None,
    kind: str,
    name: str,
    text_columns: tuple[str, ...],
) -> Iterator[pd.DataFrame]:
    """The fast read of :func:`iter_validated`: yields its chunks, returns False (source rewound) at a doubt.

    pyarrow's streaming CSV reader hands a block of :data:`BLOCK_BYTES` at a
    time; the ``typed`` columns are typed by it (only an empty cell is
    missing: ``NA`` or ``nan`` are doubts, as for the text read), the others
    stay text and get the text read's decimal-comma treatment. Raises the
    row limit's error as soon as a block passes it.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if names is None or len(set(names)) != len(names) or any(c not in names for c in typed):
        return False  # the text read names what is wrong with the header
    # typed text as a dictionary: each distinct id or date of a block is checked once (core.cells)
    types = {c: pa.float64() if typed[c] == "float64" else pa.dictionary(pa.int32(), pa.string()) for c in typed}
    types.update({c: pa.string() for c in names if c not in typed})
    start = None if isinstance(source, (str, Path)) else source.tell()
    rows = 0
    # a ; or tab file may write decimal commas or points: points are tried when commas fail at once
    for decimal_point in (",", ".") if dialect.decimal_comma else (".",):
        try:
            with pcsv.open_csv(
                source,
                read_options=pcsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=BLOCK_BYTES,
                    encoding="utf8" if dialect.encoding in ("utf-8", "utf-8-sig") else dialect.encoding,
                ),
                parse_options=pcsv.ParseOptions(delimiter=dialect.delimiter),
                convert_options=pcsv.ConvertOptions(
                    column_types=types, null_values=[""], strings_can_be_null=False, decimal_point=decimal_point
                ),
            ) as reader:
                for batch in reader:
                    if max_rows is not None and rows + batch.num_rows > max_rows:
                        raise _too_many_rows(kind, name, max_rows)
                    chunk = batch.to_pandas(date_as_object=False)
                    if dialect.decimal_comma:
                        for column in chunk.columns:
                            if column not in typed and column not in text_columns:
                                chunk[column] = decimal_commas_to_points(chunk[column])
                    problems, parsed = check(chunk, np.arange(rows, rows + len(chunk)) + 2)
                    if problems:
                        break
                    rows += len(chunk)
                    yield parsed
                else:
                    if rows:
                        return True
            break
        except InvalidInputError:
            raise
        except (pa.ArrowException, ValueError, TypeError, UnicodeDecodeError, LookupError, OSError, EOFError,
                lzma.LZMAError):  # the text read names what is wrong
            if rows:
                break  # blocks were handed out: the text read starts again
            _rewind(source, start)
    _rewind(source, start)
    return False


def _rewind(source: Source, start: int | None) -> None:
    if start is not None:
        source.seek(start)


def _chunks(
    source: Source, dialect: Dialect, names: list[str] | None, required: tuple[str, ...], kind: str, name: str
) -> Iterator[pd.DataFrame]:
    try:
        with guarded(source, dialect) as (handle, compression):
            reader = pd.read_csv(
                handle,
                dtype=str,
                keep_default_na=False,
                chunksize=CHUNK_ROWS,
                skipinitialspace=True,
                index_col=False,
                compression=compression,
                sep=dialect.delimiter,
                encoding=dialect.encoding,
                names=names,
                header=0,
            )
            yield from _checked_chunks(reader, handle, dialect, required, kind, name)
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"{kind} file {name} is empty") from None
    except FileNotFoundError:
        raise InvalidInputError(f"{kind} file {name} does not exist") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{kind} file {name} is a folder, not a file") from None
    except InvalidInputError:
        raise
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:  # a damaged compressed file, bytes pandas refuses
        raise InvalidInputError(f"{kind} file {name} is not a readable CSV file ({_one_line(exc)})") from None


def _checked_chunks(
    reader, handle: object, dialect: Dialect, required: tuple[str, ...], kind: str, name: str
) -> Iterator[pd.DataFrame]:
    with reader, warnings.catch_warnings():
        # pandas only warns (and drops data) when a row has more fields than the header
        warnings.simplefilter("error", pd.errors.ParserWarning)
        first = True
        for chunk in _guard_extra_fields(reader, kind, name):
            chunk = nul_back(chunk, handle)
            if first:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                missing = [c for c in required if c not in chunk.columns]
                if missing:
                    found = ", ".join(repr(shortened(c)) for c in chunk.columns[:8])
                    raise InvalidInputError(
                        f"{kind} file {name} is missing required column(s) {', '.join(missing)} "
                        f"(expected {','.join(required)}; found {found}, read with delimiter "
                        f"{dialect.delimiter!r})"
                    )
                columns = list(chunk.columns)
                if len(set(columns)) != len(columns):
                    raise InvalidInputError(f"{kind} file {name} repeats a column name in its header")
                first = False
            else:
                chunk.columns = columns
            yield chunk
        if first:
            raise InvalidInputError(f"{kind} file {name} has a header but no data rows")


def _guard_extra_fields(reader: Iterator[pd.DataFrame], kind: str, name: str) -> Iterator[pd.DataFrame]:
    try:
        yield from reader
    except pd.errors.ParserWarning:
        raise InvalidInputError(
            f"{kind} file {name} has rows with more fields than its header (an unquoted comma?)"
        ) from None


def _size(source: Source) -> int | None:
    if isinstance(source, (str, Path)):
        try:
            st = os.stat(source)
        except OSError:
            return None
        return st.st_size if os.path.isfile(source) else None
    if isinstance(source, io.BytesIO):
        return source.getbuffer().nbytes
    try:
        pos = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(pos)
        return end - pos
    except (OSError, AttributeError, ValueError):
        return None


def _too_many_rows(kind: str, name: str, max_rows: int) -> InvalidInputError:
    return InvalidInputError(f"{kind} file {name} has more than {max_rows:,} rows (the limit)")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
