"""POST /api/v1/sales: the Data page's sales import over the API (SQLite and PostgreSQL).

The bucket (detected, forced, the client's), every problem of a bad file in one 422 with nothing imported,
who may import, tenant isolation, the re-plan after the import, the upload limits, and two imports at once.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasting.api.app import MULTIPART_BYTES, create_app
from forecasting.api.settings import ApiSettings
from forecasting.core.history import to_day_numbers
from forecasting.io.uploads import UploadLimits
from forecasting.services.limits import RequestLimits
from forecasting.services.planning import PlanningService
from tests.support.api import PASSWORD, SECRET
from tests.support.bucket_cases import MONTHS, OFF_BUCKET
from tests.support.db import database_state

SALES = "/api/v1/sales"
FRIDAYS = pd.date_range("2023-01-06", periods=60, freq="7D")  # 2023-01-06 is a Friday; the last 2024-02-23


def _csv(dates, items=("A",), quantity: float | None = None, seed: int = 0) -> bytes:
    """``item_id,date,quantity`` for every item on every date (Poisson quantities around 5 unless given)."""
    rng = np.random.default_rng(seed)
    lines = [f"{item},{pd.Timestamp(day):%Y-%m-%d},{rng.poisson(5) if quantity is None else quantity}"
             for item in items for day in dates]
    return ("item_id,date,quantity\n" + "\n".join(lines) + "\n").encode()


def _post(http, headers, content: bytes, name: str = "sales.csv", **form):
    return http.post(SALES, headers=headers, files={"file": (name, content, "text/csv")},
                     data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()})


def _client(api, name: str, role: str = "planner") -> tuple[int, dict[str, str]]:
    """A new client with one user of ``role``, and that user's bearer header."""
    client = api.data.create_client(name).client_id
    username = name.lower().replace(" ", "-")
    api.users.create_user(client, username, PASSWORD, role=role)
    return client, api.bearer(username)


def _stored_days(api, client: int) -> np.ndarray:
    with api.database.read() as conn:
        days = conn.execute(text("SELECT s.date FROM sales s JOIN items i ON i.id = s.item_id "
                                 "WHERE i.client_id = :c"), {"c": client}).scalars().all()
    return to_day_numbers(pd.Series(pd.to_datetime(days)))


def test_a_weekly_file_on_fridays_imports_as_weekly_and_is_forecast_on_fridays(api):
    client, planner = _client(api, "Weekly Co")
    response = _post(api.http, planner, _csv(FRIDAYS, items=("W1", "W2")), name="weekly.csv")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("client_id", "file", "rows", "inserted", "updated", "items", "items_created",
                                 "bucket", "bucket_label", "bucket_source", "as_of", "plan_status", "plan",
                                 "plan_problem")} == {
        "client_id": client, "file": "weekly.csv", "rows": 120, "inserted": 120, "updated": 0, "items": 2,
        "items_created": 2, "bucket": "W-FRI", "bucket_label": "weekly (Fridays)", "bucket_source": "detected",
        "as_of": "2024-02-23", "plan_status": "no plan", "plan": None, "plan_problem": ""}
    assert api.data.get_client(client).freq.alias == "W-FRI"
    forecast = api.http.post("/api/v1/forecast", headers=planner, json={
        "item_ids": ["W1"], "prediction_length": 4, "model": "ma7", "quantile_levels": []})
    assert forecast.status_code == 200, forecast.text
    assert forecast.json()["bucket"] == "W-FRI"
    assert forecast.json()["items"][0]["dates"] == ["2024-03-01", "2024-03-08", "2024-03-15", "2024-03-22"]


