"""Reading and writing a client's calendar file (docs/data-formats.md, "Calendar"): CSV or Parquet."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from forecasting.core.client_calendar import ClientCalendar
from forecasting.core.errors import InvalidInputError
from forecasting.io.csv_export import to_csv_bytes
from forecasting.io.dialect import NUL_STAND_IN

#: a calendar is read whole: at most this many bytes
MAX_BYTES = 64 * 1024**2


def read_calendar_table(source: str | Path | bytes, name: str | None = None) -> pd.DataFrame:
    """The file's cells as text (checked later against the client's items, :meth:`ClientCalendar.check`).

    ``source``: a path (``.parquet`` read as Parquet, anything else as CSV) or an upload's bytes (CSV, or
    Parquet when ``name`` ends in ``.parquet``).
    """
    label = name or ("upload" if isinstance(source, bytes) else str(source))
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"calendar file not found: {label}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read calendar file {label}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise InvalidInputError(f"calendar file {label} is larger than {MAX_BYTES // 1024**2} MB")
    try:
        if label.lower().endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(data)).astype("string")
        else:
            # pandas' parser would cut a cell at a NUL byte, silently: read as a control character, which the check
            # refuses with the row named
            frame = pd.read_csv(io.BytesIO(data.replace(b"\x00", NUL_STAND_IN)), dtype=str, keep_default_na=False,
                                skipinitialspace=True)
    except (ValueError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"calendar file {label} is not a readable table: {first}") from None
    return frame


def calendar_csv(calendar: ClientCalendar) -> bytes:
    """The calendar as the file it was imported from (formula-safe CSV, dates ``YYYY-MM-DD``): an export."""
    return to_csv_bytes(calendar.table())
