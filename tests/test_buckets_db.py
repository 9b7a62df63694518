"""A client's bucket (issue 17): stored at the first import, enforced on later ones, forecasts dated on it."""
from __future__ import annotations

import pandas as pd
import pytest

from forecasting.services.data_access import DataAccess
from forecasting.storage import Database
from tests.support.db import database_state


def _write(path, dates, items=("A", "B")):
    rows = [f"{item},{pd.Timestamp(d):%Y-%m-%d},{k % 4 + 1}" for item in items for k, d in enumerate(dates)]
    path.write_text("item_id,date,quantity\n" + "\n".join(rows) + "\n")
    return path


FRIDAYS = pd.date_range("2023-01-06", periods=40, freq="7D")


@pytest.fixture
def weekly(cli, tmp_path):
    assert cli("create-client", "Weekly Co")[0] == 0
    code, _, err = cli("import-sales", "--client", "Weekly Co", str(_write(tmp_path / "w.csv", FRIDAYS)))
    assert code == 0, err
    return "Weekly Co"


def test_the_first_import_stores_the_bucket_and_forecasts_are_dated_on_it(cli, weekly, db_url, tmp_path):
    data = DataAccess(Database(db_url))
    client = data.client_by_name(weekly)
    assert client.freq.alias == "W-FRI" and str(client.as_of) == "2023-10-06"
    out = tmp_path / "f.csv"
    code, _, err = cli("forecast", "--client", weekly, "--model", "seasonal-ses", "--horizon", "3",
                       "--output", str(out))
    assert code == 0, err
    frame = pd.read_csv(out, parse_dates=["date"])
    assert sorted(frame["date"].unique()) == list(pd.date_range("2023-10-13", periods=3, freq="7D"))
    # the history read back is weekly: a missing week is a zero bucket, never six zero days
    history = data.history(client.client_id, ["A"])
    assert len(history) == 40 and (history["date"].dt.dayofweek == 4).all()
    data.database.dispose()


def test_a_weekly_client_refuses_a_daily_file_with_one_line_and_imports_nothing(cli, weekly, db_url, tmp_path):
    database = Database(db_url)
    before = database_state(database)
    daily = _write(tmp_path / "d.csv", pd.date_range("2023-10-07", periods=14))
    code, out, err = cli("import-sales", "--client", weekly, str(daily))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "the client's sales are weekly (Fridays)" in err and "--freq" in err and "nothing imported" in err
    assert database_state(database) == before
    database.dispose()


def test_a_declared_bucket_changes_the_clients_when_its_sales_fit(cli, weekly, db_url, tmp_path):
    daily = _write(tmp_path / "d.csv", pd.date_range("2023-10-07", periods=14))
    code, _, err = cli("import-sales", "--client", weekly, str(daily), "--freq", "D")
    assert code == 0, err
    data = DataAccess(Database(db_url))
    assert data.client_by_name(weekly).freq.alias == "D"
    data.database.dispose()


def test_a_later_weekly_file_of_one_week_keeps_the_clients_bucket(cli, weekly, db_url, tmp_path):
    one = _write(tmp_path / "one.csv", [pd.Timestamp("2023-10-13")])
    assert cli("import-sales", "--client", weekly, str(one))[0] == 0
    data = DataAccess(Database(db_url))
    client = data.client_by_name(weekly)
    assert client.freq.alias == "W-FRI" and str(client.as_of) == "2023-10-13"
    data.database.dispose()


def test_a_monthly_frame_with_a_mid_month_date_is_refused(db_url):
    data = DataAccess(Database(db_url))
    client = data.create_client("Monthly Co")
    dates = list(pd.date_range("2022-01-01", periods=20, freq="MS"))
    dates[7] = pd.Timestamp("2022-08-15")
    frame = pd.DataFrame({"item_id": "A", "date": dates, "quantity": 1.0})
    with pytest.raises(Exception, match="mixes buckets.*not on the 1st of a month at row 9"):
        data.import_sales(client.client_id, frame)
    assert data.get_client(client.client_id).as_of is None
    data.database.dispose()


def test_a_weekly_client_gets_a_reorder_table_with_lead_times_in_days(cli, weekly, tmp_path):
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,review_period_days\nA,3,0,10,4\nB,100,0,7,0\n")
    assert cli("import-inventory", "--client", weekly, "--as-of", "2023-10-07", str(inventory))[0] == 0
    out = tmp_path / "reorder.csv"
    code, _, err = cli("reorder", "--client", weekly, "--model", "ma7", "--output", str(out))
    assert code == 0, err
    table = pd.read_csv(out).set_index("item_id")
    # ma7 of A's last 7 weeks (sales 1..4 repeating): its lead time demand is about 10/7 of a week's forecast
    # (the mean of the weekly paths, which carry the model's past errors clipped at zero, not exactly the point)
    weekly_mean = pd.Series([k % 4 + 1 for k in range(40)][-7:]).mean()
    assert table.loc["A", "lead_time_demand"] == pytest.approx(weekly_mean * 10 / 7, rel=0.02)
    assert table.loc["A", "lead_time_days"] == 10


def test_a_file_import_whose_client_got_another_bucket_while_it_was_read_is_refused(db_url, tmp_path, monkeypatch):
    """``import-sales`` reads (stages) its file before its transaction: when another import gives the client its
    first sales, in another bucket, meanwhile, the file is refused as it would have been after it (an undeclared
    file never changes the client's bucket), and nothing of it is imported."""
    from forecasting.batch import staging

    database = Database(db_url)
    data = DataAccess(database)
    client = data.create_client("Raced Co").client_id
    real = staging.stage_sales

    def staged_then_raced(*args, **kwargs):
        staged = real(*args, **kwargs)
        data.import_sales(client, pd.DataFrame({"item_id": "W", "date": FRIDAYS[:10], "quantity": 1.0}))
        return staged

    monkeypatch.setattr(staging, "stage_sales", staged_then_raced)
    daily = _write(tmp_path / "d.csv", pd.date_range("2023-01-02", periods=30))
    with pytest.raises(Exception, match=r"^the client's sales are weekly \(Fridays\) but this file's dates were read "
                                        r"as daily; nothing imported"):
        data.import_sales_file(client, daily)
    assert data.get_client(client).freq.alias == "W-FRI"
    assert sorted(data.list_items(client)["item_id"]) == ["W"]
    database.dispose()
