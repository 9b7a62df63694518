"""Policy simulator page: two policies replayed over the client's own history, side by side, and what service costs.

The numbers come from :class:`forecasting.services.simulation.SimulationService`
(docs/inventory-policy.md, simulator); this page only collects the inputs and shows the results.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import charts, widgets
from app.auth import require_user
from app.services import (
    client_categories,
    client_items_with_classes,
    get_services,
    prepare_models,
)
from forecasting.applications.inventory.simulation import DEFAULT_REVIEWS, MAX_REVIEWS
from forecasting.modes.factory import ModelFactory
from forecasting.services.simulation import SimulationService

KEY = "sim"
ALL = "All items with stock data"
CHOSEN = "Chosen items"
POLICIES = ("A", "B")
TARGET_TYPES = {"": "per item / class", "cycle": "cycle service", "fill": "fill rate"}
#: cycle service levels of the stock-vs-service chart (percent)
TARGET_CHOICES = (80, 85, 90, 95, 97, 98, 99)
DEFAULT_TARGETS = (80, 90, 95, 98, 99)
SHOWN = {
    "fill_rate": "Fill rate", "cycle_service": "Cycles without stock-out", "avg_stock": "Avg stock (units)",
    "avg_stock_value": "Avg stock (value)", "turns": "Turns / year", "days_out_of_stock": "Days out of stock",
    "orders": "Orders", "covered_share": "Reviews covered",
}


def render() -> None:
    user = require_user()
    services = get_services()
    st.title("Policy simulator")
    st.caption("Replays the reorder policy over the last reviews of your own sales: at each review it forecasts "
               "from the sales up to that day only, orders up to the policy's level, receives the order after the "
               "lead time and serves the real demand (what is not in stock is lost).")
    version = services.data.data_version(user.client_id)
    items = client_items_with_classes(user.client_id, version)
    if items.empty:
        st.info("No items yet: upload sales and inventory files on the Data page.")
        return
    scope = st.radio("Items", [ALL, CHOSEN], horizontal=True, key=f"{KEY}_scope")
    chosen = widgets.item_picker(items, client_categories(user.client_id, version), KEY) if scope == CHOSEN else None
    reviews = st.number_input(f"Reviews replayed (1-{MAX_REVIEWS})", value=DEFAULT_REVIEWS, min_value=1,
                              max_value=MAX_REVIEWS, step=1, key=f"{KEY}_reviews",
                              help="Each review is one review period of the item (26 weekly reviews = half a year)")
    policies = {}
    for name, column in zip(POLICIES, st.columns(2)):
        with column:
            st.markdown(f"**Policy {name}**")
            model, unavailable = widgets.model_select(f"{KEY}_{name.lower()}", label="Demand model")
            level = st.number_input("Service level (%)", value=None, step=0.5, key=f"{KEY}_{name.lower()}_level",
                                    placeholder="per item", help="Empty = each item's own, else its class's")
            kind = st.selectbox("Target", list(TARGET_TYPES), key=f"{KEY}_{name.lower()}_type",
                                format_func=TARGET_TYPES.get,
                                help="Cycle: chance of no stock-out per review cycle; fill rate: share of demand "
                                "served from stock")
            policies[name] = (model, level, kind, unavailable)
    targets = st.multiselect("Targets of the stock-vs-service chart", list(TARGET_CHOICES),
                             default=list(DEFAULT_TARGETS), key=f"{KEY}_targets", format_func=lambda t: f"{t}%")
    blocked = [f"Policy {n}: {ModelFactory.label(m)} cannot run here: {u}"
               for n, (m, _, _, u) in policies.items() if u]
    for line in blocked:
        st.warning(line)
    run = st.button("Simulate", type="primary", key=f"{KEY}_run", disabled=bool(blocked))
    inputs = (tuple(chosen or ()), int(reviews), tuple(policies.items()), tuple(targets), version)
    if run:
        st.session_state.pop(f"{KEY}_result", None)
        bad = [lvl for _, lvl, _, _ in policies.values() if lvl is not None and not 0 < lvl < 100]
        if chosen is not None and not chosen:
            st.error("Choose at least one item, or switch to all items.")
        elif bad:
            st.error(f"Simulation failed: a service level must be above 0% and below 100%, got {bad[0]:g}%.")
        else:
            _simulate(services, user, chosen, int(reviews), policies, sorted(targets), inputs)
    result = st.session_state.get(f"{KEY}_result")
    if result is not None:
        if result[0] != inputs:
            widgets.stale_notice("Simulate")
        _show(result[1], user)


def _simulate(services, user, chosen, reviews, policies, targets, inputs) -> None:
    """Each policy once, its chart targets as variants of the same run (they share the forecasts)."""
    simulator = SimulationService(services.forecasts)
    update, clear = widgets.progress_callback("Simulating")
    outcomes = {}
    with widgets.user_errors("Simulation"):
        prepare_models(sorted({m for m, _, _, _ in policies.values()}))
        for k, (name, (model, level, kind, _)) in enumerate(policies.items()):
            typed = {"service_type": kind} if kind else {}
            variants = [{**typed, **({} if level is None else {"service_level": level / 100.0})},
                        *({**typed, "service_level": t / 100.0} for t in targets)]
            outcomes[name] = simulator.simulate(
                user.client_id, chosen, model, reviews, variants, user_id=user.user_id,
                progress=lambda done, total, k=k: update(k * 1000 + int(1000 * done / max(total, 1)),
                                                         1000 * len(policies)))
        st.session_state[f"{KEY}_result"] = (inputs, outcomes)
    clear()


def _labelled(outcomes: dict, frame_of) -> pd.DataFrame:
    """Variant 0 (the policy itself) of each policy's frame, with a ``policy`` column first."""
    parts = []
    for name, outcome in outcomes.items():
        frame = frame_of(outcome)
        if frame is None:
            continue
        frame = frame[frame["variant"] == 0].drop(columns="variant")
        parts.append(frame.assign(policy=f"{name}: {ModelFactory.label(outcome.model)}"))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["policy", *[c for c in out.columns if c != "policy"]]]


