"""Compare, Reorder, Data and Admin pages through AppTest, checked against the services on the same database."""
from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import openpyxl
import pandas as pd
import pytest

from app import tables, uploads
from app.uploads import item_changes
from forecasting.applications.inventory.targets import ClassPolicy
from forecasting.applications.quality.calculator import OVERALL
from forecasting.services.demo_data import demo_end
from forecasting.services.users import AuthenticationError
from forecasting.storage import open_database
from tests.support.demo_database import ADMIN, OTHER_CLIENT_PLANNER, PLANNER
from tests.support.app import login, open_page, plotly_traces, table_with, texts

#: the demo data's as-of date (it ends yesterday), as in download names
AS_OF = f"{demo_end():%Y-%m-%d}"

ITEMS = ["DF-0001", "DF-0002", "DF-0003", "DF-0004"]


def _planner_on(path: str):
    return open_page(login(PLANNER.username, PLANNER.password), path)


# --- Compare models ---------------------------------------------------------------------------


def _compare(at, models=("ma7", "seasonal-naive"), horizon=14):
    at.multiselect(key="cmp_items").set_value(ITEMS)
    at.multiselect(key="cmp_models").set_value(list(models))
    at.number_input(key="cmp_horizon").set_value(horizon)
    at.multiselect(key="cmp_bands").set_value([80])
    at.button(key="cmp_run").click()
    return at.run()


def test_compare_models_chart_table_and_winners(backend):
    at = _compare(_planner_on("compare"))
    assert not at.exception and not at.error
    names = [t["name"] for t in plotly_traces(at)]
    assert names == ["History", "Held-out actuals", "MA7 80% band", "MA7 80% band", "MA7",
                     "Seasonal naive 80% band", "Seasonal naive 80% band", "Seasonal naive"]
    label = {"ma7": "MA7", "seasonal-naive": "Seasonal naive"}  # the model picker's labels

    client = backend.client_id("Demo Foods")
    metrics = backend.forecasts.backtest(client, ITEMS, ["ma7", "seasonal-naive"], 14, 1, (0.1, 0.5, 0.9)).metrics
    overall = metrics[metrics["item_id"] == OVERALL].set_index("model")
    # the item's own table first, then all items side by side, the winner counts, the metrics per item
    side_by_side = at.dataframe[1].value.set_index("metric")
    assert "#dcfce7" in str(at.dataframe[1].proto)  # the best cells are highlighted
    for column in tables.METRICS:
        name = tables.metric_label(column, 0.8)
        for model in ("ma7", "seasonal-naive"):
            np.testing.assert_allclose(side_by_side.loc[name, label[model]], overall.loc[model, column], rtol=1e-12)
    # the best model per metric, judged independently (MA7 and seasonal naive forecast the same total over
    # whole weeks, so their bias ties: both are named)
    assert side_by_side.loc["MAE", "best"] == label[overall["mae"].idxmin()]
    assert overall.loc["ma7", "bias"] == pytest.approx(overall.loc["seasonal-naive", "bias"], rel=1e-12)
    assert side_by_side.loc["Bias %", "best"] == "MA7, Seasonal naive"

    wins = at.dataframe[2].value
    assert wins.columns.tolist() == ["metric", "MA7", "Seasonal naive"]
    wins = wins.set_index("metric").T
    per_item = metrics[metrics["item_id"] != OVERALL].pivot(index="item_id", columns="model", values="mae")
    best = per_item.min(axis=1)
    for model in ("ma7", "seasonal-naive"):  # ties count for both
        assert wins.loc[label[model], "MAE"] == int(np.isclose(per_item[model], best, rtol=0, atol=1e-9).sum())
    assert wins["MAE"].sum() >= len(ITEMS)


def test_compare_tables_download_as_csv_and_excel(backend, downloads):
    at = _compare(_planner_on("compare"))
    assert not at.exception and not at.error
    assert at.dataframe[1].value.columns.tolist() == ["metric", "MA7", "Seasonal naive", "best"]
    assert {f"comparison_demo-foods_asof-{AS_OF}_daily.csv", f"comparison_demo-foods_asof-{AS_OF}_daily.xlsx"} <= set(downloads)
    table = pd.read_csv(io.BytesIO(downloads[f"comparison_demo-foods_asof-{AS_OF}_daily.csv"]))
    shown = at.dataframe[1].value
    assert table["metric"].tolist() == shown["metric"].tolist()
    np.testing.assert_allclose(table["MA7"], shown["MA7"].round(2), rtol=0, atol=1e-9)
    metrics = pd.read_csv(io.BytesIO(downloads[f"metrics_demo-foods_asof-{AS_OF}_daily.csv"]))
    assert metrics.columns[:3].tolist() == ["item_id", "name", "model"]
    assert len(metrics) == 2 * (len(ITEMS) + 1)
    assert f"metrics_demo-foods_asof-{AS_OF}_daily.xlsx" in downloads


