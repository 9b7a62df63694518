"""Writing CSV for people and spreadsheets: formula-safe, ISO dates, atomic files."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.io.output_file import output_file

#: a text cell starting with one of these is read as a formula by spreadsheets
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FLOAT_DECIMALS = 6


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells that a spreadsheet would run as a formula get a leading ``'``."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            text = series.astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[column] = series.where(~risky, "'" + text)
    return out


def safe_and_rounded(frame: pd.DataFrame, decimals: int = FLOAT_DECIMALS, dates_as_text: bool = True) -> pd.DataFrame:
    """Formula-safe text, numbers rounded to ``decimals``, dates as ``YYYY-MM-DD`` (or kept as dates)."""
    out = neutralise_formulas(frame)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            if dates_as_text:
                out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(out[column]):
            # floats from 2**52 up have no fraction to round, and rounding them could overflow to inf
            with np.errstate(over="ignore", invalid="ignore"):
                out[column] = out[column].where(out[column].abs() >= 2.0**52, out[column].round(decimals))
    return out



def to_csv_bytes(frame: pd.DataFrame, decimals: int = FLOAT_DECIMALS) -> bytes:
    """The CSV file as bytes (for downloads)."""
    return safe_and_rounded(frame, decimals).to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_csv(frame: pd.DataFrame, output: str | Path | None) -> None:
    """Write to ``output`` atomically (:mod:`forecasting.io.output_file`), or to stdout when None."""
    prepared = safe_and_rounded(frame)
    if output is None:
        prepared.to_csv(sys.stdout, index=False, lineterminator="\n")
        sys.stdout.flush()
        return
    with output_file(output) as temp, open(temp, "w", encoding="utf-8", newline="") as handle:
        prepared.to_csv(handle, index=False, lineterminator="\n")
