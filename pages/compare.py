"""Compare models page: the same items and horizon through several models, scored on held-out actuals."""
from __future__ import annotations

import streamlit as st

from app import charts, config, plan_view, results, tables, widgets
from app.auth import require_user
from app.services import client_categories, client_items_with_classes, get_services, prepare_models
from forecasting.core.calendar import Frequency
from forecasting.modes.factory import ModelFactory

KEY = "cmp"


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Compare models")
    version = services.data.data_version(user.client_id)
    items = client_items_with_classes(user.client_id, version)
    if items.empty:
        st.info("No items yet: upload a sales file on the Data page.")
        return

    fields = _url_fields(items)
    restored = widgets.restore_from_url(KEY, fields, f"{KEY}_result")
    chosen = widgets.item_picker(items, client_categories(user.client_id, version), KEY)
    client = services.data.get_client(user.client_id)
    bucket_col, models_col, horizon_col, bands_col, run_col = st.columns([1.7, 3, 1.4, 2, 1.3],
                                                                         vertical_alignment="bottom")
    with bucket_col:
        bucket = widgets.bucket_switch(KEY, client.freq)
    with models_col:
        models, problems = widgets.models_multiselect(KEY)
    with horizon_col:
        horizon = widgets.horizon_input(KEY, Frequency(bucket))
    with bands_col:
        bands, levels = widgets.bands_select(KEY)
    run = run_col.button("Compare", type="primary", key=f"{KEY}_run", width="stretch", disabled=bool(problems),
                         help="Each item's last H buckets are hidden from every model, forecast, and scored against "
                         "what really sold") or (restored and not problems)
    for problem in problems:
        st.warning(problem)

    if run:
        if not chosen:
            st.error("Choose at least one item (type to search, or use the quick pick).")
        elif len(models) < 2:
            st.error("Choose at least two models to compare.")
        else:
            st.session_state.pop(f"{KEY}_result", None)  # a failed run must not leave an older result
            update, clear = widgets.progress_callback("Scoring")
            with widgets.user_errors("Comparison"):
                prepare_models(models)
                response = services.forecasts.backtest(
                    user.client_id, chosen, models, horizon, 1, levels, user_id=user.user_id, progress=update,
                    bucket=bucket,
                )
                st.session_state[f"{KEY}_result"] = results.Backtest(response, bands)
            clear()

    result = st.session_state.get(f"{KEY}_result")
    if result is not None:
        with widgets.user_errors("Showing the result"):  # the run is stored; a display bug must not hide the page
            _show(result, items, user.client_name, client)
    widgets.save_to_url(KEY, fields, shown=result is not None)
    plan_view.render_fva(user, services, client)


def _url_fields(items) -> list[widgets.UrlField]:
    """The settings a reload keeps (the address holds them), the chart's item included."""
    ids = set(items["item_id"])
    return [
        widgets.UrlField("items", f"{KEY}_items", list, choices=ids),
        widgets.UrlField("models", f"{KEY}_models", list, choices=ModelFactory.names(), keep_empty=True),
        widgets.UrlField("bucket", f"{KEY}_bucket", choices=tuple(widgets.BUCKET_LABELS)),
        widgets.UrlField("horizon", f"{KEY}_horizon", int),
        widgets.UrlField("bands", f"{KEY}_bands", list, int, choices=config.BAND_CHOICES, keep_empty=True),
        widgets.UrlField("chart", f"{KEY}_chart_item", choices=ids),
    ]


def _show(result: results.Backtest, items, client_name: str, client) -> None:
    st.caption(result.provenance())
    as_of, buckets = client.as_of, {"freq": client.freq, "view": result.freq}
    names = dict(zip(items["item_id"], items["name"].fillna("")))
    metrics = result.response.metrics
    width = result.band_width

    item_col, _ = st.columns([2, 3])
    item = item_col.selectbox("Item", result.item_ids, key=f"{KEY}_chart_item",
                              format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i))
    fig = charts.comparison_figure(
        result.response.history[result.response.history["item_id"] == item], result.item_forecasts(item),
        title=f"{item} {names.get(item, '')}".strip(), unit=result.freq.unit,
    )
    st.plotly_chart(fig, key=f"{KEY}_chart", config={"displaylogo": False})
    chosen = result.item_forecasts(item)
    if "chosen_model" in chosen.columns and chosen["chosen_model"].notna().any():
        used = chosen.loc[chosen["chosen_model"].notna(), "chosen_model"].iloc[0]
        st.caption(f"Auto used **{ModelFactory.label(used)}** for this item.")

    # full-width tables, one below the other: with many models a side column would wrap or cut them
    st.subheader(f"Best for {item}")
    mine = tables.item_comparison(metrics, item, width)
    tables.show(tables.highlight_best(mine), f"{KEY}_item_table", COMPARISON_COLUMNS)

    st.subheader("All items: metrics side by side")
    table = tables.comparison_table(metrics, width)
    tables.show(tables.highlight_best(table), f"{KEY}_table", COMPARISON_COLUMNS)
    st.caption("Best = lowest error; for bias the smallest |bias|; for coverage the nearest to the outer "
               "band's width. Hover a metric in the per-item table for its definition.")
    about = {"Models": result.label, "Run": result.response.run_id}
    widgets.download_buttons(table, "comparison", client_name, as_of, f"{KEY}_table_download", about=about, **buckets)

    st.subheader("Items won per model")
    tables.show(tables.winner_counts(metrics, width), f"{KEY}_wins", {"metric": "Metric"})
    st.caption("Ties count for every tied model.")
    with st.expander("Metrics per item and model"):
        per_item = tables.metrics_table(metrics, names)
        tables.show(per_item, f"{KEY}_metrics", tables.metrics_column_config(width))
        widgets.download_buttons(per_item, "metrics", client_name, as_of, f"{KEY}_metrics_download", about=about,
                                 **buckets)


#: the comparison tables' own columns (the models' columns are their labels)
COMPARISON_COLUMNS = {"metric": "Metric", "best": st.column_config.TextColumn("Best model", width="medium")}