def test_compare_needs_two_models(backend):
    at = _compare(_planner_on("compare"), models=("ma7",))
    assert texts(at.error) == ["Choose at least two models to compare."]
    assert not at.get("plotly_chart")


def test_compare_refuses_a_bad_horizon_and_keeps_the_inputs(backend):
    at = _compare(_planner_on("compare"), horizon=0)
    assert texts(at.error) == ["Comparison failed: horizon must be between 1 and 365 days, got 0"]
    assert at.number_input(key="cmp_horizon").value == 0
    assert at.multiselect(key="cmp_items").value == ITEMS


# --- Reorder ----------------------------------------------------------------------------------


def test_reorder_table_matches_the_service_with_reorders_first(backend):
    at = _planner_on("reorder")
    at.button(key="ro_run").click()
    at = at.run()
    assert not at.exception and not at.error
    shown = table_with(at, "reorder_point", "action")
    expected = backend.forecasts.reorder(backend.client_id("Demo Foods"))
    assert len(shown) == len(expected) > 100
    actions = shown["action"].tolist()
    assert actions == sorted(actions, key=lambda a: a != "reorder")
    merged = shown.merge(expected, on="item_id", suffixes=("", "_service"))
    for column in ("reorder_point", "safety_stock", "order_qty", "days_of_cover"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_service"], rtol=1e-12, equal_nan=True)
    assert at.metric[0].value == f"{(expected['action'] == 'reorder').sum():,} of {len(expected):,}"

    at.toggle(key="ro_only").set_value(True)
    at = at.run()
    assert set(table_with(at, "reorder_point", "action")["action"]) == {"reorder"}

    # the projection of the chosen item is the table's own: it starts at the stock on hand and goes below zero
    # exactly on the table's stock-out date, for every item (the marker and the line agree)
    plan = backend.forecasts.reorder_plan(backend.client_id("Demo Foods"))
    for item in plan.table["item_id"]:
        stock = plan.projection[plan.projection.item_id == item]
        row = plan.table.set_index("item_id").loc[item]
        below = stock.loc[stock["projected_stock"] < 0, "date"]
        if len(below):
            assert below.min() == row["stockout_date"]
        else:
            assert pd.isna(row["stockout_date"])
    item = at.selectbox(key="ro_chart_item").value
    row = expected.set_index("item_id").loc[item]
    traces = plotly_traces(at)
    names = [t["name"] for t in traces]
    assert names[0] == "Projected stock" and names[-1] == "Reorder point"
    assert traces[0]["y"][0] == row["on_hand"]
    mine = plan.projection[plan.projection.item_id == item]
    np.testing.assert_allclose(traces[0]["y"][1:], mine["projected_stock"], rtol=1e-12)
    if row["order_qty"] > 0:
        assert names[1] == "With the suggested order"
    assert list(traces[-1]["y"]) == [row["reorder_point"]] * 2
    # three reorder runs (the page's and the two above) after the landing page's exception queue, and no
    # forecast run drawn for the chart
    kinds = backend.data.list_runs(backend.client_id("Demo Foods"))["kind"].tolist()
    assert kinds == ["reorder"] * 3 + ["exceptions"]


def test_reorder_overrides_reach_the_policy(backend):
    at = _planner_on("reorder")
    at.radio(key="ro_scope").set_value("Chosen items")
    at = at.run()
    at.multiselect(key="ro_items").set_value(ITEMS)
    at.number_input(key="ro_lead").set_value(10)
    at.number_input(key="ro_service_level").set_value(99.0)
    at.button(key="ro_run").click()
    at = at.run()
    shown = table_with(at, "reorder_point", "action").set_index("item_id").sort_index()
    expected = backend.forecasts.reorder(
        backend.client_id("Demo Foods"), ITEMS, service_level=0.99, lead_time_days=10
    ).set_index("item_id").sort_index()
    assert (shown["lead_time_days"] == 10).all() and (shown["service_level"] == 0.99).all()
    np.testing.assert_allclose(shown["reorder_point"], expected["reorder_point"], rtol=1e-12)


def test_reorder_with_no_item_chosen_says_so(backend):
    at = _planner_on("reorder")
    at.radio(key="ro_scope").set_value("Chosen items")
    at = at.run()
    at.button(key="ro_run").click()
    at = at.run()
    assert texts(at.error) == ["Choose at least one item, or switch to all items."]


# --- Data -------------------------------------------------------------------------------------


def _upload(at, kind: str, name: str, text: str):
    at.radio(key="data_kind").set_value(kind)
    at = at.run()
    at.file_uploader(key=f"data_{kind}_file").upload(name, text.encode(), "text/csv")
    return at.run()


def test_upload_with_bad_rows_shows_row_numbers_and_imports_nothing(backend):
    client = backend.client_id("Demo Foods")
    version = backend.data.data_version(client)
    bad = "item_id,date,quantity\nNEW-1,2025-01-01,3\nNEW-1,2025-01-02,-4\nNEW-1,2025-13-01,2\n"
    at = _upload(_planner_on("data"), "sales", "bad.csv", bad)
    message = at.error[0].value
    assert message.startswith("Sales file bad.csv rejected, nothing imported: ")
    assert message.endswith("Fix the file and upload it again.")
    assert "at row 3" in message and "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY) at row 4" in message
    problems = at.table[0].value
    assert problems.index.tolist() == [3, 4]
    assert problems["Problem"].tolist()[1] == "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY)"
    assert not [b for b in at.button if b.key == "data_import"]
    assert backend.data.data_version(client) == version


def test_upload_preview_then_import(backend):
    client = backend.client_id("Demo Foods")
    days = pd.date_range("2025-06-01", periods=30).strftime("%Y-%m-%d")
    good = "item_id,date,quantity\n" + "".join(f"NEW-1,{d},{k % 5}\n" for k, d in enumerate(days))
    at = _upload(_planner_on("data"), "sales", "new.csv", good)
    assert at.success[0].value == (
        "new.csv is valid: 30 rows for 1 items (1 new), 2025-06-01 to 2025-06-30, 60 units; daily dates."
    )
    assert len(table_with(at, "quantity")) == 20
    at.button(key="data_import").click()
    at = at.run()
    assert texts(at.success)[-1].startswith("Imported sales: 30 rows (30 inserted, 0 updated) for 1 items (1 new)")
    assert "NEW-1" in backend.data.list_items(client)["item_id"].tolist()
    # the item list of the pages follows the new data version at once
    at = open_page(at, "forecast")
    assert any(o.startswith("NEW-1") for o in at.multiselect(key="fc_items").options)


def test_upload_that_moves_the_as_of_date_says_so_and_imports_only_once_confirmed(backend):
    client = backend.client_id("Demo Foods")
    as_of = backend.data.get_client(client).as_of
    items = backend.data.list_items(client)
    others = int(items["first_date"].notna().sum()) - 2
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=7)
    text = "item_id,date,quantity\n" + "".join(f"{i},{d:%Y-%m-%d},1\n" for i in ITEMS[:2] for d in days)
    version = backend.data.data_version(client)
    at = _upload(_planner_on("data"), "sales", "late.csv", text)
    warning = [w for w in texts(at.warning) if "as-of date" in w]
    assert warning == [
        f"This upload moves the data's as-of date from {as_of:%Y-%m-%d} to {days[-1]:%Y-%m-%d} (7 days): {others:,} "
        f"item(s) not in the file would get 7 more days of zero sales each ({others * 7:,} zero-sales days in all), "
        "which changes their forecasts and plans. Nothing is imported until you confirm below; to cancel, remove the "
        "file (or upload the other items' sales up to the new date with it)."
    ]
    assert at.button(key="data_import").disabled
    confirm = [c for c in at.checkbox if c.key.startswith("data_move_as_of")]
    assert [c.label for c in confirm] == [
        f"Move the as-of date to {days[-1]:%Y-%m-%d} and give {others:,} other item(s) 7 day(s) of zero sales"
    ]
    assert backend.data.data_version(client) == version  # nothing imported yet

    confirm[0].check()
    at = at.run()
    assert not at.button(key="data_import").disabled
    at.button(key="data_import").click()
    at = at.run()
    assert texts(at.success)[-1].startswith("Imported sales: 14 rows (14 inserted, 0 updated) for 2 items (0 new)")
    assert backend.data.get_client(client).as_of == days[-1].date()


