"""The published plan on the Forecast page and forecast value added on the Compare page (docs/planning.md).

Thin: every number comes from ``services.planning`` (forecasting/services/planning.py) and the grid's
edits become overrides through forecasting.applications.planning.grid.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app import charts, widgets
from forecasting.applications.planning.fva import LEVELS
from forecasting.applications.planning.grid import edits_to_overrides, weekly
from forecasting.applications.planning.overrides import KINDS, REASONS

KEY = "plan"
#: items in the editable grid at once (the item picker narrows it)
GRID_ITEMS = 50
HISTORY_COLUMNS = ["override_id", "item_id", "start_date", "end_date", "change", "kind", "reason", "note",
                   "created_by", "created_at", "old_value", "new_value", "reverted", "reverted_by"]


def render_plan(user, services, items: pd.DataFrame, chosen: list[str]) -> None:
    """The published plan: its chart (plan and final), the editable items x weeks grid, overrides and history."""
    planning = services.planning
    st.subheader("Published plan")
    plan = planning.current_plan(user.client_id)
    model = planning.planning_model(user.client_id)
    if plan is None:
        st.info(f"No published plan yet: make one to see and override it (all items, with the client's planning "
                f"model {model}; an admin sets it on the Admin page). After that, every sales import makes it again.")
        _make_button(user, planning, "Make the plan", model)
        return
    first, last, units = planning.days_covered(user.client_id, plan)
    note_col, button_col = st.columns([4, 1], vertical_alignment="center")
    note_col.caption(f"Plan {plan.plan_id}: {plan.model}, data as of {plan.as_of}, {plan.horizon} {units} "
                     f"(made {plan.created_at:%Y-%m-%d %H:%M} UTC). Reorder and Attention use it with its overrides.")
    with button_col:
        _make_button(user, planning, "Re-plan now", model, plan.horizon)
    if plan.data_version != services.data.data_version(user.client_id) or plan.model != model:
        st.warning(f"The client's data or planning model ({model}) changed since this plan was made: Re-plan now "
                   f"to make it on the current data (overrides carry over).", icon=":material/update:")
    _, final = planning.final(user.client_id)
    if final.empty:
        st.info("The plan has no items.")
        return
    planned = sorted(final["item_id"].unique())
    in_plan = [i for i in chosen if i in set(planned)]
    if chosen and not in_plan:
        st.info("None of the chosen items is in the plan (too little sales history): showing the plan's first items.")
    shown = in_plan or planned[:GRID_ITEMS]
    names = dict(zip(items["item_id"], items["name"].fillna("")))
    item = st.selectbox("Item", shown, key=f"{KEY}_item",
                        format_func=lambda i: f"{i} - {names[i]}" if names.get(i) else str(i))
    history = services.data.history(user.client_id, [item], start=plan.as_of - 3 * (last - plan.as_of))
    one = final[final["item_id"] == item]
    st.plotly_chart(charts.plan_figure(history, one, title=f"{item} {names.get(item, '')}".strip()),
                    key=f"{KEY}_chart", config={"displaylogo": False})

    st.markdown("**Final forecast per week** (edit a week's total to override it)")
    scope = final[final["item_id"].isin(shown)]
    before = weekly(scope, "final")
    reason_col, note_col = st.columns([1, 2])
    reason = reason_col.selectbox("Reason", REASONS, key=f"{KEY}_grid_reason")
    note = note_col.text_input("Note", key=f"{KEY}_grid_note", max_chars=2000)
    edited = st.data_editor(before, key=f"{KEY}_grid", width="stretch", disabled=False)
    with st.expander("Baseline (the plan) per week"):
        st.dataframe(weekly(scope, "baseline"), key=f"{KEY}_baseline")
    if st.button("Save week changes", key=f"{KEY}_grid_save", type="primary"):
        rows = edits_to_overrides(before, pd.DataFrame(edited, index=before.index, columns=before.columns),
                                  pd.Timestamp(last), reason, note)
        if rows.empty:
            st.info("No week was changed.")
        else:
            with widgets.user_errors("Override"):
                planning.add_overrides(user.client_id, rows, user.username)
                st.rerun()

    _override_form(user, planning, (first, last), item, items)
    _history(user, planning, item, plan.as_of)


def _make_button(user, planning, label: str, model: str, horizon: int | None = None) -> None:
    """Make the plan on demand with the client's planning model (the current plan's horizon, else the default)."""
    if st.button(label, key=f"{KEY}_make", help=f"All items with enough history, with {model}"):
        with widgets.user_errors("Plan"), st.spinner("Making the plan"):
            planning.make_plan(user.client_id, None, horizon, user_id=user.user_id)
            st.rerun()


def _override_form(user, planning, covered: tuple, item: str, items: pd.DataFrame) -> None:
    with st.expander("Override a date range (one item or a whole category)"):
        first, last = covered  # the days the plan's buckets cover
        scope_col, target_col = st.columns([1, 2])
        scope = scope_col.radio("For", ["This item", "A category"], key=f"{KEY}_form_scope", horizontal=True)
        categories = sorted(c for c in items["category"].dropna().unique() if c)
        category = target_col.selectbox("Category", categories, key=f"{KEY}_form_category",
                                        disabled=scope == "This item")
        start_col, end_col, kind_col, change_col = st.columns(4)
        start = start_col.date_input("From", first, min_value=first, max_value=last, key=f"{KEY}_form_start")
        end = end_col.date_input("To", min(first + timedelta(days=27), last), min_value=first, max_value=last,
                                 key=f"{KEY}_form_end")
        kind = kind_col.selectbox("Kind", KINDS, key=f"{KEY}_form_kind",
                                  format_func=lambda k: "% change" if k == "percent" else "units in total")
        change = change_col.number_input("Change", value=0.0, key=f"{KEY}_form_change")
        reason_col, note_col = st.columns([1, 2])
        reason = reason_col.selectbox("Reason", REASONS, key=f"{KEY}_form_reason")
        note = note_col.text_input("Note", key=f"{KEY}_form_note", max_chars=2000)
        if st.button("Apply override", key=f"{KEY}_form_apply", type="primary"):
            row = {"item_id": item if scope == "This item" else "", "category": "" if scope == "This item" else category,
                   "start_date": str(start), "end_date": str(end), "change": str(change), "kind": kind,
                   "reason": reason, "note": note}
            with widgets.user_errors("Override"):
                planning.add_overrides(user.client_id, pd.DataFrame([row]), user.username)
                st.rerun()


def _history(user, planning, item: str, as_of) -> None:
    st.markdown(f"**Changes to {item}** (kept for good; a revert is recorded too)")
    history = planning.overrides(user.client_id, [item])
    if history.empty:
        st.caption("No override yet.")
        return
    st.dataframe(history[HISTORY_COLUMNS], hide_index=True, key=f"{KEY}_history")
    with st.columns([3, 2])[1]:
        widgets.download_buttons(history[HISTORY_COLUMNS], "overrides", user.client_name, as_of,
                                 f"{KEY}_history_download", extra=item)
    active = history.loc[~history["reverted"], "override_id"].tolist()
    if active:
        pick_col, revert_col = st.columns([2, 1], vertical_alignment="bottom")
        chosen = pick_col.selectbox("Override", active, key=f"{KEY}_revert_id")
        if revert_col.button("Revert", key=f"{KEY}_revert", width="stretch"):
            with widgets.user_errors("Revert"):
                planning.revert(user.client_id, int(chosen), user.username)
                st.rerun()


def render_fva(user, services, client) -> None:
    """Forecast value added: naive vs plan vs final per level, a bar chart, downloads."""
    st.subheader("Forecast value added")
    table = services.planning.fva(user.client_id)
    if table.empty:
        st.info("Nothing to score yet: forecast value added needs a published plan and actuals for its days.")
        return
    level = st.radio("Level", LEVELS, horizontal=True, key="fva_level")
    st.dataframe(table[table["level"] == level], hide_index=True, key="fva_table")
    st.plotly_chart(charts.fva_figure(table, level), key="fva_chart", config={"displaylogo": False})
    widgets.download_buttons(table, "fva", user.client_name, client.as_of, "fva_download", freq=client.freq)
    st.caption("WAPE of the seasonal naive forecast, the plan and the final forecast (with overrides) on the same "
               "days; fva_plan = WAPE naive - WAPE plan, fva_final = WAPE plan - WAPE final (docs/planning.md).")
