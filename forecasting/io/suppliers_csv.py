"""The supplier file (docs/data-formats.md, "Supplier file"): suppliers and item-supplier links in one CSV.

Each row is a ``supplier`` or an ``item`` record (column ``record``). The whole
file is checked first and every problem is listed with its line number; a file
with any problem imports nothing.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.applications.inventory.parameters import (
    CYCLE_PROBLEM,
    MAX_CYCLE_DAYS,
    RULES,
    cycle_too_long,
)
from forecasting.core.cells import ID_LENGTH, too_large, too_large_problem
from forecasting.core.errors import InvalidInputError, RowProblem
from forecasting.storage.models import SUPPLIER_NAME_LENGTH

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SUPPLIER_COLUMNS = ("supplier", "lead_time_days", "lead_time_std_days", "order_days", "review_period_days",
                    "min_order_value", "min_order_qty", "capacity_units", "currency")
LINK_COLUMNS = ("supplier", "item_id", "pack_size", "moq", "unit_cost", "lead_time_days", "lead_time_std_days",
                "supplier_item_code")
COLUMNS = ("record", *dict.fromkeys(SUPPLIER_COLUMNS + LINK_COLUMNS))
#: a supplier file is small (one row per supplier and per item): read whole, at most this many bytes
MAX_BYTES = 64 * 1024**2
#: header = line 1, so the first record is line 2
FIRST_LINE = 2
#: a lead time or review period longer than the longest forecast cannot be planned (the inventory's bound)
DAYS = f"a whole number of days >= 0 (at most {MAX_CYCLE_DAYS})"


def _days(values: pd.Series) -> pd.Series:
    return (values >= 0) & (values <= MAX_CYCLE_DAYS)


@dataclass(frozen=True)
class SupplierFile:
    """The checked file: ``suppliers`` (SUPPLIER_COLUMNS, order_days as "mon,thu") and ``links`` (LINK_COLUMNS)."""

    suppliers: pd.DataFrame
    links: pd.DataFrame


def read_suppliers_csv(source: str | Path | bytes, known_items: set[str] | None = None) -> SupplierFile:
    """Suppliers and links of a supplier file; any problem is an InvalidInputError listing them all.

    ``known_items``: the client's item ids (an item link to an unknown item is a
    problem); None skips that check.
    """
    name = "upload" if isinstance(source, bytes) else str(source)
    raw = _read(source, name)
    missing = [c for c in ("record", "supplier") if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in COLUMNS]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(COLUMNS)})"] if unknown else [])
        raise InvalidInputError(f"supplier file {name} rejected, nothing imported: {'; '.join(parts)}")
    raw = raw.reindex(columns=list(COLUMNS), fill_value="")
    raw["_line"] = np.arange(len(raw)) + FIRST_LINE
    problems: list[RowProblem] = []
    kind = raw["record"].str.strip().str.lower()
    for line in raw.loc[~kind.isin(["supplier", "item"]), "_line"]:
        problems.append(RowProblem(int(line), "record must be supplier or item"))
    suppliers = _suppliers(raw[kind == "supplier"], problems)
    links = _links(raw[kind == "item"], set(suppliers["supplier"]), known_items, problems)
    _too_long(suppliers, suppliers["lead_time_days"], suppliers["lead_time_std_days"],
              suppliers["review_period_days"], problems)
    terms = suppliers.drop_duplicates("supplier").set_index("supplier")
    _too_long(links, links["lead_time_days"].fillna(links["supplier"].map(terms["lead_time_days"])),
              links["lead_time_std_days"].fillna(links["supplier"].map(terms["lead_time_std_days"])),
              links["supplier"].map(terms["review_period_days"]), problems)
    if problems:
        problems.sort(key=lambda p: p.row)
        raise InvalidInputError(f"supplier file {name} rejected, nothing imported", problems, len(problems))
    return SupplierFile(suppliers.drop(columns="_line"), links.drop(columns="_line"))


def check_supplier(record: Mapping[str, object]) -> pd.DataFrame:
    """One supplier as an admin edits it, checked by the file's very rules: a one-row ``suppliers`` frame.

    ``record``: the supplier record's fields (SUPPLIER_COLUMNS; absent ones
    empty). Every problem is listed in one InvalidInputError.
    """
    problems: list[RowProblem] = []
    suppliers = _suppliers(_record(record, SUPPLIER_COLUMNS), problems)
    _too_long(suppliers, suppliers["lead_time_days"], suppliers["lead_time_std_days"],
              suppliers["review_period_days"], problems)
    _raise(f"supplier {str(record.get('supplier', '')).strip()!r}", problems)
    return suppliers.drop(columns="_line")


def check_link(record: Mapping[str, object], suppliers: set[str], known_items: set[str]) -> pd.DataFrame:
    """One item-supplier link as an admin edits it, checked by the file's rules: a one-row ``links`` frame."""
    problems: list[RowProblem] = []
    links = _links(_record(record, LINK_COLUMNS), suppliers, known_items, problems)
    _raise(f"link of item {str(record.get('item_id', '')).strip()!r}", problems)
    return links.drop(columns="_line")


