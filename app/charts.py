"""Plotly figures of the dashboard: pure functions of frames, no Streamlit, so tests can read their traces.

Trace names are part of the contract with the tests and the legend:
``History``, ``Forecast``, ``<w>% band`` (a lower and an upper trace, the upper
one filled down to the lower), ``Held-out actuals``; in the model comparison,
``<model label>`` and ``<model label> <w>% band``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from forecasting.core.models.base import quantile_column
from forecasting.modes.factory import ModelFactory

#: at least this many days of history are drawn before the first forecast day
MIN_HISTORY_SHOWN = 56
#: the model comparison is about the scored days: less history, at least this much
MIN_COMPARISON_HISTORY = 28
#: and at least this many horizons' worth, so a long forecast keeps its context
HISTORY_HORIZONS_SHOWN = 3
MAX_SMALL_MULTIPLES = 12
SMALL_MULTIPLE_COLUMNS = 3

HISTORY_COLOR = "#4b5563"
ACTUALS_COLOR = "#111827"
FORECAST_COLOR = "#2563eb"
MODEL_COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2")
STOCK_COLOR = "#2563eb"
POSITION_COLOR = "#059669"
REORDER_POINT_COLOR = "#dc2626"
ORDERED_COLOR = "#7c3aed"
#: shading of calendar days on the forecast chart (promotions; events and holidays)
MARK_COLORS = {"promotion": "#f59e0b", "event": "#10b981", "holiday": "#10b981"}


def band_levels(bands: Iterable[int]) -> tuple[float, ...]:
    """Central bands in percent -> sorted quantile levels: [50, 80] -> (0.1, 0.25, 0.75, 0.9)."""
    levels: set[float] = set()
    for width in bands:
        if not 0 < int(width) < 100:
            raise ValueError(f"a band must be between 1% and 99%, got {width}%")
        half = round(int(width) / 200.0, 6)
        levels.update((round(0.5 - half, 6), round(0.5 + half, 6)))
    return tuple(sorted(levels))


def band_pairs(columns: Iterable[str]) -> list[tuple[str, str, int]]:
    """``(lower column, upper column, width %)`` for each symmetric pair of quantile columns, widest first."""
    levels = sorted(float(c[1:]) for c in columns if _is_quantile_column(c))
    present = {round(level, 6) for level in levels}
    pairs = []
    for low in levels:
        high = round(1.0 - low, 6)
        if low < 0.5 and high in present:
            pairs.append((quantile_column(low), quantile_column(high), int(round((high - low) * 100))))
    return sorted(pairs, key=lambda p: -p[2])


def history_window(horizon: int) -> int:
    """Buckets of history drawn before a forecast of ``horizon`` buckets."""
    return max(MIN_HISTORY_SHOWN, HISTORY_HORIZONS_SHOWN * int(horizon))


def forecast_figure(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    actuals: pd.DataFrame | None = None,
    title: str = "",
    unit: str = "day",
    marks: pd.DataFrame | None = None,
) -> go.Figure:
    """One item: recent history, point forecast, shaded bands and (when scoring) the held-out actuals.

    ``history``: ``date, quantity``; ``forecast``: ``date, forecast, q<level>...``;
    ``actuals``: ``date, actual``. Only history before the first forecast day is drawn.
    ``marks``: the item's calendar (``type, name, start, end``): its promotion and event days in the drawn
    span are shaded, one rectangle per entry, named by its type and name.
    """
    fig = go.Figure()
    for trace in _forecast_traces(history, forecast, actuals, showlegend=True):
        fig.add_trace(trace)
    if marks is not None and len(marks) and len(forecast):
        _mark_days(fig, marks, history, forecast)
    _style(fig, title, height=420)
    fig.update_yaxes(title_text=f"units per {unit}", rangemode="tozero")
    return fig


def small_multiples_figure(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    actuals: pd.DataFrame | None = None,
    titles: Mapping[str, str] | None = None,
) -> go.Figure:
    """Up to 12 items side by side (3 per row), each with the same traces as :func:`forecast_figure`.

    Frames are long (with ``item_id``); items are taken in the order of ``forecast``.
    """
    items = list(pd.unique(forecast["item_id"]))[:MAX_SMALL_MULTIPLES]
    rows = max(1, math.ceil(len(items) / SMALL_MULTIPLE_COLUMNS))
    names = [(titles or {}).get(i, str(i)) for i in items]
    fig = make_subplots(
        rows=rows,
        cols=SMALL_MULTIPLE_COLUMNS,
        subplot_titles=names,
        vertical_spacing=min(0.12, 0.3 / rows),
        horizontal_spacing=0.05,
    )
    hist_by = dict(tuple(history.groupby("item_id", sort=False)))
    fc_by = dict(tuple(forecast.groupby("item_id", sort=False)))
    act_by = dict(tuple(actuals.groupby("item_id", sort=False))) if actuals is not None else {}
    for k, item in enumerate(items):
        row, col = divmod(k, SMALL_MULTIPLE_COLUMNS)
        traces = _forecast_traces(
            hist_by.get(item, history.iloc[:0]), fc_by[item], act_by.get(item), showlegend=k == 0, outer_only=True
        )
        for trace in traces:
            trace.update(meta={"item_id": str(item)})
            fig.add_trace(trace, row=row + 1, col=col + 1)
    _style(fig, "", height=230 * rows + 70)
    # the legend sits in the top margin, above the first row's titles
    fig.update_layout(margin={"t": 60}, legend={"yref": "container", "y": 1.0, "yanchor": "top"})
    fig.update_annotations(font_size=12)
    fig.update_yaxes(rangemode="tozero")
    return fig


def comparison_figure(history: pd.DataFrame, forecasts: pd.DataFrame, title: str = "", unit: str = "day") -> go.Figure:
    """One item scored by several models: history, held-out actuals, each model's forecast and outer band.

    Models are named by their labels; only the first model's band is drawn at
    first (the others are in the legend, one click away), so bands never pile up.

    ``forecasts`` is the backtest frame of one item (``model, date, actual, forecast, q<level>...``).
    """
    fig = go.Figure()
    first = pd.Timestamp(forecasts["date"].min())
    horizon = int(forecasts.groupby("model", sort=False).size().max())
    shown = _recent(history, first, max(MIN_COMPARISON_HISTORY, horizon))
    fig.add_trace(_line("History", shown["date"], shown["quantity"], HISTORY_COLOR))
    actuals = forecasts.drop_duplicates("date").sort_values("date")
    fig.add_trace(_actuals_trace(actuals["date"], actuals["actual"], showlegend=True))
    pairs = band_pairs(forecasts.columns)
    for k, (model, part) in enumerate(forecasts.groupby("model", sort=False)):
        color = MODEL_COLORS[k % len(MODEL_COLORS)]
        name = ModelFactory.label(model)
        part = part.sort_values("date")
        if pairs:
            low, high, width = pairs[0]
            bands = _band(part["date"], part[low], part[high], f"{name} {width}% band", color, 0.12, True)
            for trace in bands:
                # overlapping bands of several models hide each other: the first model's is drawn, the
                # others' are a click on their legend entry away
                fig.add_trace(trace.update(visible=True if k == 0 else "legendonly"))
        fig.add_trace(_line(name, part["date"], part["forecast"], color, dash="dash"))
    _style(fig, title, height=440)
    fig.update_yaxes(title_text=f"units per {unit}", rangemode="tozero")
    return fig


def overview_figure(totals: pd.DataFrame, title: str = "") -> go.Figure:
    """Units sold per day over all items (``date, quantity``): the landing view before any forecast."""
    totals = totals.sort_values("date")
    fig = go.Figure(_line("Units sold", totals["date"], totals["quantity"], HISTORY_COLOR))
    _style(fig, title, height=260)
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title_text="units per day", rangemode="tozero")
    return fig


def stock_projection_figure(row: Mapping[str, object], projection: pd.DataFrame, title: str = "") -> go.Figure:
    """Projected stock of one item against its reorder point, from the reorder table's own projection.

    ``row`` is the item's reorder-table row; ``projection`` its rows of the
    plan's projection (``date, projected_stock, with_suggested_order``): on hand
    plus stock on order from the day it arrives, minus the expected demand the
    table was computed from. The stock-out marker is the table's stock-out date,
    the first day that line is below zero, so line and marker agree.
    """
    days = projection.sort_values("date")
    steps = pd.to_datetime(days["date"])
    # the as-of bucket: one step (a day, a week, a month) before the first projected one
    start = steps.iloc[0] - (steps.iloc[1] - steps.iloc[0] if len(steps) > 1 else pd.Timedelta(days=1))
    dates = pd.concat([pd.Series([start]), pd.to_datetime(days["date"])], ignore_index=True)
    on_hand = float(row["on_hand"])
    fig = go.Figure()
    fig.add_trace(_line("Projected stock", dates, np.r_[on_hand, days["projected_stock"].to_numpy(dtype=float)],
                        STOCK_COLOR))
    if float(row.get("order_qty") or 0.0) > 0:
        fig.add_trace(_line("With the suggested order", dates,
                            np.r_[on_hand, days["with_suggested_order"].to_numpy(dtype=float)], ORDERED_COLOR,
                            dash="dashdot"))
    fig.add_trace(_line("Reorder point", [dates.iloc[0], dates.iloc[-1]], [float(row["reorder_point"])] * 2,
                        REORDER_POINT_COLOR, dash="dash"))
    arrivals = [("on order arrives", row.get("on_order_due"), float(row.get("on_order") or 0.0))]
    for label, day, quantity in arrivals:
        if quantity > 0 and day is not None and not pd.isna(day):
            fig.add_vline(x=pd.Timestamp(day), line_dash="dot", line_color=POSITION_COLOR)
            fig.add_annotation(x=pd.Timestamp(day), y=1, yref="paper", text=f"{label} (+{quantity:,.0f})",
                               showarrow=False, yanchor="bottom", xanchor="left")
    stockout = row.get("stockout_date")
    if stockout is not None and not pd.isna(stockout):
        fig.add_vline(x=pd.Timestamp(stockout), line_dash="dot", line_color=REORDER_POINT_COLOR)
        fig.add_annotation(x=pd.Timestamp(stockout), y=0.92, yref="paper", text="stock-out", showarrow=False,
                           yanchor="bottom")
    fig.add_hline(y=0, line_color="#9ca3af", line_width=1)
    _style(fig, title, height=380)
    fig.update_yaxes(title_text="units")
    return fig


def stock_service_figure(curves: pd.DataFrame, title: str = "") -> go.Figure:
    """What each point of service costs in stock: one line per policy over its service-level targets.

    ``curves``: ``policy, target, avg_stock, fill_rate`` (the simulator's totals
    per target); x = average stock, y = achieved fill rate, each point labelled
    with its target.
    """
    fig = go.Figure()
    for k, (policy, rows) in enumerate(curves.groupby("policy", sort=False)):
        rows = rows.sort_values("target")
        fig.add_trace(go.Scatter(
            x=rows["avg_stock"], y=rows["fill_rate"] * 100, name=str(policy), mode="lines+markers+text",
            text=[f"{t:.0%}" for t in rows["target"]], textposition="top left",
            line={"color": MODEL_COLORS[k % len(MODEL_COLORS)], "width": 2},
            hovertemplate="target %{text}: fill rate %{y:.1f}% with %{x:,.1f} in stock<extra></extra>",
        ))
    _style(fig, title, height=380)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title_text="average stock (units, all items)")
    fig.update_yaxes(title_text="fill rate achieved (%)")
    return fig


def _forecast_traces(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    actuals: pd.DataFrame | None,
    showlegend: bool,
    outer_only: bool = False,
) -> list[go.Scatter]:
    forecast = forecast.sort_values("date")
    first = pd.Timestamp(forecast["date"].iloc[0])
    shown = _recent(history, first, history_window(len(forecast)))
    traces = [_line("History", shown["date"], shown["quantity"], HISTORY_COLOR, showlegend=showlegend)]
    pairs = band_pairs(forecast.columns)
    for k, (low, high, width) in enumerate(pairs[:1] if outer_only else pairs):
        opacity = 0.12 + 0.12 * k
        traces += _band(forecast["date"], forecast[low], forecast[high], f"{width}% band", FORECAST_COLOR, opacity,
                        showlegend)
    traces.append(_line("Forecast", forecast["date"], forecast["forecast"], FORECAST_COLOR, showlegend=showlegend))
    if actuals is not None and len(actuals):
        actuals = actuals.sort_values("date")
        traces.append(_actuals_trace(actuals["date"], actuals["actual"], showlegend))
    return traces


def _mark_days(fig: go.Figure, marks: pd.DataFrame, history: pd.DataFrame, forecast: pd.DataFrame) -> None:
    """Shade each calendar entry's days (whole days: from its start's midnight to the midnight after its end)."""
    first = pd.Timestamp(forecast["date"].min())
    left = first - pd.Timedelta(days=history_window(len(forecast)))
    right = pd.Timestamp(forecast["date"].max())
    for row in marks.itertuples(index=False):
        start, end = pd.Timestamp(row.start), pd.Timestamp(row.end)
        if end < left or start > right:
            continue
        label = f"{row.type}: {row.name}" if row.name else str(row.type)
        fig.add_vrect(x0=max(start, left) - pd.Timedelta(hours=12), x1=min(end, right) + pd.Timedelta(hours=12),
                      fillcolor=MARK_COLORS.get(row.type, FORECAST_COLOR), opacity=0.15, line_width=0, layer="below",
                      name=label, annotation_text=label, annotation_position="top left",
                      annotation_font_size=10)


def _recent(history: pd.DataFrame, before: pd.Timestamp, buckets: int) -> pd.DataFrame:
    """The last ``buckets`` rows of one item's history strictly before ``before`` (missing buckets are zero rows,
    so these are the last days, weeks or months)."""
    dates = pd.to_datetime(history["date"])
    return history.loc[dates < before].sort_values("date").tail(buckets)


def _line(
    name: str, x: Sequence | pd.Series, y: Sequence | pd.Series | np.ndarray, color: str,
    dash: str | None = None, showlegend: bool = True,
) -> go.Scatter:
    return go.Scatter(
        x=x, y=y, name=name, mode="lines", line={"color": color, "width": 2, "dash": dash},
        legendgroup=name, showlegend=showlegend,
    )


def _actuals_trace(x: pd.Series, y: pd.Series, showlegend: bool) -> go.Scatter:
    return go.Scatter(
        x=x, y=y, name="Held-out actuals", mode="lines+markers",
        line={"color": ACTUALS_COLOR, "width": 1.5}, marker={"size": 5, "color": ACTUALS_COLOR},
        legendgroup="Held-out actuals", showlegend=showlegend,
    )


def _band(
    x: pd.Series, low: pd.Series, high: pd.Series, name: str, color: str, opacity: float, showlegend: bool
) -> list[go.Scatter]:
    """Lower edge (invisible) then upper edge filled down to it."""
    fill = _rgba(color, opacity)
    lower = go.Scatter(
        x=x, y=low, name=name, mode="lines", line={"width": 0, "color": fill}, legendgroup=name,
        showlegend=False, hoverinfo="skip",
    )
    upper = go.Scatter(
        x=x, y=high, name=name, mode="lines", line={"width": 0, "color": fill}, fill="tonexty",
        fillcolor=fill, legendgroup=name, showlegend=showlegend, hoverinfo="skip",
    )
    return [lower, upper]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _is_quantile_column(name: object) -> bool:
    if not isinstance(name, str) or not name.startswith("q"):
        return False
    try:
        return 0.0 < float(name[1:]) < 1.0
    except ValueError:
        return False


def _style(fig: go.Figure, title: str, height: int) -> None:
    # the title on its own line above the legend: side by side they overlap in a narrow window
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "y": 0.99, "yref": "container", "yanchor": "top",
               "font": {"size": 15}} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 66 if title else 30, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        template="plotly_white",
    )


def plan_figure(history: pd.DataFrame, final: pd.DataFrame, title: str = "") -> go.Figure:
    """One item of the published plan: recent history, ``Plan`` (the baseline) and ``Final`` (with overrides).

    ``history``: ``date, quantity``; ``final``: ``date, baseline, final`` (forecasting.applications.planning).
    """
    fig = go.Figure()
    first = pd.Timestamp(final["date"].min()) if len(final) else None
    if first is not None:
        shown = _recent(history, first, history_window(len(final)))
        fig.add_trace(_line("History", shown["date"], shown["quantity"], HISTORY_COLOR))
    fig.add_trace(_line("Plan", final["date"], final["baseline"], FORECAST_COLOR, dash="dot"))
    fig.add_trace(_line("Final", final["date"], final["final"], MODEL_COLORS[1]))
    _style(fig, title, height=380)
    fig.update_yaxes(title_text="units per day", rangemode="tozero")
    return fig


def fva_figure(fva: pd.DataFrame, level: str) -> go.Figure:
    """Forecast value added of one level: ``Plan vs naive`` and ``Final vs plan`` bars per key (WAPE points)."""
    rows = fva[fva["level"] == level]
    fig = go.Figure([
        go.Bar(name="Plan vs naive", x=rows["key"], y=rows["fva_plan"], marker_color=FORECAST_COLOR),
        go.Bar(name="Final vs plan", x=rows["key"], y=rows["fva_final"], marker_color=MODEL_COLORS[1]),
    ])
    _style(fig, f"Forecast value added by {level} (WAPE points; above 0 = the step helped)", height=360)
    fig.update_layout(barmode="group", hovermode="closest")
    return fig