def test_upload_from_european_excel_lists_items_too_short_to_forecast_before_import(backend):
    client = backend.client_id("Demo Foods")
    as_of = backend.data.get_client(client).as_of
    days = pd.date_range(end=as_of, periods=3)
    text = "Item ID;Date;Quantity\n" + "".join(f"NEW-S;{d:%d.%m.%Y};{k},5\n" for k, d in enumerate(days))
    at = _upload(_planner_on("data"), "sales", "export.csv", text)
    assert at.success[0].value.startswith("export.csv is valid: 3 rows for 1 items (1 new)")
    assert table_with(at, "quantity")["quantity"].tolist() == [0.5, 1.5, 2.5]
    assert "1 item(s) will still be too short to forecast after this import" in at.warning[0].value
    short = table_with(at, "Days of history")
    assert short.to_dict("list") == {"Item": ["NEW-S"], "First sale": [f"{days[0]:%Y-%m-%d}"], "Days of history": [3]}
    assert [b.label for b in at.button if b.key == "data_import"] == ["Import 3 rows"]


def test_upload_report_counts_every_problem_beyond_the_first_twenty(backend):
    text = "item_id,date,quantity\n" + "".join(f"NEW-1,2025-06-{d:02d},-1\n" for d in range(1, 31))
    at = _upload(_planner_on("data"), "sales", "bad.csv", text)
    assert at.error[0].value.endswith('and 10 more ("-1") (30 problems in all). Fix the file and upload it again.')
    assert len(at.table[0].value) == 20