def test_freq_m_forces_monthly_and_a_freq_the_stored_sales_do_not_fit_is_refused(api):
    client, admin = _client(api, "Monthly Co", role="admin")
    # one date for every row fits every bucket: detected, it would be daily
    one_day = _post(api.http, admin, _csv(["2023-01-01"], items=("M1", "M2")), freq="M")
    assert one_day.status_code == 200, one_day.text
    assert (one_day.json()["bucket"], one_day.json()["bucket_source"]) == ("MS", "forced")
    more = _post(api.http, admin, _csv(MONTHS, items=("M1", "M2")), freq="m", move_as_of=True)  # any case
    assert more.status_code == 200, more.text
    assert (more.json()["bucket"], more.json()["bucket_source"], more.json()["as_of"]) == ("MS", "forced",
                                                                                          "2023-08-01")
    forecast = api.http.post("/api/v1/forecast", headers=admin, json={
        "item_ids": ["M1"], "prediction_length": 3, "model": "ma7", "quantile_levels": []}).json()
    assert forecast["items"][0]["dates"] == ["2023-09-01", "2023-10-01", "2023-11-01"]

    # as the Data page: a forced bucket that the client's stored sales do not fit changes nothing
    daily, planner = _client(api, "Daily Co")
    assert _post(api.http, planner, _csv(pd.date_range("2023-01-01", periods=60))).json()["bucket"] == "D"
    before = database_state(api.database)
    refused = _post(api.http, planner, _csv(MONTHS[:2], items=("NEW",)), freq="M")
    assert refused.status_code == 422
    assert refused.json()["detail"] == ("the client's stored sales are daily and do not all fit monthly (1st) dates; "
                                        "nothing imported")
    assert database_state(api.database) == before
    # unforced, a monthly file whose dates fit the client's daily bucket is read as daily
    kept = _post(api.http, planner, _csv(MONTHS[:2], items=("NEW",)))
    assert (kept.json()["bucket"], kept.json()["bucket_source"]) == ("D", "client")


@pytest.mark.parametrize("dates, freq, expected", OFF_BUCKET)
def test_dates_off_the_bucket_are_one_422_with_the_cli_message_and_nothing_imported(api, dates, freq, expected):
    _, planner = _client(api, f"Off {len(dates)} {freq}")
    before = database_state(api.database)
    response = _post(api.http, planner, _csv(dates), **({"freq": freq} if freq else {}))
    assert response.status_code == 422
    assert expected in response.json()["detail"], response.json()
    assert database_state(api.database) == before


def test_a_file_with_bad_cells_is_one_422_naming_every_problem_and_nothing_imported(api):
    _, planner = _client(api, "Bad Cells")
    content = (b"item_id,date,quantity,promo\n"
               b"A,2024-01-01,3,0\nA,2024-01-02,lots,0\nA,2024-01-03,2,yes\nA,2024-01-04,-1,1\n")
    before = database_state(api.database)
    response = _post(api.http, planner, content, name="bad.csv")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("sales file bad.csv rejected, nothing imported: ")
    for row, value in ((3, "lots"), (4, "yes"), (5, "-1")):
        assert f"row {row} (\"{value}\")" in detail, detail
    assert "(3 problems in all)" in detail and "Traceback" not in detail
    assert database_state(api.database) == before
    for name, kind in (("sales.parquet", "a Parquet file"), ("sales.xlsx", "an Excel file")):
        other = _post(api.http, planner, b"PAR1", name=name)
        assert other.status_code == 422 and f"is {kind}: this upload takes a CSV file" in other.json()["detail"]
    assert database_state(api.database) == before


def test_only_a_planner_or_admin_of_the_client_imports(api):
    before = database_state(api.database)
    by_key = _post(api.http, {"X-API-Key": api.key_a}, _csv(FRIDAYS))
    assert by_key.status_code == 403 and "not a service key" in by_key.json()["detail"]
    other_client = _post(api.http, api.bearer("alice"), _csv(FRIDAYS), client_id=api.b)
    assert other_client.status_code == 403
    anonymous = _post(api.http, {}, _csv(FRIDAYS))
    assert anonymous.status_code == 401
    # the caller is checked before the body is read: a body that is no form at all is not even looked at
    garbage = {"Content-Type": "multipart/form-data; boundary=x"}
    assert api.http.post(SALES, content=b"\x00" * 1000, headers={**garbage, "X-API-Key": api.key_a}).status_code == 403
    assert api.http.post(SALES, content=b"\x00" * 1000, headers=garbage).status_code == 401
    bad_fields = _post(api.http, api.bearer("alice"), _csv(FRIDAYS), freq="Q", frq="W")
    assert bad_fields.status_code == 422
    assert [e["loc"] for e in bad_fields.json()["errors"]] == [["body", "freq"], ["body", "frq"]]
    assert database_state(api.database) == before


