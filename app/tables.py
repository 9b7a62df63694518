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
from pandas.io.formats.style import Styler

from app import links
from forecasting.applications.exceptions import rules
from forecasting.applications.quality import ranking
from forecasting.applications.quality.calculator import OVERALL
from forecasting.modes.factory import ModelFactory

OVERALL_LABEL = "All items"

#: metric column -> (label, definition shown as the column's tooltip, number format)
METRICS: dict[str, tuple[str, str, str]] = {
    "mape": ("MAPE %", "Mean absolute percentage error: 100 x mean |actual - forecast| / |actual| over days "
             "with non-zero actuals (zero days are left out; a dash when all are zero).", "%.1f"),
    "mae": ("MAE", "Mean absolute error: mean |actual - forecast|, in units per day.", "%.2f"),
    "rmse": ("RMSE", "Root mean squared error: sqrt(mean (actual - forecast)^2), in units per day; "
             "punishes large misses more than MAE.", "%.2f"),
    "wape": ("WAPE %", "Weighted absolute percentage error: 100 x sum |actual - forecast| / sum |actual| "
             "(a dash when all actuals are zero).", "%.1f"),
    "bias": ("Bias %", "100 x sum (forecast - actual) / sum |actual|: positive means over-forecasting.", "%.1f"),
    "mase": ("MASE", "Mean absolute scaled error: MAE divided by the mean absolute day-to-day change of the "
             "history the model saw (below 1 beats 'same as yesterday').", "%.2f"),
    "wql": ("WQL", "Weighted quantile loss over the requested quantile levels (lower is better).", "%.3f"),
    "coverage": ("Coverage", "Share of actuals inside the outermost band (ideally close to the band's width).",
                 "percent"),
}

#: the reorder table's columns as the page shows them: what a planner acts on first (fits 1366 px)
REORDER_COLUMNS: dict[str, tuple[str, str, str | None]] = {
    "item_id": ("Item", "Item id", None),
    "action": ("Action", "reorder: order now (inventory position at or below the reorder point, or at least one "
               "unit short before an order placed today could arrive)", None),
    "order_qty": ("Order qty", "Up to the order-up-to level, rounded to the pack size, at least the MOQ", "%.0f"),
    "days_of_cover": ("Cover (d)", "Days until expected demand uses up the stock on hand and the stock on order "
                      "(counted from the day it arrives)", "%.0f"),
    "stockout_date": ("Stock-out", "A dash when beyond the forecast horizon", None),
    "name": ("Name", "", None),
    "abc": ("ABC", "A, B or C by value sold over the last 52 weeks (cumulative 80% / 95%)", None),
    "xyz": ("XYZ", "X, Y or Z by the variability of weekly demand (CV below 0.5 / 1.0)", None),
    "lifecycle": ("Lifecycle", "new (under 8 weeks of sales), active, or dead (no sale for 26 weeks or phased "
                  "out: no stock, no order)", None),
    "service_level": ("Target", "The item's own service level, else its ABC x XYZ class's", "percent"),
    "service_type": ("Target type", "cycle: chance of no stock-out in a review cycle; fill: share of demand "
                     "served from stock", None),
    "order_value": ("Order value", "Order quantity x unit cost (a dash: no unit cost known)", "%.2f"),
    "excess_qty": ("Excess", "Inventory position above the order-up-to level (a dead item's whole position)",
                   "%.0f"),
    "on_hand": ("On hand", "", "%.0f"),
    "on_order": ("On order", "", "%.0f"),
    "on_order_due": ("Arrives", "When the stock on order arrives (given, else after the lead time); empty when "
                     "nothing is on order", None),
    "inventory_position": ("Position", "On hand + on order", "%.0f"),
    "reorder_point": ("Reorder point", "Service-level quantile of total demand over the lead time", "%.1f"),
    "safety_stock": ("Safety stock", "Order-up-to level minus expected demand over lead time + review period",
                     "%.1f"),
    "order_up_to": ("Order-up-to", "Service-level quantile of demand over lead time + review period", "%.1f"),
    "lead_time_demand": ("Lead-time demand", "Expected demand over the lead time", "%.1f"),
    "category": ("Category", "", None),
    "lead_time_days": ("Lead time (d)", "", "%d"),
    "lead_time_std_days": ("Lead time std (d)", "Standard deviation of the lead time (0: fixed)", "%.1f"),
    "review_period_days": ("Review (d)", "", "%d"),
    "unit_cost": ("Unit cost", "A dash: not known (the item's order value is not in the total)", "%.2f"),
    "model": ("Model", "", None),
}
#: columns narrow enough that the first five fit beside each other at 1366 px
NARROW = {"item_id", "action", "order_qty", "days_of_cover", "stockout_date"}