def test_upload_over_the_size_limit_gets_a_visible_message(backend, monkeypatch):
    from app import config

    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    text = "item_id,date,quantity\n" + "NEW-1,2025-06-01,1\n" * 60_000
    at = _upload(_planner_on("data"), "sales", "huge.csv", text)
    assert texts(at.error) == [
        "Sales file huge.csv is 1.1 MB; the limit is 1.0 MB. Fix the file and upload it again."
    ]


def test_inventory_upload_updates_stock(backend):
    client = backend.client_id("Demo Foods")
    text = "item_id,on_hand,on_order,lead_time_days\nDF-0001,123,7,5\n"
    at = _upload(_planner_on("data"), "inventory", "stock.csv", text)
    assert "1 rows for 1 items (0 new), 123 units on hand, 7 on order" in at.success[0].value
    assert not at.warning  # the demo's sales end yesterday: a position dated today is not long after them
    assert uploads.inventory_after_sales(date(2025, 12, 31), today=date(2026, 1, 20)).startswith(
        "This stock position is dated today, 20 days after the last sales (2025-12-31)")
    at.button(key="data_import").click()
    at = at.run()
    assert not at.error
    row = backend.data.list_items(client, ["DF-0001"]).iloc[0]
    assert (row["on_hand"], row["on_order"], row["lead_time_days"]) == (123, 7, 5)


def test_run_history_lists_who_ran_what(backend):
    at = _planner_on("forecast")
    at.multiselect(key="fc_items").set_value(ITEMS[:2])
    at.button(key="fc_run").click()
    at = open_page(at.run(), "data")
    runs = table_with(at, "kind", "cached")
    assert runs.iloc[0][["user", "kind", "model", "n_items", "cached", "status"]].tolist() == [
        PLANNER.username, "forecast", "MA7", 2, False, "succeeded"
    ]


def test_a_dead_item_shows_as_no_recent_demand_on_the_data_page_and_in_the_pickers(backend):
    client = backend.client_id("Demo Foods")
    as_of = backend.data.get_client(client).as_of
    days = pd.date_range(end=as_of - pd.Timedelta(days=120), periods=200)  # sold daily, then 120 days nothing
    backend.data.import_sales(client, pd.DataFrame({"item_id": "GONE-1", "date": days, "quantity": 4.0}))
    at = _planner_on("data")
    items = table_with(at, "demand_class").set_index("item_id")
    assert items.loc["GONE-1", "demand_class"] == "no recent demand"
    at = open_page(at, "forecast")
    assert "no recent demand" in at.multiselect(key="fc_classes").options
    at.multiselect(key="fc_classes").set_value(["no recent demand"])
    at = at.run()
    classes = backend.forecasts.demand_classes(client).set_index("item_id")["demand_class"]
    dead = sorted(classes[classes == "no recent demand"].index)
    assert "GONE-1" in dead and "DF-0001" not in dead  # the demo has discontinued items too
    assert [o.split(" - ")[0] for o in at.multiselect(key="fc_items").options] == dead


def test_run_history_downloads_as_csv_and_excel(backend, downloads):
    at = _planner_on("forecast")
    at.multiselect(key="fc_items").set_value(ITEMS[:2])
    at.button(key="fc_run").click()
    at = open_page(at.run(), "data")
    assert not at.exception and not at.error
    shown = table_with(at, "kind", "cached")
    runs = pd.read_csv(io.BytesIO(downloads[f"runs_demo-foods_asof-{AS_OF}_daily.csv"]))
    assert runs["kind"].tolist() == shown["kind"].tolist() == ["forecast", "exceptions"]
    assert runs.loc[0, "user"] == PLANNER.username and runs.loc[0, "status"] == "succeeded"
    workbook = openpyxl.load_workbook(io.BytesIO(downloads[f"runs_demo-foods_asof-{AS_OF}_daily.xlsx"]))
    assert [c.value for c in workbook.worksheets[0][1]][:3] == ["created_at", "user", "kind"]


