"""Forecast page: items, horizon, model and bands in; chart, metrics and CSV out."""
from __future__ import annotations

import streamlit as st

from app import charts, config, plan_view, results, tables, widgets
from app.auth import require_user
from app.services import (
    client_calendar,
    client_categories,
    client_history,
    client_items_with_classes,
    client_recent_totals,
    get_services,
    prepare_models,
)
from forecasting.core.calendar import Frequency
from forecasting.modes.factory import ModelFactory

KEY = "fc"
OVERVIEW_DAYS = 91


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Forecast")
    version = services.data.data_version(user.client_id)
    items = client_items_with_classes(user.client_id, version)
    if items.empty:
        st.info("No items yet: upload a sales file on the Data page.")
        return

    restored = widgets.restore_from_url(KEY, _url_fields(items), f"{KEY}_result")
    linked = widgets.pick_from_link(items, KEY)
    chosen = widgets.item_picker(items, client_categories(user.client_id, version), KEY)
    plan_view.render_plan(user, services, items, chosen)  # the plan's chart and grid follow the items picked
    st.subheader("Run a model")
    client = services.data.get_client(user.client_id)
    bucket_col, horizon_col, model_col, bands_col, score_col, run_col = st.columns(
        [1.7, 1.4, 1.6, 1.9, 2, 1.3], vertical_alignment="bottom")
    with bucket_col:
        bucket = widgets.bucket_switch(KEY, client.freq)
    unit = Frequency(bucket)
    with horizon_col:
        horizon = widgets.horizon_input(KEY, unit)
    with model_col:
        model, unavailable = widgets.model_select(KEY)
    with bands_col:
        bands, levels = widgets.bands_select(KEY)
    score = score_col.toggle(
        f"Score on held-out {unit.units}", key=f"{KEY}_score",
        help=f"Score against held-out actuals: each item's last H {unit.units} are hidden from the model, "
        "forecast, and compared with what really sold",
    )
    run = run_col.button("Run forecast", type="primary", key=f"{KEY}_run", disabled=bool(unavailable),
                         width="stretch") or ((linked or restored) and not unavailable)
    if unavailable:
        st.warning(f"{ModelFactory.label(model)} cannot run here: {unavailable}")
    inputs = (tuple(chosen), horizon, model, tuple(bands), score, version, bucket)

    if run:
        if not chosen:
            st.error("Choose at least one item (type to search, or use the quick pick).")
        else:
            st.session_state.pop(f"{KEY}_result", None)  # a failed run must not leave an older result
            update, clear = widgets.progress_callback("Forecasting")
            with widgets.user_errors("Forecast"):
                prepare_models([model])
                if score:
                    response = services.forecasts.backtest(
                        user.client_id, chosen, [model], horizon, 1, levels, user_id=user.user_id, progress=update,
                        bucket=bucket,
                    )
                    st.session_state[f"{KEY}_result"] = (inputs, results.Backtest(response, bands))
                else:
                    response = services.forecasts.forecast(
                        user.client_id, chosen, model, horizon, levels, user_id=user.user_id, progress=update,
                        bucket=bucket,
                    )
                    st.session_state[f"{KEY}_result"] = (inputs, results.Forecast(response))
            clear()

    stored = st.session_state.get(f"{KEY}_result")
    if stored is not None:
        made_with, result = stored
        if made_with != inputs:  # never show another horizon or model as if it were the one now set
            widgets.stale_notice("Run forecast")
        history = (
            result.response.history if isinstance(result, results.Backtest)
            else client_history(user.client_id, version, tuple(result.item_ids), made_with[-1])
        )
        with widgets.user_errors("Showing the result"):  # the run is stored; a display bug must not hide the page
            _show(result, history, items, user.client_name, client, client_calendar(user.client_id, version))
    else:
        totals = client_recent_totals(user.client_id, version, OVERVIEW_DAYS)
        if len(totals):
            st.plotly_chart(charts.overview_figure(totals, f"{user.client_name}: units sold per {client.freq.unit}, "
                                                          f"all items, last {OVERVIEW_DAYS // 7} weeks"),
                            key=f"{KEY}_overview", config={"displaylogo": False})
    widgets.save_to_url(KEY, _url_fields(items), shown=stored is not None)