def _record(record: Mapping[str, object], columns: tuple[str, ...]) -> pd.DataFrame:
    unknown = sorted(set(record) - set(columns))
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(columns)})")
    text = {c: "" if record.get(c) is None else str(record[c]) for c in columns}
    return pd.DataFrame([text]).assign(_line=1)


def _raise(what: str, problems: list[RowProblem]) -> None:
    if problems:
        raise InvalidInputError(f"{what} rejected, nothing changed: "
                                + "; ".join(dict.fromkeys(p.problem for p in problems)))


def _read(source: str | Path | bytes, name: str) -> pd.DataFrame:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) > MAX_BYTES:
        raise InvalidInputError(f"supplier file {name} is larger than {MAX_BYTES // 1024**2} MB")
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"supplier file {name} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    if frame.empty:
        raise InvalidInputError(f"supplier file {name} has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _number(rows: pd.DataFrame, column: str, what: str, ok, problems: list[RowProblem], default: float | None,
            whole: bool = False) -> pd.Series:
    """A column as numbers; empty cells take ``default`` (None: empty stays NaN); bad cells are problems."""
    text = rows[column].str.strip()
    values = pd.to_numeric(text, errors="coerce")
    empty = text == ""
    huge = too_large(values)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & ok(values) & ((values == np.round(values)) if whole else True) & ~huge
    for line in rows.loc[~empty & huge, "_line"]:
        problems.append(RowProblem(int(line), too_large_problem(column)))
    for line in rows.loc[~empty & ~good & ~huge, "_line"]:
        problems.append(RowProblem(int(line), f"{column} must be {what}"))
    return values.where(~empty, np.nan if default is None else default)


def _lead_std(rows: pd.DataFrame, problems: list[RowProblem]) -> pd.Series:
    """``lead_time_std_days``: empty (not given) or what the inventory format allows (its rule)."""
    rule = RULES["lead_time_std_days"]
    return _number(rows, rule.column, rule.what, rule.valid, problems, None)


def _too_long(rows: pd.DataFrame, lead: pd.Series, std: pd.Series, review: pd.Series,
              problems: list[RowProblem]) -> None:
    """The inventory format's bound on lead time + 3 x its std + review period, per row (a link: with its
    supplier's terms where it gives none)."""
    too_long = cycle_too_long(lead.fillna(0).to_numpy(float), review.fillna(0).to_numpy(float),
                              std.fillna(0).to_numpy(float))
    for line in rows.loc[too_long, "_line"]:
        problems.append(RowProblem(int(line), CYCLE_PROBLEM))


