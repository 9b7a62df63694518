"""Tables of the dashboard: metrics per item, model comparison, winner counts, the reorder table.

Builders return plain frames whose numbers are the service's own (formatting
happens in the column configuration), so what a test reads from the page is
exactly what the service computed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from forecasting.applications.quality import ranking
from forecasting.applications.quality.calculator import OVERALL

OVERALL_LABEL = "All items"

#: metric column -> (label, definition shown as the column's tooltip, number format)
METRICS: dict[str, tuple[str, str, str]] = {
    "mape": ("MAPE %", "Mean absolute percentage error: 100 x mean |actual - forecast| / |actual| over days "
             "with non-zero actuals (zero days are left out; empty when all are zero).", "%.1f"),
    "mae": ("MAE", "Mean absolute error: mean |actual - forecast|, in units per day.", "%.2f"),
    "rmse": ("RMSE", "Root mean squared error: sqrt(mean (actual - forecast)^2), in units per day; "
             "punishes large misses more than MAE.", "%.2f"),
    "wape": ("WAPE %", "Weighted absolute percentage error: 100 x sum |actual - forecast| / sum |actual| "
             "(empty when all actuals are zero).", "%.1f"),
    "bias": ("Bias %", "100 x sum (forecast - actual) / sum |actual|: positive means over-forecasting.", "%.1f"),
    "mase": ("MASE", "Mean absolute scaled error: MAE divided by the mean absolute day-to-day change of the "
             "history the model saw (below 1 beats 'same as yesterday').", "%.2f"),
    "wql": ("WQL", "Weighted quantile loss over the requested quantile levels (lower is better).", "%.3f"),
    "coverage": ("Coverage", "Share of actuals inside the outermost band (ideally close to the band's width).",
                 "percent"),
}

REORDER_COLUMNS: dict[str, tuple[str, str, str | None]] = {
    "item_id": ("Item", "Item id", None),
    "name": ("Name", "", None),
    "category": ("Category", "", None),
    "action": ("Action", "reorder: inventory position is at or below the reorder point", None),
    "order_qty": ("Order qty", "Up to the order-up-to level, rounded to the pack size, at least the MOQ", "%.0f"),
    "order_value": ("Order value", "Order quantity x unit cost", "%.2f"),
    "on_hand": ("On hand", "", "%.0f"),
    "on_order": ("On order", "", "%.0f"),
    "inventory_position": ("Position", "On hand + on order", "%.0f"),
    "reorder_point": ("Reorder point", "Service-level quantile of total demand over the lead time", "%.1f"),
    "safety_stock": ("Safety stock", "Order-up-to level minus expected demand over lead time + review period",
                     "%.1f"),
    "order_up_to": ("Order-up-to", "Service-level quantile of demand over lead time + review period", "%.1f"),
    "lead_time_demand": ("Lead-time demand", "Expected demand over the lead time", "%.1f"),
    "days_of_cover": ("Days of cover", "Days until expected demand uses up the stock on hand", "%.0f"),
    "stockout_date": ("Stock-out date", "Empty when beyond the forecast horizon", None),
    "service_level": ("Service level", "", "percent"),
    "lead_time_days": ("Lead time (d)", "", "%d"),
    "review_period_days": ("Review (d)", "", "%d"),
    "unit_cost": ("Unit cost", "", "%.2f"),
    "model": ("Model", "", None),
}


def metrics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-item rows then the overall row (labelled 'All items'), metric columns as the service computed them."""
    out = metrics.copy()
    out["item_id"] = out["item_id"].where(out["item_id"] != OVERALL, OVERALL_LABEL)
    return out[["item_id", "model", "n_points", *METRICS]].reset_index(drop=True)


def metrics_column_config() -> dict[str, Any]:
    """Labels, tooltips with the definitions, and number formats of the metric columns."""
    config: dict[str, Any] = {
        "item_id": st.column_config.TextColumn("Item"),
        "model": st.column_config.TextColumn("Model"),
        "n_points": st.column_config.NumberColumn("Days scored", format="%d"),
    }
    for column, (label, help_text, fmt) in METRICS.items():
        config[column] = st.column_config.NumberColumn(label, help=help_text, format=fmt)
    return config