def test_an_import_changes_only_the_callers_client(api):
    """Alice (client A) imports her item SHARED: client B's SHARED, data version and plan stay as they were."""
    PlanningService(api.data, api.service).make_plan(api.b, "ma7", 14)
    b_before = (api.data.history(api.b, ["SHARED"]), api.data.get_client(api.b), api.http.get(
        "/api/v1/plan", headers={"X-API-Key": api.key_b}).json())
    days = pd.date_range("2024-04-01", "2024-04-29")
    response = _post(api.http, api.bearer("alice"), _csv(days, items=("SHARED",), quantity=99))
    assert response.status_code == 200, response.text
    assert (response.json()["client_id"], response.json()["updated"], response.json()["bucket_source"]) == (
        api.a, len(days), "client")
    a_shared = api.data.history(api.a, ["SHARED"])
    imported = pd.to_datetime(a_shared["date"]).isin(days)
    assert imported.sum() == len(days) and (a_shared.loc[imported, "quantity"] == 99).all()
    b_after = (api.data.history(api.b, ["SHARED"]), api.data.get_client(api.b), api.http.get(
        "/api/v1/plan", headers={"X-API-Key": api.key_b}).json())
    pd.testing.assert_frame_equal(b_after[0], b_before[0])
    assert b_after[1:] == b_before[1:]


def test_an_import_makes_the_plan_again_on_the_new_data(api):
    client, planner = _client(api, "Planned Co")
    first = _post(api.http, planner, _csv(pd.date_range("2024-01-01", periods=60), items=("P1", "P2")))
    assert first.json()["plan_status"] == "no plan"
    planning = PlanningService(api.data, api.service)
    planning.set_planning_model(client, "ma7")
    made = api.http.post("/api/v1/plan", headers=planner).json()
    old = planning.current_plan(client)
    response = _post(api.http, planner, _csv(pd.date_range("2024-03-01", periods=10), items=("P1", "P2"), seed=3))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plan_status"] == "made" and body["plan_problem"] == ""
    assert body["plan"]["plan_id"] != made["plan_id"] and body["plan"]["as_of"] == body["as_of"] == "2024-03-10"
    assert (body["plan"]["model"], body["plan"]["horizon"], body["plan"]["reused"]) == ("ma7", made["horizon"], False)
    current = planning.current_plan(client)
    assert current.plan_id == body["plan"]["plan_id"] and current.data_version == body["data_version"]
    assert old.plan_id == made["plan_id"] and old.data_version < body["data_version"]
    assert api.http.get("/api/v1/plan", headers=planner).json()["plan_id"] == current.plan_id


def test_an_upload_that_moves_the_as_of_date_needs_move_as_of(api):
    client, planner = _client(api, "Move Co")
    assert _post(api.http, planner, _csv(pd.date_range("2024-01-01", periods=30), items=("X", "Y"))).status_code == 200
    later = _csv(pd.date_range("2024-01-31", periods=5), items=("X",))
    before = database_state(api.database)
    refused = _post(api.http, planner, later)
    assert refused.status_code == 422
    assert refused.json()["detail"].endswith("nothing imported: send move_as_of=true to import it anyway")
    assert "1 item(s) not in the file" in refused.json()["detail"]
    assert database_state(api.database) == before
    moved = _post(api.http, planner, later, move_as_of=True)
    assert moved.status_code == 200 and moved.json()["as_of"] == "2024-02-04"