def _suppliers(rows: pd.DataFrame, problems: list[RowProblem]) -> pd.DataFrame:
    names = rows["supplier"].str.strip()
    for line in rows.loc[names == "", "_line"]:
        problems.append(RowProblem(int(line), "supplier must not be empty"))
    for line in rows.loc[names.duplicated(keep="first") & (names != ""), "_line"]:
        problems.append(RowProblem(int(line), "repeated supplier name"))
    for line in rows.loc[names.str.len() > SUPPLIER_NAME_LENGTH, "_line"]:
        problems.append(RowProblem(int(line), f"supplier must be at most {SUPPLIER_NAME_LENGTH} characters"))
    lead = _number(rows, "lead_time_days", DAYS, _days, problems, None, True)
    for line in rows.loc[rows["lead_time_days"].str.strip() == "", "_line"]:
        problems.append(RowProblem(int(line), f"lead_time_days must be {DAYS}"))
    days = rows["order_days"].str.lower().str.replace(" ", "")
    bad_days = days.map(lambda d: any(x not in WEEKDAYS for x in d.split(",")) if d else False)
    for line in rows.loc[bad_days, "_line"]:
        problems.append(RowProblem(int(line), f"order_days must be weekdays among {','.join(WEEKDAYS)}"))
    currency = rows["currency"].str.strip().str.upper()
    for line in rows.loc[currency.str.len() > 3, "_line"]:
        problems.append(RowProblem(int(line), "currency must be a code of at most 3 letters"))
    return pd.DataFrame({
        "_line": rows["_line"],
        "supplier": names,
        "lead_time_days": lead,
        "lead_time_std_days": _lead_std(rows, problems),
        "order_days": days,
        "review_period_days": _number(rows, "review_period_days", DAYS, _days, problems, None, True),
        "min_order_value": _number(rows, "min_order_value", "a number >= 0", lambda v: v >= 0, problems, 0.0),
        "min_order_qty": _number(rows, "min_order_qty", "a number >= 0", lambda v: v >= 0, problems, 0.0),
        "capacity_units": _number(rows, "capacity_units", "a number > 0", lambda v: v > 0, problems, None),
        "currency": currency,
    }).reset_index(drop=True)


def _links(rows: pd.DataFrame, suppliers: set[str], known_items: set[str] | None,
           problems: list[RowProblem]) -> pd.DataFrame:
    names, items = rows["supplier"].str.strip(), rows["item_id"].str.strip()
    for line in rows.loc[~names.isin(suppliers), "_line"]:
        problems.append(RowProblem(int(line), "item linked to an unknown supplier (no supplier record of that name)"))
    for line in rows.loc[items == "", "_line"]:
        problems.append(RowProblem(int(line), "item_id must not be empty"))
    for line in rows.loc[items.duplicated(keep="first") & (items != ""), "_line"]:
        problems.append(RowProblem(int(line), "repeated item_id (an item has one supplier)"))
    codes = rows["supplier_item_code"].str.strip()
    for line in rows.loc[codes.str.len() > ID_LENGTH, "_line"]:
        problems.append(RowProblem(int(line), f"supplier_item_code must be at most {ID_LENGTH} characters"))
    if known_items is not None:
        for line in rows.loc[(items != "") & ~items.isin(known_items), "_line"]:
            problems.append(RowProblem(int(line), "unknown item_id for this client"))
    return pd.DataFrame({
        "_line": rows["_line"],
        "supplier": names,
        "item_id": items,
        "pack_size": _number(rows, "pack_size", "a number > 0", lambda v: v > 0, problems, 1.0),
        "moq": _number(rows, "moq", "a number >= 0", lambda v: v >= 0, problems, 0.0),
        "unit_cost": _number(rows, "unit_cost", "empty or a number >= 0", lambda v: v >= 0, problems, None),
        "lead_time_days": _number(rows, "lead_time_days", DAYS, _days, problems, None, True),
        "lead_time_std_days": _lead_std(rows, problems),
        "supplier_item_code": codes,
    }).reset_index(drop=True)
