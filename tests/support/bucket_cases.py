"""Sales files whose dates are off their bucket, and the one message each gets (CLI and API say the same)."""
from __future__ import annotations

import pandas as pd
import pytest

MONTHS = list(pd.date_range("2022-01-01", periods=20, freq="MS"))

#: (dates of one item's rows, declared freq, the start of the expected message)
OFF_BUCKET = [
    pytest.param(MONTHS[:-1] + [pd.Timestamp("2023-08-15")], None,
                 "mixes buckets: most dates are monthly (1st), some are not (pass --freq D for daily data); nothing "
                 "imported: date not on the 1st of a month at row 21", id="monthly-mid-month"),
    pytest.param(list(pd.date_range("2023-01-06", periods=20, freq="7D")) + [pd.Timestamp("2023-06-01")], None,
                 "mixes buckets: most dates are weekly (Fridays), some are not (pass --freq D for daily data); "
                 "nothing imported: date not on a Friday at row 22", id="mixed"),
    pytest.param(list(pd.date_range("2024-01-01", periods=40)), "W",
                 "declared weekly (Mondays) (--freq W) has dates off that bucket; nothing imported: date not on a "
                 "Monday at rows 3, 4, 5, 6, 7, 8, 10, ", id="freq-w-on-daily"),
]
