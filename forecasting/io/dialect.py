"""What a planner's spreadsheet export looks like: its encoding, delimiter, decimal mark and header names.

Excel and other tools export CSV in many shapes: a byte-order mark, Windows
encodings, ``;`` or tab delimiters with decimal commas (European settings),
headers such as ``Item ID`` or ``Quantity``. The readers look at the start of
the file once (:func:`sniff`) and then read it the way it was written; header
names are matched to the format's columns ignoring case, spaces, dashes and
underscores (:func:`canonical_header`).
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: how much of the file the sniffing reads
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: what a NUL byte is read as (pandas' parser would cut the cell at it, silently): SUB, turned back into NUL in
#: the cells (:func:`nul_back`), so that the rules see the NUL and refuse it with the row named
NUL_STAND_IN = b"\x1a"
#: a number written with a decimal comma: 3,5 or -12,25 (no thousands separators)
DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


@dataclass(frozen=True)
class Dialect:
    encoding: str = "utf-8"
    delimiter: str = ","
    #: numbers may be written with a decimal comma (only when the delimiter is not a comma)
    decimal_comma: bool = False
    #: the header as written (empty when the file has no line at all)
    header: tuple[str, ...] = ()


def sniff(source: str | Path | BinaryIO) -> Dialect:
    """The dialect of a file or an in-memory upload (rewound afterwards); defaults where it cannot tell."""
    head = _head(source)
    if head is None or not head:
        return Dialect()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode text" from Excel: UTF-16 with its byte-order mark
        encoding, text = "utf-16", head.decode("utf-16", errors="ignore")
    elif head.startswith(b"\xef\xbb\xbf"):
        encoding, text = "utf-8-sig", head[3:].decode("utf-8", errors="ignore")
    else:
        try:
            encoding, text = "utf-8", _decode_prefix(head)
        except UnicodeDecodeError:
            encoding, text = "cp1252", head.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = _delimiter(text, first)
    header = tuple(next(csv.reader([first], delimiter=delimiter), []))
    return Dialect(encoding, delimiter, delimiter != ",", header)


@contextmanager
def guarded(source: str | Path | BinaryIO, dialect: Dialect) -> Iterator[tuple[object, str | None]]:
    """The source to hand to pandas, and its compression: NUL bytes read as :data:`NUL_STAND_IN` (8-bit encodings).

    A path is opened here (and closed afterwards; gzip, bz2 and xz files
    decompressed), a stream is wrapped and left open. Other compressed files
    (zip, zstd) and UTF-16 text go to pandas as they are.
    """
    if dialect.encoding == "utf-16":
        yield source, "infer" if isinstance(source, (str, Path)) else None
        return
    if isinstance(source, (str, Path)):
        suffix = Path(source).suffix.lower()
        if suffix in (".zip", ".zst", ".tar"):
            yield source, "infer"
            return
        with _OPENERS.get(suffix, open)(source, "rb") as raw:
            yield io.BufferedReader(_NoNul(raw), 1 << 20), None
        return
    yield io.BufferedReader(_NoNul(source), 1 << 20), None


def nul_back(chunk, handle: object):
    """The text cells of a chunk with :data:`NUL_STAND_IN` turned back into NUL, where the file had any NUL."""
    if not getattr(getattr(handle, "raw", None), "saw_nul", False):
        return chunk
    stand_in = NUL_STAND_IN.decode("ascii")
    for column in chunk.columns:
        if chunk[column].dtype == object:
            chunk[column] = chunk[column].str.replace(stand_in, "\x00", regex=False)
    return chunk


class _NoNul(io.RawIOBase):
    """A binary stream with NUL bytes replaced by :data:`NUL_STAND_IN` (same length), noting that it saw one."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self.raw = raw
        self.saw_nul = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:  # the underlying stream belongs to the caller
        super().close()

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        if b"\x00" in data:
            self.saw_nul = True
            data = data.replace(b"\x00", NUL_STAND_IN)
        buffer[: len(data)] = data
        return len(data)


def normalised(name: str) -> str:
    """``Item ID``, ``item_id`` and ``ITEM-ID`` all become ``itemid``."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def canonical_header(columns: Sequence[str], known: Sequence[str]) -> list[str]:
    """Header names with every spelling of a known column replaced by the column's own name.

    Other columns (covariates) keep their name, stripped.
    """
    by_key = {normalised(k): k for k in known}
    return [by_key.get(normalised(c), str(c).strip()) for c in columns]


def decimal_commas_to_points(values):
    """Text cells written with a decimal comma (``3,5``) as ``3.5``; other cells unchanged (pandas Series)."""
    text = values.astype("string")
    comma = text.str.match(DECIMAL_COMMA).fillna(False)
    return values.where(~comma, text.str.replace(",", ".", regex=False))


def _delimiter(text: str, first: str) -> str:
    try:
        return csv.Sniffer().sniff(text[: 8 * 1024], delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or too little text: the delimiter that splits the header most
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _decode_prefix(head: bytes) -> str:
    """UTF-8 text of the first bytes, tolerating a character cut at the end of the sample."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return head[: exc.start].decode("utf-8")
        raise


def _head(source: str | Path | BinaryIO) -> bytes | None:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            return None
        opener = _OPENERS.get(path.suffix.lower(), open)
        try:
            with opener(path, "rb") as handle:
                return handle.read(SNIFF_BYTES)
        except (OSError, EOFError, lzma.LZMAError):
            return None
    try:
        position = source.tell()
        head = source.read(SNIFF_BYTES)
        source.seek(position)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None  # a stream that cannot be rewound (a pipe): read it as plain CSV
    return head if isinstance(head, bytes) else head.encode("utf-8")
