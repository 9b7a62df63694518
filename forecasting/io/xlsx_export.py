"""Excel (.xlsx) downloads: the same table as the CSV, formula-safe, with a sheet saying what it is."""
from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd

from forecasting.io.csv_export import safe_and_rounded

#: the first sheet's name; the second ("About") lists where the table came from
DATA_SHEET = "data"
ABOUT_SHEET = "About"


def to_xlsx_bytes(frame: pd.DataFrame, about: Mapping[str, object], decimals: int = 2) -> bytes:
    """The workbook as bytes: the table (text cells that a spreadsheet would run are neutralised like the
    CSV's, numbers rounded, dates as Excel dates) and an About sheet of ``about`` (e.g. data as of, client)."""
    table = safe_and_rounded(frame, decimals, dates_as_text=False)
    for column in table.columns:  # Excel has no time zones; plain dates read best
        if pd.api.types.is_datetime64_any_dtype(table[column]):
            table[column] = table[column].dt.tz_localize(None) if table[column].dt.tz is not None else table[column]
    facts = safe_and_rounded(pd.DataFrame({"what": list(about), "value": [str(v) for v in about.values()]}))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name=DATA_SHEET, index=False)
        facts.to_excel(writer, sheet_name=ABOUT_SHEET, index=False)
        sheet = writer.sheets[DATA_SHEET]
        sheet.freeze_panes = "A2"
        for cells in sheet.columns:  # wide enough for the header and the values
            width = max(len(str(c.value)) if c.value is not None else 0 for c in cells[:200])
            sheet.column_dimensions[cells[0].column_letter].width = min(40, max(10, width + 2))
            for cell in cells[1:]:
                if cell.is_date:
                    cell.number_format = "yyyy-mm-dd"
    return buffer.getvalue()