def test_planners_edit_the_policy_columns_only_and_admins_every_parameter(backend):
    client = backend.client_id("Demo Foods")
    at = _planner_on("data")
    assert len(table_with(at, "recent_quantity")) == 200
    assert any(t.startswith("You can edit the service level, its type") for t in texts(at.caption))
    before = backend.data.list_items(client).set_index("item_id").loc["DF-0001"]
    # a planner's edit of the unit cost (a disabled column) is not taken; the policy columns are
    at = _edit_items(at, {0: {"phase_out": True, "service_type": "fill", "lead_time_std_days": 1.5,
                              "unit_cost": 99.0}})
    assert texts(at.success) == ["Saved 1 item(s)."]
    after = backend.data.list_items(client).set_index("item_id").loc["DF-0001"]
    assert (after["phase_out"], after["service_type"], after["lead_time_std_days"]) == (True, "fill", 1.5)
    assert after["unit_cost"] == before["unit_cost"]
    at = _edit_items(at, {0: {"service_type": ""}, 1: {"lead_time_std_days": 200.0}})
    assert len(at.error) == 1 and "item DF-0002: lead_time_days + 3 x lead_time_std_days" in at.error[0].value
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    assert any(t.startswith("Edit parameters in the table") for t in texts(admin.caption))
    assert [b.label for b in admin.button if b.key == "data_save"] == ["Save changes (0 items)"]


def test_item_changes_are_the_edited_cells_only():
    from app.uploads import item_changes

    before = pd.DataFrame({"item_id": ["A", "B"], "name": ["a", "b"], "unit_cost": [1.0, np.nan],
                           "lead_time_days": [3, 4]})
    after = before.copy()
    after.loc[1, "unit_cost"] = 2.5
    after.loc[0, "lead_time_days"] = np.int64(6)
    assert item_changes(before, after, ["name", "unit_cost", "lead_time_days"]) == {
        "A": {"lead_time_days": 6}, "B": {"unit_cost": 2.5}
    }
    assert item_changes(before, before.copy(), ["name", "unit_cost", "lead_time_days"]) == {}


# --- Admin ------------------------------------------------------------------------------------


def _admin_page():
    return open_page(login(ADMIN.username, ADMIN.password), "admin")


def _create(at, username, password, repeat=None, role="planner"):
    at.text_input(key="adm_new_username").input(username)
    at.text_input(key="adm_new_name").input("New Person")
    at.selectbox(key="adm_new_role").set_value(role)
    at.text_input(key="adm_new_password").input(password)
    at.text_input(key="adm_new_repeat").input(password if repeat is None else repeat)
    next(b for b in at.button if b.label == "Create user").click()
    return at.run()


def test_admin_creates_a_user_of_their_own_client(backend):
    at = _create(_admin_page(), "newbie", "newbie-password")
    assert texts(at.success) == ["Created newbie (planner)."]
    assert "newbie" in table_with(at, "Username", "Role")["Username"].tolist()
    user = backend.users.by_username("newbie")
    assert user.client_name == "Demo Foods" and user.role == "planner"
    assert login("newbie", "newbie-password").session_state["authentication_status"]


def test_admin_create_errors_keep_the_inputs(backend):
    at = _create(_admin_page(), "newbie", "newbie-password", repeat="something-else")
    assert texts(at.error) == ["The passwords do not match."]
    assert at.text_input(key="adm_new_username").value == "newbie"
    at = _create(at, "x", "newbie-password")
    assert at.error[0].value.startswith("Creating the user failed: username must be 3 to 64 characters")
    at = _create(at, PLANNER.username, "newbie-password")
    assert texts(at.error) == [f"Creating the user failed: username {PLANNER.username!r} is already taken"]


def test_admin_resets_a_password(backend):
    at = _admin_page()
    at.selectbox(key="adm_reset_user").set_value(PLANNER.username)
    fields = [t for t in at.text_input if t.label.startswith("New password")]
    fields[0].input("reset-password-1")
    fields[1].input("reset-password-1")
    next(b for b in at.button if b.label == "Reset password").click()
    at = at.run()
    assert texts(at.success) == [f"New password set for {PLANNER.username}; their open sessions are logged out."]
    with pytest.raises(AuthenticationError):
        backend.users.authenticate(PLANNER.username, PLANNER.password)
    assert backend.users.authenticate(PLANNER.username, "reset-password-1").username == PLANNER.username


def test_admin_unlocks_a_locked_user(backend):
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            backend.users.authenticate(PLANNER.username, "wrong-password-x")
    at = _admin_page()
    assert at.selectbox(key="adm_unlock_user").options == [PLANNER.username]
    assert table_with(at, "Username", "Role").set_index("Username").loc[PLANNER.username, "Locked until (UTC)"]
    at.button(key="adm_unlock").click()
    at = at.run()
    assert texts(at.success) == [f"{PLANNER.username} can log in again."]
    assert login(PLANNER.username, PLANNER.password).session_state["authentication_status"]