#: Streamlit's row height in pixels (the header is one row too)
ROW_PX = 35
#: the tallest table box: 17 rows, what a 768-px laptop screen shows below the page's inputs
MAX_TABLE_PX = 630
#: what an empty cell shows (a metric that is undefined, e.g. MAPE of an item that sold nothing)
MISSING = "–"


def table_height(rows: int, max_px: int = MAX_TABLE_PX) -> int:
    """A box tall enough for every row, up to ``max_px`` (Streamlit's own default shows ten rows at most)."""
    return min(max_px, ROW_PX * (max(rows, 1) + 1) + 3)


def show(data: pd.DataFrame | Styler, key: str, column_config: dict[str, Any] | None = None,
         max_px: int = MAX_TABLE_PX, **kwargs: Any) -> None:
    """``st.dataframe`` as every page shows tables: no index, sized to its rows, empty cells as a dash."""
    rows = len(data.data) if isinstance(data, Styler) else len(data)
    st.dataframe(data, hide_index=True, key=key, column_config=column_config, height=table_height(rows, max_px),
                 placeholder=MISSING, **kwargs)


def metric_label(column: str, band_width: float | None = None) -> str:
    """A metric's column label; coverage names the band it is judged on ('Coverage, 80% band')."""
    label = METRICS[column][0]
    if column == "coverage" and band_width:
        return f"{label}, {band_width * 100:g}% band"
    return label


