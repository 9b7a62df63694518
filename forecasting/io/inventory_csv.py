"""The inventory CSV: stock position and replenishment parameters per item."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.applications.inventory.inventory_input import (
    DEFAULT_MOQ,
    DEFAULT_PACK_SIZE,
    DEFAULT_REVIEW_PERIOD_DAYS,
    DEFAULT_SERVICE_LEVEL,
)
from forecasting.core.errors import InvalidInputError, RowProblem
from forecasting.io.csv_reader import Source, parse_item_ids, parse_number, read_validated, source_name

INVENTORY_REQUIRED = ("item_id", "on_hand", "on_order", "lead_time_days")


def read_inventory_csv(
    source: Source,
    default_service_level: float = DEFAULT_SERVICE_LEVEL,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Validated inventory frame with every optional column filled with its default.

    Columns: item_id, on_hand, on_order, lead_time_days, review_period_days,
    service_level, moq, pack_size, unit_cost (NaN when absent), name, category.
    """
    frame = read_validated(
        source,
        "inventory",
        INVENTORY_REQUIRED,
        lambda chunk, rows: _check_chunk(chunk, rows, default_service_level),
        max_bytes,
        max_rows,
    )
    dup = frame.duplicated("item_id", keep=False).to_numpy()
    if dup.any():
        rows = frame["_row"].to_numpy()[dup][: InvalidInputError.MAX_LISTED]
        raise InvalidInputError(
            f"inventory file {source_name(source)} rejected, nothing imported",
            [RowProblem(int(r), "repeated item_id") for r in rows],
        )
    frame = frame.drop(columns="_row")
    return frame.astype({"lead_time_days": np.int64, "review_period_days": np.int64})


def _check_chunk(
    chunk: pd.DataFrame, rows: np.ndarray, default_service_level: float
) -> tuple[list[RowProblem], pd.DataFrame]:
    problems: list[RowProblem] = []

    def optional(column: str, default: float, **rules) -> np.ndarray:
        if column not in chunk.columns:
            return np.full(len(chunk), default, dtype=np.float64)
        return parse_number(chunk[column], rows, column, problems, default=default, **rules)

    def text(column: str) -> np.ndarray:
        if column not in chunk.columns:
            return np.full(len(chunk), "", dtype=object)
        return chunk[column].str.strip().to_numpy(dtype=object)

    parsed = pd.DataFrame(
        {
            "item_id": parse_item_ids(chunk["item_id"], rows, problems).to_numpy(dtype=object),
            "on_hand": parse_number(chunk["on_hand"], rows, "on_hand", problems),
            "on_order": parse_number(chunk["on_order"], rows, "on_order", problems),
            "lead_time_days": parse_number(chunk["lead_time_days"], rows, "lead_time_days", problems, integer=True),
            "review_period_days": optional("review_period_days", DEFAULT_REVIEW_PERIOD_DAYS, integer=True),
            "service_level": optional(
                "service_level",
                default_service_level,
                minimum=0.0,
                strict_minimum=True,
                maximum=1.0,
                strict_maximum=True,
            ),
            "moq": optional("moq", DEFAULT_MOQ),
            "pack_size": optional("pack_size", DEFAULT_PACK_SIZE, strict_minimum=True),
            "unit_cost": optional("unit_cost", np.nan),
            "name": text("name"),
            "category": text("category"),
        }
    )
    parsed["_row"] = rows
    return problems, parsed
