"""Ids that callers pass in (API paths, session state, CLI arguments), checked before they reach SQL."""
from __future__ import annotations

import numpy as np

from forecasting.core.errors import NotFoundError


def whole_id(value: object, label: str) -> int:
    """``value`` as an int; anything else (text, floats, booleans) names nothing: a NotFoundError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NotFoundError(f"{label} must be a whole number, got {value!r}")
    return int(value)