def _url_fields(items) -> list[widgets.UrlField]:
    """The settings a reload keeps (the address holds them), the chart's view and item included."""
    ids = set(items["item_id"])
    return [
        widgets.UrlField("items", f"{KEY}_items", list, choices=ids),
        widgets.UrlField("bucket", f"{KEY}_bucket", choices=tuple(widgets.BUCKET_LABELS)),
        widgets.UrlField("horizon", f"{KEY}_horizon", int),
        widgets.UrlField("model", f"{KEY}_model", choices=ModelFactory.names()),
        widgets.UrlField("bands", f"{KEY}_bands", list, int, choices=config.BAND_CHOICES, keep_empty=True),
        widgets.UrlField("score", f"{KEY}_score", bool),
        widgets.UrlField("view", f"{KEY}_view"),
        widgets.UrlField("chart", f"{KEY}_chart_item", choices=ids),
    ]


def _show(result: results.Forecast | results.Backtest, history, items, client_name: str, client, calendar) -> None:
    st.caption(result.provenance())
    as_of, buckets = client.as_of, {"freq": client.freq, "view": result.freq}
    unit = result.freq.unit
    if isinstance(result, results.Forecast) and result.response.covariates:
        st.caption(f"Covariates used: {', '.join(result.response.covariates)} (the client's calendar on the Data "
                   "page; the download names them too).")
    names = dict(zip(items["item_id"], items["name"].fillna("")))
    ids = result.item_ids
    view_col, item_col, download_col = st.columns([2.2, 3.2, 2.2], vertical_alignment="bottom")
    several = "Small multiples" if len(ids) <= charts.MAX_SMALL_MULTIPLES else \
        f"Small multiples (first {charts.MAX_SMALL_MULTIPLES} of {len(ids)})"
    views = ["One item", several] if len(ids) > 1 else ["One item"]
    view = view_col.radio("View", views, horizontal=True, key=f"{KEY}_view")
    with download_col:
        kind = "backtest" if isinstance(result, results.Backtest) else "forecast"
        widgets.download_buttons(result.export_frame(names), kind, client_name, as_of, f"{KEY}_download",
                                 extra=result.model, about={"Model": result.label, "Run": result.response.run_id},
                                 **buckets)
    forecast, actuals = result.chart_frames()
    if view == "One item":
        item = item_col.selectbox("Item", ids, key=f"{KEY}_chart_item",
                                  format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i))
        category = dict(zip(items["item_id"], items["category"].fillna(""))).get(item, "")
        fig = charts.forecast_figure(
            history[history["item_id"] == item],
            forecast[forecast["item_id"] == item],
            None if actuals is None else actuals[actuals["item_id"] == item],
            title=f"{item} {names.get(item, '')}".strip(), unit=unit,
            marks=calendar.marks(item, category) if result.freq.code == "D" else None,
        )
    else:
        titles = {i: f"{i} {names.get(i, '')}".strip() for i in ids}
        fig = charts.small_multiples_figure(history, forecast, actuals, titles=titles)
    st.plotly_chart(fig, key=f"{KEY}_chart", config={"displaylogo": False})
    if "chosen_model" in forecast.columns:
        choices = tables.choices_table(forecast, items)
        if view == "One item":
            row = choices[choices["item_id"] == item].iloc[0]
            why = f" ({row['choice']})" if row["choice"] else ""
            st.caption(f"Auto used **{row['chosen_model']}** for {item}{why}.")
        with st.expander(f"Model used per item ({choices['chosen_model'].nunique()} different)"):
            shown = choices if choices["choice"].astype(bool).any() else choices.drop(columns="choice")
            tables.show(shown, f"{KEY}_choices", tables.choices_column_config())

    if isinstance(result, results.Backtest):
        st.subheader(f"Accuracy on the held-out {result.freq.units}")
        metrics = tables.metrics_table(result.response.metrics, names)
        tables.show(metrics, f"{KEY}_metrics", tables.metrics_column_config(result.band_width))
        widgets.download_buttons(metrics, "metrics", client_name, as_of, f"{KEY}_metrics_download",
                                 extra=result.model, about={"Model": result.label, "Run": result.response.run_id},
                                 **buckets)