def test_admin_creates_shows_once_and_revokes_an_api_key(backend):
    from forecasting.services.api_keys import ApiKeyService, InvalidApiKeyError

    keys = ApiKeyService(open_database(backend.url))
    at = _admin_page()
    at.text_input(key="adm_key_label").input("ERP nightly")
    at.button(key="adm_key_create").click()
    at = at.run()
    shown = at.code[0].value
    info = keys.verify(shown)  # the key shown works for the admin's client
    assert info.client_id == backend.client_id("Demo Foods") and info.name == "ERP nightly"
    assert table_with(at, "Key", "Label")["Label"].tolist() == ["ERP nightly"]
    at = at.run()
    assert not at.code  # shown once only

    at.button(key="adm_key_revoke").click()
    at = at.run()
    assert texts(at.success)[0].endswith("revoked: it stops working at once.")
    with pytest.raises(InvalidApiKeyError):
        keys.verify(shown)


def _edit_items(at, edited_rows: dict):
    # AppTest cannot type into the grid; the editor's state is what a browser edit would send
    at.session_state["data_items_editor"] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    at = at.run()
    next(b for b in at.button if b.key == "data_save").click()
    return at.run()


def test_service_level_is_a_percentage_on_the_items_table_too(backend):
    client = backend.client_id("Demo Foods")
    stored = backend.data.list_items(client).set_index("item_id")["service_level"]
    shown = table_with(_planner_on("data"), "recent_quantity").set_index("item_id")["service_level"]
    np.testing.assert_allclose(shown.loc[stored.index], stored * 100)  # 0.95 stored, 95 (%) shown
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    admin = _edit_items(admin, {0: {"service_level": 97.5}})
    assert texts(admin.success) == ["Saved 1 item(s)."]
    assert backend.data.list_items(client).set_index("item_id").loc["DF-0001", "service_level"] == 0.975
    admin = _edit_items(admin, {0: {"service_level": 150.0}, 1: {"unit_cost": 1.0}})
    assert texts(admin.error) == [
        "Nothing was saved: item DF-0001: the service level must be above 0% and below 100%, got 150%. "
        "Your edits are kept in the table; fix them and save again."
    ]
    assert backend.data.list_items(client).set_index("item_id").loc["DF-0002", "unit_cost"] != 1.0


def test_admin_edits_item_parameters(backend):
    client = backend.client_id("Demo Foods")
    version = backend.data.data_version(client)
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    admin = _edit_items(admin, {0: {"unit_cost": 9.5, "lead_time_days": 4}, 2: {"category": "Specials"}})
    assert texts(admin.success) == ["Saved 2 item(s)."]
    items = backend.data.list_items(client).set_index("item_id")
    assert (items.loc["DF-0001", "unit_cost"], items.loc["DF-0001", "lead_time_days"]) == (9.5, 4)
    assert items.loc["DF-0003", "category"] == "Specials"
    assert backend.data.data_version(client) > version


def test_a_bad_item_edit_saves_nothing_and_keeps_the_edits(backend):
    client = backend.client_id("Demo Foods")
    version = backend.data.data_version(client)
    before = backend.data.list_items(client, ITEMS[:3]).set_index("item_id")
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    # the good edits of DF-0001 and DF-0003 come before and after the bad one: none is saved
    admin = _edit_items(admin, {0: {"unit_cost": 9.5}, 1: {"lead_time_days": -2}, 2: {"category": "Specials"}})
    assert len(admin.error) == 1 and admin.error[0].value.startswith(
        "Nothing was saved: bad item changes: item DF-0002: lead_time_days")
    assert not admin.success
    after = backend.data.list_items(client, ITEMS[:3]).set_index("item_id")
    pd.testing.assert_frame_equal(after, before)
    assert backend.data.data_version(client) == version
    assert [b.label for b in admin.button if b.key == "data_save"] == ["Save changes (3 items)"]


def test_upload_over_the_row_limit_is_refused(backend, monkeypatch):
    from app import config

    monkeypatch.setattr(config, "MAX_UPLOAD_ROWS", 5)
    days = pd.date_range("2025-06-01", periods=10).strftime("%Y-%m-%d")
    text = "item_id,date,quantity\n" + "".join(f"NEW-1,{d},1\n" for d in days)
    at = _upload(_planner_on("data"), "sales", "big.csv", text)
    assert texts(at.error) == [
        "Sales file big.csv has more than 5 rows (the limit). Fix the file and upload it again."
    ]


def test_item_changes_handle_missing_values_in_nullable_columns():
    """An item imported from sales alone has no lead time (NA): setting one is a change, not a crash."""
    original = pd.DataFrame(
        {"item_id": ["A", "B"], "lead_time_days": pd.array([pd.NA, 3], dtype="Int64"), "moq": [0.0, 0.0]}
    )
    edited = original.copy()
    edited.loc[0, "lead_time_days"] = 5
    edited.loc[1, "moq"] = 6.0
    assert item_changes(original, edited, ["lead_time_days", "moq"]) == {"A": {"lead_time_days": 5}, "B": {"moq": 6.0}}
    assert item_changes(original, original.copy(), ["lead_time_days", "moq"]) == {}


# --- Attention ----------------------------------------------------------------------------------