def test_limits_the_upload_and_a_plan_too_big_for_a_request_leaves_the_import_standing(api):
    client, planner = _client(api, "Limited Co")
    _post(api.http, planner, _csv(pd.date_range("2024-01-01", periods=30), items=("L1", "L2")))
    planning = PlanningService(api.data, api.service)
    planning.set_planning_model(client, "ma7")
    earlier = planning.make_plan(client, None, 7).plan
    app = create_app(api.database, ApiSettings(SECRET), limits=RequestLimits(max_items=1),
                     uploads=UploadLimits(max_bytes=4000, max_rows=60))
    with TestClient(app) as http:
        before = database_state(api.database)
        too_many = _post(http, planner, _csv(pd.date_range("2024-01-01", periods=31), items=("L1", "L2")))
        assert too_many.status_code == 422
        assert too_many.json()["detail"] == "sales file sales.csv has more than 60 rows (the limit)"
        big = b"item_id,date,quantity\n" + b"L1,2024-01-01,1" + b" " * 5000 + b"\n"
        too_big = _post(http, planner, big)
        assert too_big.status_code == 422 and "the limit is 0.0 MB" in too_big.json()["detail"]
        huge = _post(http, planner, b"x" * (4000 + MULTIPART_BYTES))
        assert huge.status_code == 413
        assert huge.json() == {"detail": f"request body too large: at most {4000 + MULTIPART_BYTES} bytes"}
        assert database_state(api.database) == before

        response = _post(http, planner, _csv(pd.date_range("2024-01-31", periods=3), items=("L1", "L2")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 6 and body["as_of"] == "2024-02-02"
    assert body["plan_status"] == "not refreshed" and "(max_items)" in body["plan_problem"]
    assert body["plan"]["plan_id"] == earlier.plan_id and planning.current_plan(client).plan_id == earlier.plan_id
    assert pd.Timestamp(api.data.history(client, ["L1"])["date"].max()) == pd.Timestamp("2024-02-02")


def test_two_first_imports_of_one_client_at_once_leave_one_bucket_that_fits_every_stored_date(api):
    """A daily and a weekly file sent together to a client without sales, both held at the start: they run one
    after the other, and the second is read in (or refused by) the bucket the first stored; the client never ends
    up weekly with daily sales. On PostgreSQL the test holds the client's row, on SQLite the write lock."""
    client, planner = _client(api, "Race Co")
    daily = _csv(pd.date_range("2023-01-02", periods=90), items=("D1",))
    weekly = _csv(FRIDAYS[:20], items=("F1",))
    answers: dict[str, object] = {}
    http = api.http

    def send(name: str, content: bytes) -> None:
        answers[name] = _post(http, planner, content, move_as_of=True)

    postgres = api.database.dialect == "postgresql"
    with api.database.engine.connect() as connection:
        holder = connection.execution_options(sqlite_write=True)  # SQLite: BEGIN IMMEDIATE, the write lock
        holder.begin()
        holder.execute(text("SELECT id FROM clients WHERE id = :c FOR UPDATE" if postgres else
                            "SELECT id FROM clients WHERE id = :c"), {"c": client})
        threads = []
        for n, (name, content) in enumerate((("daily", daily), ("weekly", weekly)), start=1):
            threads.append(threading.Thread(target=send, args=(name, content)))
            threads[-1].start()
            _wait_until_blocked(api, n, postgres)
        holder.rollback()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses in ([200, 200], [200, 422]), {k: r.text for k, r in answers.items()}
    for response in answers.values():
        if response.status_code == 422:  # the daily file after the weekly one: refused, as it would be alone
            assert response.json()["detail"].startswith("the client's sales are weekly (Fridays) but this file's "
                                                        "dates are daily; nothing imported")
    stored = api.data.get_client(client)
    assert stored.freq.fits(_stored_days(api, client)).all(), stored.freq
    assert stored.data_version == statuses.count(200)


def _wait_until_blocked(api, waiting: int, postgres: bool) -> None:
    """Until ``waiting`` imports wait for the held lock (PostgreSQL: seen in pg_stat_activity; SQLite: a moment)."""
    if not postgres:
        time.sleep(1.0)
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with api.database.read() as conn:
            blocked = conn.execute(text(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() "
                "AND query ILIKE '%clients%'")).scalar_one()
        if blocked >= waiting:
            return
        time.sleep(0.05)
    raise AssertionError(f"{waiting} import(s) never waited for the held client row")
