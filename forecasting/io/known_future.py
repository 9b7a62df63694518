"""Reading a known-future covariates file (``--calendar``): CSV or Parquet, ``item_id,date,<covariates>``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecasting.core.covariates import KnownFuture
from forecasting.core.errors import InvalidInputError


def read_known_future(path: str | Path) -> KnownFuture:
    """The validated covariates of a file; InvalidInputError when it cannot be read or a row is bad."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"item_id": str})
    except FileNotFoundError:
        raise InvalidInputError(f"calendar file not found: {path}") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"cannot read calendar file {path}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    return KnownFuture.from_frame(frame)