def test_attention_is_the_landing_page_with_the_services_queue_and_its_filters(backend):
    at = login(PLANNER.username, PLANNER.password)
    assert not at.exception and not at.error
    assert texts(at.title) == ["Attention"]
    client = backend.client_id("Demo Foods")
    expected = backend.forecasts.exceptions(client).queue
    shown = table_with(at, "reason", "value_at_risk")
    assert shown["item_id"].tolist() == expected["item_id"].tolist() and len(shown) > 10
    np.testing.assert_allclose(shown["value_at_risk"], expected["value_at_risk"], equal_nan=True)
    assert shown["chart"].iloc[0] == f"forecast?item={expected['item_id'].iloc[0]}"
    assert at.metric[0].value == f"{len(expected):,}"
    yesterday = date.today() - timedelta(days=1)  # the demo data ends yesterday: no "days old" warning
    assert f"Data as of **{yesterday:%Y-%m-%d}**, daily" in texts(at.sidebar.markdown)
    assert not at.sidebar.warning

    at.multiselect(key="att_reasons").set_value(["excess stock"])
    at = at.run()
    filtered = table_with(at, "reason", "value_at_risk")
    assert set(filtered["reason"]) == {"excess stock"}
    assert filtered["item_id"].tolist() == expected.loc[expected.reason == "excess stock", "item_id"].tolist()


def test_the_attention_links_open_the_item_on_the_forecast_and_reorder_pages(backend):
    at = login(PLANNER.username, PLANNER.password)
    queue = table_with(at, "reason", "value_at_risk")
    item = queue["item_id"].iloc[1]
    at.selectbox(key="att_item").set_value(item)
    at = at.run()
    links = {p.proto.label: p.proto for p in at.get("page_link")}
    assert list(links) == ["Its forecast", "Reorder it"]
    assert links["Its forecast"].query_string == f"item={item}"
    assert links["Reorder it"].page == "reorder"

    # the forecast page picks the item and shows its chart at once
    at.query_params["item"] = item
    at = open_page(at, "forecast")
    assert at.multiselect(key="fc_items").value == [item]
    assert not at.exception and not at.error
    assert "History" in [t["name"] for t in plotly_traces(at)]
    assert "item" not in at.query_params  # picked once: the planner's next choice is not overridden

    # and the reorder page computes the item's plan
    at.query_params["item"] = item
    at = open_page(at, "reorder")
    assert at.radio(key="ro_scope").value == "Chosen items"
    table = table_with(at, "action", "order_qty")
    assert table["item_id"].tolist() == [item]
    expected = backend.forecasts.reorder(backend.client_id("Demo Foods"), [item])
    assert table["order_qty"].tolist() == expected["order_qty"].tolist()


def test_a_link_to_an_unknown_item_says_so(backend):
    at = login(PLANNER.username, PLANNER.password)
    at.query_params["item"] = "NO-SUCH"
    at = open_page(at, "forecast")
    assert texts(at.main.warning) == ["The link asks for item 'NO-SUCH', which this client does not have."]
    assert at.multiselect(key="fc_items").value == []


def test_attention_for_a_client_without_sales_says_what_to_do(backend):
    client = backend.data.create_client("Empty Co").client_id
    backend.users.create_user(client, "newbie", "newbie-pass-1")
    at = login("newbie", "newbie-pass-1")
    assert not at.exception and not at.error
    assert texts(at.title) == ["Attention"]
    assert texts(at.info) == ["No sales yet: upload a sales file on the Data page."]
    assert "No sales data yet" in texts(at.sidebar.caption)


def test_real_data_weeks_old_gets_the_stale_data_warning(backend):
    client = backend.data.create_client("Old Data Co").client_id
    backend.data.import_sales(client, pd.DataFrame({"item_id": "A", "date": pd.date_range("2024-01-01", periods=30),
                                                    "quantity": 3.0}))
    backend.users.create_user(client, "oldie", "oldie-pass-1")
    at = login("oldie", "oldie-pass-1")
    assert "Data as of **2024-01-30**, daily" in texts(at.sidebar.markdown)
    assert any("days old" in w.value for w in at.sidebar.warning)


def test_attention_filters_that_match_nothing_say_so(backend):
    at = login(PLANNER.username, PLANNER.password)
    queue = backend.forecasts.exceptions(backend.client_id("Demo Foods")).queue
    categories = set(queue["category"]) - {""}
    reason, category = next((r, c) for r in queue["reason"].unique()
                            for c in sorted(categories - set(queue.loc[queue["reason"] == r, "category"])))
    at.multiselect(key="att_reasons").set_value([reason])
    at.multiselect(key="att_categories").set_value([category])
    at = at.run()
    assert texts(at.info) == ["No item has the chosen reasons in the chosen categories."]
    assert not [s for s in at.selectbox if s.key == "att_item"]


