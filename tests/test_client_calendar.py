"""A client's stored calendar (issue 22): import with every problem listed, round trip, tenant scope, the cache
key, and database-mode forecasts that give it to the models using covariates (SQLite and PostgreSQL)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job
from forecasting.core.client_calendar import ClientCalendar
from forecasting.core.errors import InvalidInputError
from forecasting.io.calendar_file import calendar_csv
from forecasting.services.container import build_services
from tests.support.db import database_state, inventory_frame, sales_frame

CALENDAR = """type,item_id,category,start,end,name,discount,price
promotion,A,,2024-05-01,2024-05-03,spring,0.2,
promotion,,cat,2024-05-10,2024-05-10,,,
event,,,2024-05-05,,fair,,
holiday,B,,2024-05-06,,closed,,
price,B,,2024-05-01,2024-05-31,,,2.5
"""


def _client(data, name: str = "Acme") -> int:
    client = data.create_client(name).client_id
    data.import_sales(client, sales_frame({"A": 5, "B": 3, "C": 1}, days=120))  # to 2024-04-29
    inventory = inventory_frame(["A", "B", "C"])
    inventory["category"] = ["cat", "cat", "other"]
    data.import_inventory(client, inventory)
    return client


def test_a_calendar_round_trips_and_stays_with_its_client(data):
    acme, other = _client(data), _client(data, "Other")
    version = data.get_client(acme).data_version
    stored = data.import_calendar(acme, CALENDAR.encode())
    assert data.get_client(acme).data_version == version + 1
    back = data.calendar(acme)
    pd.testing.assert_frame_equal(back.table(), stored.table())
    assert back.version() == data.get_client(acme).calendar_version is not None
    assert len(back.entries) == 5 and back.covariates == ["promo", "discount", "price", "event", "holiday"]
    first = back.table().iloc[0]  # sorted by start, then type
    assert (first["type"], first["item_id"], first["start"], first["end"], first["price"]) == \
        ("price", "B", "2024-05-01", "2024-05-31", 2.5) and np.isnan(first["discount"])
    assert data.calendar(other).entries.empty and data.get_client(other).calendar_version is None
    # the export is a file the import takes back unchanged
    again = data.import_calendar(acme, calendar_csv(back))
    assert again.version() == back.version()
    # an import replaces the whole calendar; an empty one clears it
    data.import_calendar(acme, b"type,item_id,start\nevent,C,2024-06-01\n")
    assert data.calendar(acme).table()[["type", "item_id", "start"]].values.tolist() == [["event", "C", "2024-06-01"]]
    data.import_calendar(acme, b"type,start\n")
    assert data.calendar(acme).entries.empty and data.get_client(acme).calendar_version is None


def test_a_bad_calendar_lists_every_problem_and_imports_nothing(data, database):
    acme, other = _client(data), _client(data, "Other")
    data.import_calendar(acme, CALENDAR.encode())
    data.import_sales(other, sales_frame({"Z": 2}, days=120))  # another client's item is unknown to Acme
    before = database_state(database)
    bad = ("type,item_id,category,start,end,name\n"
           "promotion,A,,2024-05-01,2024-05-10,\n"
           "promotion,A,,2024-05-08,2024-05-12,\n"    # overlaps the row above (same item)
           "promotion,Z,,2024-05-01,2024-05-02,\n"    # not an item of this client
           "event,,,2024-05-09,2024-05-01,\n"         # ends before it starts
           "promotion,,nosuch,2024-05-01,,\n"         # unknown category
           "sale,A,,2024-05-01,,\n"                   # unknown type
           "event,,,2024-05-01,,\x00fair\n")          # a NUL in the name (PostgreSQL refuses it in text)
    with pytest.raises(InvalidInputError) as caught:
        data.import_calendar(acme, bad.encode())
    found = {(p.row, p.problem) for p in caught.value.problems}
    assert found == {
        (3, "overlapping promotions for the same item or category"),
        (4, "unknown item_id for this client"),
        (5, "end before start"),
        (6, "unknown category for this client"),
        (7, "type must be one of promotion, event, holiday, price"),
        (8, "name contains a control character (line break, tab, NUL...)"),
    }
    assert database_state(database) == before  # nothing imported, no version bumped
    assert len(data.calendar(acme).entries) == 5


def test_the_forecast_cache_key_changes_with_the_calendar(data, service):
    acme = _client(data)
    first = service.forecast(acme, ["A", "B"], "ma7", 7)
    assert service.forecast(acme, ["A", "B"], "ma7", 7).cached
    data.import_calendar(acme, CALENDAR.encode())
    fresh = service.forecast(acme, ["A", "B"], "ma7", 7)
    assert not fresh.cached and fresh.run_id != first.run_id
    assert service.forecast(acme, ["A", "B"], "ma7", 7).cached
    # the statistical model ignores the calendar: the same numbers
    pd.testing.assert_frame_equal(fresh.forecast, first.forecast)


def test_the_calendar_becomes_covariates_on_the_right_days(data):
    acme = _client(data)
    data.import_calendar(acme, CALENDAR.encode())
    known = data.known_future(acme, ["A", "B", "C"], 14)
    frame = known.frame.set_index(["item_id", "date"])
    day = pd.Timestamp
    assert frame.loc[("A", day("2024-05-01")), "promo"] == 1 and frame.loc[("A", day("2024-05-01")), "discount"] == 0.2
    assert frame.loc[("A", day("2024-05-04")), "promo"] == 0  # the day after the promotion
    assert frame.loc[("B", day("2024-05-10")), "promo"] == 1  # category promotion: A and B are 'cat', C is not
    assert frame.loc[("C", day("2024-05-10")), "promo"] == 0
    assert all(frame.loc[(i, day("2024-05-05")), "event"] == 1 for i in "ABC")  # an event for every item
    assert frame.loc[("B", day("2024-05-06")), "holiday"] == 1 and frame.loc[("A", day("2024-05-06")), "holiday"] == 0
    assert frame.loc[("B", day("2024-05-12")), "price"] == 2.5 and np.isnan(frame.loc[("A", day("2024-05-12")), "price"])
    # every forecast day of every item has a row (the horizon is covered: no unknown flags)
    horizon = pd.date_range("2024-04-30", periods=14)
    assert {(i, d) for i in "ABC" for d in horizon} <= set(frame.index)


def _promo_world(db_url):
    """Two items whose sales triple on promotion days; the calendar holds the past and the planned promotions."""
    services = build_services(db_url)
    data = services.data
    client = data.create_client("Promo").client_id
    rng = np.random.default_rng(3)
    dates = pd.date_range("2023-01-01", periods=400)
    promo_days = dates[rng.random(len(dates)) < 0.2]
    frames = []
    for item, level in (("P0", 6.0), ("P1", 10.0)):
        rate = np.where(dates.isin(promo_days), 3 * level, level)
        frames.append(pd.DataFrame({"item_id": item, "date": dates, "quantity": rng.poisson(rate).astype(float)}))
    data.import_sales(client, pd.concat(frames, ignore_index=True))
    start = dates[-1] + pd.Timedelta(days=1)
    planned = [start + pd.Timedelta(days=s) for s in (2, 3, 9)]
    rows = [f"promotion,{item},,{d:%Y-%m-%d},," for item in ("P0", "P1") for d in [*promo_days, *planned]]
    data.import_calendar(client, ("type,item_id,category,start,end,name\n" + "\n".join(rows) + "\n").encode())
    return services, client, start, {2, 3, 9}


def _promo_ratio(frame: pd.DataFrame, start: pd.Timestamp, planned: set[int]) -> pd.Series:
    step = (pd.to_datetime(frame["date"]) - start).dt.days
    on = step.isin(planned).to_numpy()
    return frame[on].groupby("item_id")["forecast"].mean() / frame[~on].groupby("item_id")["forecast"].mean()


def test_lgbm_in_database_mode_gets_the_calendar_flags_on_their_days(db_url, tmp_path):
    services, client, start, planned = _promo_world(db_url)
    outcome = services.forecasts.forecast(client, ["P0", "P1"], "lgbm", 14)
    assert outcome.covariates == ("promo",)
    assert (_promo_ratio(outcome.forecast, start, planned) > 1.8).all()
    # the batch job (CLI database mode, scheduled runs) gives the model the same calendar
    out = tmp_path / "batch.csv"
    run_database_job(services, client, BatchJob("forecast", ("lgbm",), 14, ()), output=out)
    batch = pd.read_csv(out, parse_dates=["date"])
    assert (_promo_ratio(batch, start, planned) > 1.8).all()
    assert set(batch["covariates"]) == {"promo"}
    # a statistical model ignores the calendar and says so
    plain = services.forecasts.forecast(client, ["P0", "P1"], "ma7", 14)
    assert plain.covariates == ()
    assert (_promo_ratio(plain.forecast, start, planned).round(6) == 1).all()


def test_api_calendar_is_the_callers_own_and_changed_by_its_users_only(api):
    key_a, key_b = {"X-API-Key": api.key_a}, {"X-API-Key": api.key_b}
    alice, bob = api.bearer("alice"), api.bearer("bob")
    empty = api.http.get("/api/v1/calendar", headers=key_a)
    assert empty.status_code == 200 and empty.json() == {"client_id": api.a, "version": None, "covariates": [],
                                                          "entries": []}
    body = {"entries": [{"type": "promotion", "item_id": "SHARED", "start": "2024-05-01", "end": "2024-05-07",
                         "discount": 0.25},
                        {"type": "holiday", "start": "2024-05-01", "name": "Labour day"}]}
    assert api.http.put("/api/v1/calendar", json=body, headers=key_a).status_code == 403  # a key reads only
    assert api.http.put("/api/v1/calendar", json={**body, "client_id": api.a}, headers=bob).status_code == 403
    answer = api.http.put("/api/v1/calendar", json=body, headers=alice)
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    assert stored["covariates"] == ["promo", "discount", "holiday"] and stored["version"]
    assert [(e["type"], e["item_id"], e["start"], e["end"], e["discount"]) for e in stored["entries"]] == [
        ("holiday", "", "2024-05-01", "2024-05-01", None), ("promotion", "SHARED", "2024-05-01", "2024-05-07", 0.25)]
    assert api.http.get("/api/v1/calendar", headers=key_a).json() == stored
    # client B has an item SHARED too: it never sees nor gets A's calendar
    assert api.http.get("/api/v1/calendar", headers=key_b).json()["entries"] == []
    assert api.data.get_client(api.b).calendar_version is None
    assert api.http.get(f"/api/v1/calendar?client_id={api.a}", headers=key_b).status_code == 403

    bad = {"entries": [{"type": "promotion", "item_id": "A1", "start": "2024-05-01", "end": "2024-05-05"},
                       {"type": "promotion", "item_id": "A1", "start": "2024-05-04", "end": "2024-05-06"},
                       {"type": "promotion", "item_id": "B1", "start": "2024-05-01"},
                       {"type": "event", "start": "2024-05-09", "end": "2024-05-02"}]}
    refused = api.http.put("/api/v1/calendar", json=bad, headers=alice)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    for said in ("overlapping promotions for the same item or category at row 3",
                 'unknown item_id for this client at row 4 ("B1")', "end before start at row 5"):
        assert said in detail, detail
    assert "Traceback" not in refused.text and "SELECT" not in refused.text
    assert api.http.get("/api/v1/calendar", headers=key_a).json() == stored  # nothing half-imported
    forecast = api.http.post("/api/v1/forecast", json={"item_ids": ["A1"], "prediction_length": 7, "model": "ma7"},
                             headers=key_a)
    assert forecast.status_code == 200 and forecast.json()["covariates"] == []


def test_cli_imports_and_exports_a_clients_calendar(cli, tmp_path):
    assert cli("create-client", "Acme")[0] == 0
    sales = tmp_path / "sales.csv"
    sales_frame({"A": 5, "B": 3}, days=60).to_csv(sales, index=False)
    assert cli("import-sales", "--client", "Acme", str(sales))[0] == 0
    path = tmp_path / "calendar.csv"
    path.write_text("type,item_id,start,end,discount\npromotion,A,2024-03-01,2024-03-03,0.1\nevent,,2024-03-05,,\n")
    code, out, err = cli("import-calendar", "--client", "Acme", str(path))
    assert (code, err) == (0, "") and out == "imported 2 calendar entries for client 'Acme' (covariates: promo, discount, event)\n"
    code, out, _ = cli("calendar", "--client", "Acme")
    assert code == 0 and out.splitlines() == [
        "type,item_id,category,start,end,name,discount,price",
        "promotion,A,,2024-03-01,2024-03-03,,0.1,",
        "event,,,2024-03-05,2024-03-05,,,",
    ]
    path.write_text("type,item_id,start,end\npromotion,NOPE,2024-03-01,2024-03-03\npromotion,A,2024-03-09,2024-03-08\n")
    code, out, err = cli("import-calendar", "--client", "Acme", str(path))
    assert code == 2 and "unknown item_id for this client at row 2" in err and "end before start at row 3" in err
    assert cli("calendar", "--client", "Acme")[1].count("\n") == 3  # the old calendar stays
    code, _, err = cli("forecast", "--client", "Acme", "--model", "lgbm", "--horizon", "7", "--calendar", str(path))
    assert code == 2 and "database mode uses the client's stored calendar" in err


def test_a_calendar_covering_too_many_item_days_is_refused(monkeypatch):
    import forecasting.core.client_calendar as module

    monkeypatch.setattr(module, "MAX_ITEM_DAYS", 100)
    raw = pd.DataFrame({"type": ["event", "promotion"], "item_id": ["", "A"], "start": ["2024-01-01", "2024-01-01"],
                        "end": ["2024-01-30", "2024-01-11"]})
    items = {"A": "x", "B": "x", "C": "y"}
    with pytest.raises(InvalidInputError, match=r"covers 101 \(item, day\) pairs"):
        ClientCalendar.check(raw, items)  # an event for 3 items x 30 days, a promotion of 11 days
    assert len(ClientCalendar.check(raw.assign(end=["2024-01-30", "2024-01-10"]), items).entries) == 2  # 100: in


def test_weekly_buckets_take_a_flag_when_any_of_their_days_has_it():
    from forecasting.core.calendar import Frequency

    weekly = Frequency.parse("W-FRI")  # weeks Friday to Thursday, dated on their Friday
    raw = pd.DataFrame({"type": ["promotion", "price", "price"], "item_id": ["A", "A", "A"],
                        "start": ["2024-05-08", "2024-05-10", "2024-05-15"],
                        "end": ["2024-05-08", "2024-05-14", "2024-05-16"], "price": ["", "2", "4"],
                        "discount": ["0.3", "", ""]})
    calendar = ClientCalendar.check(raw, {"A": ""})
    fridays = pd.DatetimeIndex(["2024-05-10", "2024-05-17"])
    frame = calendar.known_future(pd.DataFrame({"item_id": ["A"], "category": [""]}), fridays, weekly).frame
    rows = frame.set_index("date")
    assert rows.loc[pd.Timestamp("2024-05-03"), "promo"] == 1  # Wednesday the 8th is in the week of Friday the 3rd
    assert rows.loc[pd.Timestamp("2024-05-03"), "discount"] == 0.3
    assert rows.loc[pd.Timestamp("2024-05-10"), "promo"] == 0
    assert rows.loc[pd.Timestamp("2024-05-10"), "price"] == pytest.approx((2 * 5 + 4 * 2) / 7)  # its days' mean
    assert np.isnan(rows.loc[pd.Timestamp("2024-05-17"), "price"])


def test_a_parquet_calendar_imports_like_its_csv(data, tmp_path):
    acme = _client(data)
    csv = data.import_calendar(acme, CALENDAR.encode())
    path = tmp_path / "calendar.parquet"
    table = csv.table()
    table.assign(start=pd.to_datetime(table["start"]), end=pd.to_datetime(table["end"])).to_parquet(path)
    assert data.import_calendar(acme, path).version() == csv.version()
