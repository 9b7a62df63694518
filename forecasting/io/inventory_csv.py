"""The inventory CSV: stock position and replenishment parameters per item (docs/data-formats.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.applications.inventory.parameters import (
    CYCLE_PROBLEM,
    DUE_COLUMN,
    DEFAULT_SERVICE_LEVEL,
    REQUIRED,
    RULES,
    SERVICE_TYPE_COLUMN,
    SERVICE_TYPE_PROBLEM,
    SERVICE_TYPE_VALUES,
    TEXT_COLUMNS,
    cycle_too_long,
)
from forecasting.core.cells import Problems, flag, parse_dates, parse_item_ids, parse_number
from forecasting.core.errors import RowProblem
from forecasting.io.csv_reader import Source, read_validated


def read_inventory_csv(
    source: Source,
    default_service_level: float | None = DEFAULT_SERVICE_LEVEL,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    stop_early: bool = True,
) -> pd.DataFrame:
    """Validated inventory frame with every optional column filled with its default.

    Columns: item_id, on_hand, on_order, lead_time_days, review_period_days,
    service_level, moq, pack_size, unit_cost (NaN when absent), name, category,
    on_order_due (NaT when absent: the stock on order arrives after the lead time),
    lead_time_std_days, phase_out, service_type ('' when absent). ``default_service_level``
    None leaves empty service levels NaN: the item's class decides (docs/inventory-policy.md).
    """
    frame = read_validated(
        source,
        "inventory",
        REQUIRED,
        lambda chunk, rows: _check_chunk(chunk, rows, default_service_level),
        max_bytes,
        max_rows,
        known=(*RULES, *TEXT_COLUMNS, DUE_COLUMN, SERVICE_TYPE_COLUMN),
        text_columns=("item_id", *TEXT_COLUMNS, DUE_COLUMN, SERVICE_TYPE_COLUMN),
        stop_early=stop_early,
        whole=_repeated_items,
    )
    frame = frame.drop(columns="_row")
    return frame.astype({"lead_time_days": np.int64, "review_period_days": np.int64})


def _repeated_items(frame: pd.DataFrame) -> Problems:
    """Every row of an item_id that occurs more than once (empty ids are a problem of their own)."""
    ids = frame["item_id"]
    problems = Problems()
    flag(problems, frame["_row"].to_numpy(), (ids.duplicated(keep=False) & (ids != "")).to_numpy(),
         "repeated item_id", ids)
    return problems


def _check_chunk(
    chunk: pd.DataFrame, rows: np.ndarray, default_service_level: float | None
) -> tuple[list[RowProblem], pd.DataFrame]:
    problems = Problems()
    parsed = pd.DataFrame({"item_id": parse_item_ids(chunk["item_id"], rows, problems)})
    for column, rule in RULES.items():
        default = rule.default if column != "service_level" else \
            (np.nan if default_service_level is None else default_service_level)
        if column not in chunk.columns:
            parsed[column] = np.full(len(chunk), default, dtype=np.float64)
            continue
        values = parse_number(chunk[column], rows, column, problems, default=default)
        flag(problems, rows, np.isfinite(values) & rule.bad(values), rule.problem(), chunk[column])
        parsed[column] = values
    flag(problems, rows, cycle_too_long(parsed["lead_time_days"], parsed["review_period_days"],
                                        parsed["lead_time_std_days"]), CYCLE_PROBLEM)
    kind = chunk[SERVICE_TYPE_COLUMN].str.strip().str.lower() if SERVICE_TYPE_COLUMN in chunk.columns \
        else pd.Series("", index=chunk.index)
    flag(problems, rows, ~kind.isin(SERVICE_TYPE_VALUES).to_numpy(), SERVICE_TYPE_PROBLEM)
    parsed[SERVICE_TYPE_COLUMN] = kind.to_numpy(dtype=object)
    if DUE_COLUMN in chunk.columns:
        due = chunk[DUE_COLUMN].str.strip()
        given = (due != "").to_numpy()
        parsed[DUE_COLUMN] = np.full(len(chunk), np.datetime64("NaT"), dtype="datetime64[ns]")
        if given.any():
            parsed.loc[given, DUE_COLUMN] = parse_dates(due[given].reset_index(drop=True), rows[given], problems)
    else:
        parsed[DUE_COLUMN] = np.full(len(chunk), np.datetime64("NaT"), dtype="datetime64[ns]")
    for column in TEXT_COLUMNS:
        parsed[column] = chunk[column].str.strip().to_numpy(dtype=object) if column in chunk.columns \
            else np.full(len(chunk), "", dtype=object)
    parsed["_row"] = rows
    return problems, parsed
