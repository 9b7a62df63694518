"""The services the pages call, created once per server process, and the app's data caches.

Cache rules (docs/security.md, docs/platform-notes.md): every ``st.cache_data`` function takes the
client id and the client's data version as arguments and never reads
``st.session_state`` (the cache is shared by all users), so one client's
entries can never answer another client's call, and any import or item edit
(which bumps the data version) makes fresh entries. Forecast results are not
cached here: the forecast service keeps them in the database.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from forecasting.core.client_calendar import ClientCalendar
from forecasting.core.models.base import Availability
from forecasting.modes.factory import ModelFactory
from forecasting.services.container import Services, build_services
from forecasting.services.limits import RequestLimits

#: how long a forecast waits for a free computation slot before the page says the server is busy
APP_SLOT_WAIT_S = 30
#: how long a model's availability is trusted (weights may be installed while the app runs)
AVAILABILITY_TTL_S = 60


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    """One database engine and service set per process ($DATABASE_URL, else data/app.db), schema migrated.

    The request limits are the API's, except that a request waits up to APP_SLOT_WAIT_S for a free
    computation slot (a planner would rather wait a moment than click again).
    """
    return build_services(limits=RequestLimits.from_env(slot_wait_s=APP_SLOT_WAIT_S))


@st.cache_resource(show_spinner="Loading Chronos-2 (once per server, a few seconds)...", max_entries=1)
def chronos_pipeline(weights_version: str) -> object:
    """The Chronos-2 pipeline of these weights, loaded once per server process and shared by all sessions.

    The model factory's Chronos-2 model uses this same pipeline (the loader keeps
    one per weights); keying on the weights' version reloads when they change.
    """
    from forecasting.modes.ml.loading import get_pipeline

    return get_pipeline()


@st.cache_resource(show_spinner="Loading statsforecast for Holt (once per server, about 2 seconds)...")
def statsforecast_loaded() -> bool:
    """Import statsforecast's ETS once per server process (the damped Holt model fits with it)."""
    import statsforecast.models  # noqa: F401

    return True


def prepare_models(names: list[str]) -> None:
    """Load heavy models before a run (with a spinner the first time), so the run itself only computes."""
    if "holt" in names:
        statsforecast_loaded()
    if ("chronos-2" in names or "auto" in names) and ModelFactory.create("chronos-2").availability().available:
        from forecasting.modes.ml.loading import weights_version

        chronos_pipeline(weights_version())


@st.cache_data(ttl=AVAILABILITY_TTL_S, show_spinner=False)
def model_availability() -> dict[str, Availability]:
    """Whether each model can run here (cheap; no weights are loaded)."""
    return {name: ModelFactory.create(name).availability() for name in ModelFactory.names()}


def model_help() -> str:
    """One line per registered model: its label and what it does (the model selects' tooltip)."""
    return "  \n".join(
        f"**{label}**: {ModelFactory.create(name).description}" for name, label in ModelFactory.labels().items()
    )


@st.cache_data(show_spinner=False, max_entries=200)
def client_items(client_id: int, data_version: int) -> pd.DataFrame:
    """The client's items with parameters, stock and volumes (keyed on the data version)."""
    return get_services().data.list_items(client_id)


@st.cache_data(show_spinner=False, max_entries=200)
def client_items_with_classes(client_id: int, data_version: int) -> pd.DataFrame:
    """The client's items plus each one's demand class, ADI and CV^2, ABC / XYZ / lifecycle (empty for items
    without sales)."""
    items = client_items(client_id, data_version)
    classes = get_services().forecasts.demand_classes(client_id)
    policy_classes = get_services().forecasts.item_classes(client_id)  # abc, xyz, lifecycle
    return items.merge(classes, on="item_id", how="left").merge(policy_classes, on="item_id", how="left")


@st.cache_data(show_spinner=False, max_entries=200)
def client_categories(client_id: int, data_version: int) -> list[str]:
    return get_services().data.categories(client_id)


@st.cache_data(show_spinner=False, max_entries=200)
def client_calendar(client_id: int, data_version: int) -> ClientCalendar:
    """The client's calendar (promotions, events, holidays, planned prices); a calendar import bumps the version."""
    return get_services().data.calendar(client_id)


@st.cache_data(show_spinner=False, max_entries=500)
def client_history(client_id: int, data_version: int, item_ids: tuple[str, ...], bucket: str | None = None
                   ) -> pd.DataFrame:
    """History of some items in the client's bucket or a view's (``bucket`` W or M: daily data summed), for
    charts; the key is the ids, never the frame."""
    return get_services().forecasts.history(client_id, list(item_ids), bucket=bucket)


@st.cache_data(show_spinner=False, max_entries=200)
def client_recent_totals(client_id: int, data_version: int, days: int) -> pd.DataFrame:
    """Units sold per day over all the client's items, for the last ``days`` days of sales (``date, quantity``)."""
    items = client_items(client_id, data_version)
    if items.empty or items["last_date"].isna().all():
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "quantity": pd.Series(dtype=float)})
    start = (pd.Timestamp(items["last_date"].max()) - pd.Timedelta(days=days - 1)).date()
    history = get_services().data.history(client_id, items["item_id"].tolist(), start=start)
    return history.groupby("date", as_index=False)["quantity"].sum()


@st.cache_data(show_spinner="Finding what needs attention...", max_entries=200)
def client_exceptions(
    client_id: int, data_version: int, user_id: int | None, plan_version: str = ""
) -> tuple[pd.DataFrame, int, bool, str]:
    """The client's attention queue, its run id, whether it came from the stored queue (keyed on the data and
    on the published plan's version: an override changes the demand), and the demand's name."""
    outcome = get_services().forecasts.exceptions(client_id, user_id=user_id)
    return outcome.queue, outcome.run_id, outcome.cached, outcome.model