def comparison_table(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Metrics side by side: one row per metric, one column per model, plus the best model's name."""
    overall = metrics[metrics["item_id"] == OVERALL]
    wide = overall.set_index("model")[list(METRICS)].T
    wide.columns = [str(c) for c in wide.columns]
    wide.insert(0, "metric", [METRICS[m][0] for m in wide.index])
    best = ranking.best_per_metric(metrics, band_width)
    wide["best"] = [", ".join(best[m]) for m in wide.index]
    return wide.reset_index(drop=True)


def item_comparison(metrics: pd.DataFrame, item_id: str, band_width: float | None) -> pd.DataFrame:
    """:func:`comparison_table` for one item: its metrics side by side and its best model per metric."""
    rows = metrics[metrics["item_id"] == item_id].assign(item_id=OVERALL)
    return comparison_table(rows, band_width)


def highlight_best(table: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The comparison table with each metric's best model(s) highlighted; coverage shown in percent."""
    models = [c for c in table.columns if c not in ("metric", "best", "Best")]
    best = "best" if "best" in table.columns else "Best"

    def _row(row: pd.Series) -> list[str]:
        winners = set(str(row[best]).split(", "))
        return ["background-color: #dcfce7; font-weight: 600" if c in winners else "" for c in row.index]

    labels = table["metric"] if "metric" in table.columns else table.index.to_series()
    coverage = table.index[(labels == METRICS["coverage"][0]).to_numpy()]
    others = table.index.difference(coverage)
    return (
        table.style.apply(_row, axis=1)
        .format(precision=3, subset=pd.IndexSlice[others, models], na_rep="")
        .format("{:.1%}", subset=pd.IndexSlice[coverage, models], na_rep="")
    )


def winner_counts(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Items won per metric and model (ties count for every tied model); rows: metric labels, columns: models."""
    counts = ranking.wins_per_model(metrics, band_width).reindex(list(METRICS))
    counts.insert(0, "metric", [METRICS[m][0] for m in counts.index])
    return counts.reset_index(drop=True)


def reorder_view(
    table: pd.DataFrame, reorder_only: bool = False, categories: Sequence[str] = (), search: str = ""
) -> pd.DataFrame:
    """The reorder table filtered, with items to reorder first (then the least days of cover)."""
    out = table
    if reorder_only:
        out = out[out["action"] == "reorder"]
    if categories:
        out = out[out["category"].isin(list(categories))]
    if search.strip():
        needle = search.strip().lower()
        text = out["item_id"].astype(str).str.lower() + " " + out["name"].fillna("").astype(str).str.lower()
        out = out[text.str.contains(needle, regex=False)]
    order = (out["action"] != "reorder").astype(int)
    out = out.assign(_order=order).sort_values(["_order", "days_of_cover"], kind="stable", na_position="last")
    columns = [c for c in REORDER_COLUMNS if c in out.columns]
    return out[columns].reset_index(drop=True)


def reorder_column_config() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for column, (label, help_text, fmt) in REORDER_COLUMNS.items():
        if column == "stockout_date":
            config[column] = st.column_config.DateColumn(label, help=help_text or None, format="YYYY-MM-DD")
        elif fmt is None:
            config[column] = st.column_config.TextColumn(label, help=help_text or None)
        else:
            config[column] = st.column_config.NumberColumn(label, help=help_text or None, format=fmt)
    return config


def choices_table(forecast: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """auto's choice per item: ``item_id, name, demand_class, chosen_model, choice`` (one row per item)."""
    first = forecast.drop_duplicates("item_id")[["item_id", "chosen_model", "choice"]]
    info = items.set_index("item_id")
    out = first.assign(
        name=first["item_id"].map(info["name"]).fillna(""),
        demand_class=first["item_id"].map(info["demand_class"]) if "demand_class" in info else "",
    )
    return out[["item_id", "name", "demand_class", "chosen_model", "choice"]].reset_index(drop=True)


def choices_column_config() -> dict[str, Any]:
    return {
        "item_id": st.column_config.TextColumn("Item"),
        "name": st.column_config.TextColumn("Name"),
        "demand_class": st.column_config.TextColumn("Demand pattern"),
        "chosen_model": st.column_config.TextColumn(
            "Model used", help="ensemble: the median of every pool model's forecast; otherwise the one model "
            "that scored clearly better on the item's own past"),
        "choice": st.column_config.TextColumn("Why", width="large"),
    }