def test_attention_totals_follow_the_filters_and_agree_with_the_reorder_table(backend):
    at = login(PLANNER.username, PLANNER.password)
    client = backend.client_id("Demo Foods")
    queue = backend.forecasts.exceptions(client).queue
    reorder = backend.forecasts.reorder(client)  # the Reorder page's default model, MA7, like the queue's
    urgent = queue["reason"].isin(["stock-out before an order arrives", "below reorder point"])
    assert set(queue.loc[urgent, "item_id"]) == set(reorder.loc[reorder["action"] == "reorder", "item_id"])
    assert not queue["detail"].str.contains(r"(?<![\d-])-0\b").any()
    value = queue["value_at_risk"]
    excess = queue["reason"].isin(["excess stock", "no sales for a long time"])
    assert [m.value for m in at.metric] == [
        f"{len(queue):,}", f"{(reorder['action'] == 'reorder').sum():,}",
        f"{value[urgent].sum():,.2f}", f"{value[excess].sum():,.2f}",
    ]

    category = queue["category"].value_counts().index[0]
    at.multiselect(key="att_categories").set_value([category])
    at = at.run()
    mine = queue[queue["category"] == category]
    assert at.metric[0].value == f"{len(mine):,}" and len(mine) < len(queue)
    assert at.metric[1].value == f"{mine['reason'].isin(queue.loc[urgent, 'reason'].unique()).sum():,}"

    at.number_input(key="att_min_value").set_value(50.0)
    at = at.run()
    kept = mine[~(mine["value_at_risk"] < 50)]
    shown = table_with(at, "reason", "value_at_risk")
    assert shown["item_id"].tolist() == kept["item_id"].tolist() and 0 < len(kept) < len(mine)
    assert at.metric[0].value == f"{len(kept):,}"


def test_the_upload_limit_is_stated_once_and_is_the_uploaders_own(backend):
    """One limit: Streamlit's server.maxUploadSize (the uploader states it) is the app's check; no second figure."""
    from app import config

    at = _planner_on("data")
    uploader = at.file_uploader(key="data_sales_file")
    assert uploader.proto.max_upload_size_mb == config.MAX_UPLOAD_MB == 50
    assert not [c.value for c in at.caption if "MB" in c.value]


def test_admins_edit_the_service_level_matrix_planners_only_see_it(backend):
    client = backend.client_id("Demo Foods")
    planner = _planner_on("data")
    assert "Only admins can edit the service levels." in texts(planner.caption)
    admin = open_page(login(ADMIN.username, ADMIN.password), "data")
    admin.session_state["data_policy_editor"] = {"edited_rows": {0: {"X": 99.0}}, "added_rows": [],
                                                 "deleted_rows": []}
    admin = admin.run()
    next(b for b in admin.button if b.key == "data_policy_save").click()
    admin = admin.run()
    assert texts(admin.success) == ["Saved the service levels."]
    assert backend.data.policy(client).levels["AX"] == 0.99
    admin.session_state["data_policy_editor"] = {"edited_rows": {2: {"Z": 30.0}}, "added_rows": [],
                                                 "deleted_rows": []}
    admin = admin.run()
    next(b for b in admin.button if b.key == "data_policy_save").click()
    admin = admin.run()
    assert len(admin.error) == 1 and "CZ: service level must be between 50.0% and 99.9%" in admin.error[0].value
    assert backend.data.policy(client).levels["CZ"] == 0.85
    assert backend.data.policy(backend.client_id(OTHER_CLIENT_PLANNER.client)) == ClassPolicy()
    backend.data.save_policy(client, ClassPolicy())  # the shared demo database back to the defaults


def test_data_page_shows_abc_xyz_lifecycle_and_the_picker_filters_by_them(backend):
    client = backend.client_id("Demo Foods")
    classes = backend.forecasts.item_classes(client).set_index("item_id")
    assert set(classes["abc"]) == {"A", "B", "C"} and "dead" in set(classes["lifecycle"])  # the demo's DF-0147
    at = _planner_on("data")
    shown = table_with(at, "recent_quantity").set_index("item_id")
    assert (shown.loc[classes.index, ["abc", "xyz", "lifecycle"]] == classes).all().all()
    at = open_page(at, "forecast")
    at.multiselect(key="fc_abc").set_value(["A"])
    at.multiselect(key="fc_xyz").set_value(["X"])
    at = at.run()
    wanted = sorted(classes[(classes["abc"] == "A") & (classes["xyz"] == "X")].index)
    assert wanted and [o.split(" - ")[0] for o in at.multiselect(key="fc_items").options] == wanted
    at.multiselect(key="fc_abc").set_value([])
    at.multiselect(key="fc_xyz").set_value([])
    at.multiselect(key="fc_lifecycle").set_value(["dead"])
    at = at.run()
    dead = sorted(classes[classes["lifecycle"] == "dead"].index)
    assert [o.split(" - ")[0] for o in at.multiselect(key="fc_items").options] == dead