def metrics_table(metrics: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per-item rows then the overall row (labelled 'All items'), each item's name, the service's metrics."""
    out = metrics.copy()
    out["name"] = out["item_id"].map(names or {}).fillna("")
    out["item_id"] = out["item_id"].where(out["item_id"] != OVERALL, OVERALL_LABEL)
    out["model"] = out["model"].map(ModelFactory.label)
    return out[["item_id", "name", "model", "n_points", *METRICS]].reset_index(drop=True)


def metrics_column_config(band_width: float | None = None) -> dict[str, Any]:
    """Labels, tooltips with the definitions, and number formats of the metric columns."""
    config: dict[str, Any] = {
        "item_id": st.column_config.TextColumn("Item"),
        "name": st.column_config.TextColumn("Name"),
        "model": st.column_config.TextColumn("Model"),
        "n_points": st.column_config.NumberColumn("Days scored", format="%d"),
    }
    for column, (_, help_text, fmt) in METRICS.items():
        config[column] = st.column_config.NumberColumn(metric_label(column, band_width), help=help_text, format=fmt)
    return config


def comparison_table(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Metrics side by side: one row per metric, one column per model (its label), plus the best model's label."""
    overall = metrics[metrics["item_id"] == OVERALL]
    wide = overall.set_index("model")[list(METRICS)].T
    wide.columns = [ModelFactory.label(c) for c in wide.columns]
    wide.insert(0, "metric", [metric_label(m, band_width) for m in wide.index])
    best = ranking.best_per_metric(metrics, band_width)
    wide["best"] = [", ".join(map(ModelFactory.label, best[m])) for m in wide.index]
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
    coverage = table.index[labels.astype(str).str.startswith(METRICS["coverage"][0]).to_numpy()]
    others = table.index.difference(coverage)
    return (
        table.style.apply(_row, axis=1)
        .format(precision=3, subset=pd.IndexSlice[others, models], na_rep="")
        .format("{:.1%}", subset=pd.IndexSlice[coverage, models], na_rep="")
    )


def winner_counts(metrics: pd.DataFrame, band_width: float | None) -> pd.DataFrame:
    """Items won per metric and model (ties count for every tied model); rows: metric labels, columns: models."""
    counts = ranking.wins_per_model(metrics, band_width).reindex(list(METRICS))
    counts.columns = [ModelFactory.label(c) for c in counts.columns]
    counts.insert(0, "metric", [metric_label(m, band_width) for m in counts.index])
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
    view = out[columns].reset_index(drop=True)
    if "on_order_due" in view:  # nothing on order: nothing arrives, so no date (the table says when it would)
        view["on_order_due"] = view["on_order_due"].where(view["on_order"] > 0)
    if "model" in view:
        view["model"] = view["model"].map(ModelFactory.label)  # "MA7", as every other table names it
    return view


def reorder_column_config() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for column, (label, help_text, fmt) in REORDER_COLUMNS.items():
        width = "small" if column in NARROW else None
        if column in ("stockout_date", "on_order_due"):
            config[column] = st.column_config.DateColumn(label, help=help_text or None, format="YYYY-MM-DD",
                                                         width=width)
        elif fmt is None:
            config[column] = st.column_config.TextColumn(label, help=help_text or None, width=width)
        else:
            config[column] = st.column_config.NumberColumn(label, help=help_text or None, format=fmt, width=width)
    return config


def reorder_totals(table: pd.DataFrame) -> dict[str, object]:
    """Headline figures of a reorder table: items to order, their value, stock-outs, orders without a cost."""
    to_order = table[table["action"] == "reorder"]
    no_cost = to_order["unit_cost"].isna() & (to_order["order_qty"] > 0)
    return {
        "to_order": len(to_order),
        "value": float(to_order["order_value"].sum(skipna=True)),
        "no_cost": to_order.loc[no_cost, "item_id"].tolist(),
        "stockouts": int(table["stockout_date"].notna().sum()),
    }


def choices_table(forecast: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """auto's choice per item: ``item_id, name, demand_class, chosen_model, choice`` (one row per item).

    A scored run's forecasts carry the model each item got but not auto's reason: ``choice`` is then empty.
    """
    first = forecast.drop_duplicates("item_id")
    first = first[["item_id", "chosen_model"]].assign(choice=first["choice"] if "choice" in first else "")
    info = items.set_index("item_id")
    out = first.assign(
        chosen_model=first["chosen_model"].map(ModelFactory.label),
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
            "Model used", help="Median ensemble: the median of every pool model's forecast; otherwise the one model "
            "that scored clearly better on the item's own past"),
        "choice": st.column_config.TextColumn("Why", width="large"),
    }


def exceptions_view(
    queue: pd.DataFrame, reasons: Sequence[str] = (), categories: Sequence[str] = (), min_value: float = 0.0
) -> pd.DataFrame:
    """The attention queue filtered (see ``rules.filter_queue``), with a link to each item's chart."""
    out = rules.filter_queue(queue, reasons, categories, min_value)
    out = out.assign(chart=[links.item_url("forecast", i) for i in out["item_id"]])
    return out[["rank", "item_id", "name", "reason", "detail", "units", "value_at_risk", "unit_cost", "category",
                "other_reasons", "chart"]].reset_index(drop=True)


def exceptions_column_config() -> dict[str, Any]:
    return {
        "rank": st.column_config.NumberColumn("#", format="%d", width="small"),
        "item_id": st.column_config.TextColumn("Item", width="small"),
        "name": st.column_config.TextColumn("Name"),
        "reason": st.column_config.TextColumn("Reason"),
        "detail": st.column_config.TextColumn("What is going on", width="large"),
        "units": st.column_config.NumberColumn("Units", format="%.0f", help="Units at stake"),
        "value_at_risk": st.column_config.NumberColumn("Value at risk", format="%.2f",
                                                       help="Units x unit cost (a dash: no unit cost)"),
        "unit_cost": st.column_config.NumberColumn("Unit cost", format="%.2f"),
        "category": st.column_config.TextColumn("Category"),
        "other_reasons": st.column_config.TextColumn("Also"),
        "chart": st.column_config.LinkColumn("Chart", display_text="open", help="The item on the Forecast page"),
    }