def _show(outcomes: dict, user) -> None:
    total = _labelled(outcomes, lambda o: o.total)
    for name, column in zip(outcomes, st.columns(len(outcomes))):
        row = total.iloc[list(outcomes).index(name)]
        column.metric(f"Policy {name} fill rate", f"{row['fill_rate']:.1%}",
                      help="Units served / units demanded over the replayed reviews (lost sales)")
        column.metric(f"Policy {name} average stock", f"{row['avg_stock']:,.1f} units",
                      help="End-of-day stock on hand, averaged over the days and summed over the items")
    skipped = sorted({i for o in outcomes.values() for i in o.skipped})
    if skipped:
        st.caption(f"Left out (no stock position or too little history before the first review): "
                   f"{', '.join(map(str, skipped[:20]))}" + (" ..." if len(skipped) > 20 else ""))
    as_of = next(iter(outcomes.values())).as_of
    config = {c: st.column_config.NumberColumn(label, format="percent" if c in
                                               ("fill_rate", "cycle_service", "covered_share") else "%.1f")
              for c, label in SHOWN.items()}
    st.subheader("Total")
    st.dataframe(total, hide_index=True, column_config=config, key=f"{KEY}_total")
    classes = _labelled(outcomes, lambda o: o.classes)
    if not classes.empty:
        st.subheader("Per class")
        st.dataframe(classes, hide_index=True, column_config=config, key=f"{KEY}_classes")
    st.subheader("Per item")
    per_item = _labelled(outcomes, lambda o: o.items)
    widgets.download_buttons(per_item, "simulation", user.client_name, as_of, f"{KEY}_download",
                             about={"Reviews": next(iter(outcomes.values())).reviews},
                             freq=get_services().data.get_client(user.client_id).freq)
    st.dataframe(per_item, hide_index=True, column_config=config, key=f"{KEY}_items",
                 height=min(420, 38 + 35 * max(1, len(per_item))))
    curves = _curves(outcomes)
    if not curves.empty:
        st.subheader("Stock against service")
        st.plotly_chart(charts.stock_service_figure(curves), key=f"{KEY}_chart", config={"displaylogo": False})
        st.caption("Each point replays the policy with every item at that cycle service level: how much stock "
                   "each extra point of fill rate costs, for each policy's demand model.")


def _curves(outcomes: dict) -> pd.DataFrame:
    """Totals of the chart's variants (1 ...): ``policy, target, avg_stock, fill_rate``."""
    rows = []
    for name, outcome in outcomes.items():
        for v, variant in enumerate(outcome.variants):
            if v == 0:
                continue
            total = outcome.total[outcome.total["variant"] == v].iloc[0]
            rows.append({"policy": f"{name}: {ModelFactory.label(outcome.model)}",
                         "target": variant["service_level"], "avg_stock": total["avg_stock"],
                         "fill_rate": total["fill_rate"]})
    return pd.DataFrame(rows)
