"""Files uploaded whole (the Data page, the REST API's sales upload): one size limit, one row limit, one read.

The size limit is stated once, as Streamlit's ``server.maxUploadSize`` (megabytes) in
``.streamlit/config.toml``: the Data page's uploader states and enforces it, and the app and the API read
it from there, so that a file the app takes is a file the API takes.
"""
from __future__ import annotations

import io
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecasting.io.csv_reader import MB

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STREAMLIT_CONFIG = PROJECT_ROOT / ".streamlit" / "config.toml"
#: rows of one uploaded file
MAX_UPLOAD_ROWS = 2_000_000
#: what the Data page's uploader names a file sent without a name
UNNAMED = "upload"
#: characters of an uploaded file's name kept for messages
NAME_LENGTH = 100


def upload_limit_mb(path: Path = STREAMLIT_CONFIG) -> int:
    """``server.maxUploadSize`` of the Streamlit configuration (megabytes per uploaded file)."""
    return int(tomllib.loads(path.read_text(encoding="utf-8"))["server"]["maxUploadSize"])


@dataclass(frozen=True)
class UploadLimits:
    """Bytes and rows of one uploaded file."""

    max_bytes: int
    max_rows: int = MAX_UPLOAD_ROWS

    @classmethod
    def from_config(cls, path: Path = STREAMLIT_CONFIG) -> UploadLimits:
        return cls(upload_limit_mb(path) * MB)


def read_upload(reader: Callable[..., pd.DataFrame], name: str | None, data: bytes,
                limits: UploadLimits) -> pd.DataFrame:
    """An uploaded file's validated frame: ``reader`` (e.g. ``read_sales_csv``) within ``limits``, reading the
    whole file so that the InvalidInputError counts every problem (an upload is small enough)."""
    source = io.BytesIO(data)
    source.name = Path(name or UNNAMED).name[:NAME_LENGTH] or UNNAMED
    return reader(source, max_bytes=limits.max_bytes, max_rows=limits.max_rows, stop_early=False)
