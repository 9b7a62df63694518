"""Database commands of ``python -m forecasting`` (both databases), run through ``main`` as a user would."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from forecasting.applications.exceptions.rules import EXCEPTION_COLUMNS
from forecasting.applications.inventory.calculator import REORDER_COLUMNS
from forecasting.cli import main
from forecasting.services.data_access import DataAccess
from forecasting.services.forecast_service import ForecastService
from forecasting.services.users import UserService
from forecasting.storage import Database
from forecasting.storage.migrate import head_revision
from tests.support.db import database_state, sales_frame

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def acme(cli, tmp_path):
    """A client with sales for three items and an inventory file, created through the CLI."""
    assert cli("create-client", "Acme Foods")[0] == 0
    sales = tmp_path / "sales.csv"
    sales_frame({"A": 5, "B": 3, "C": 8}, days=60).to_csv(sales, index=False, date_format="%Y-%m-%d")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("item_id,on_hand,on_order,lead_time_days,name\nA,5,0,3,Apples\nB,0,2,2,Bread\n")
    assert cli("import-sales", "--client", "Acme Foods", str(sales))[0] == 0
    assert cli("import-inventory", "--client", "Acme Foods", "--as-of", "2024-03-01", str(inventory))[0] == 0
    return "Acme Foods"


def test_init_create_client_and_imports(cli, tmp_path):
    code, out, _ = cli("init")
    assert code == 0 and f"schema revision {head_revision()}" in out
    code, out, _ = cli("create-client", "Acme Foods")
    assert code == 0 and out.startswith("client 'Acme Foods' created")
    assert cli("create-client", "Acme Foods")[2] == "error: a client named 'Acme Foods' already exists\n"

    path = tmp_path / "sales.csv"
    path.write_text("item_id,date,quantity\nA,2024-01-01,3\nA,2024-01-02,4\n")
    code, out, _ = cli("import-sales", "--client", "Acme Foods", str(path))
    assert (code, out) == (0, "sales: 2 rows (2 inserted, 0 updated) for 1 items (1 new)\n")
    path.write_text("item_id,date,quantity\nA,2024-01-02,5\nA,2024-01-03,1\n")
    assert cli("import-sales", "--client", "Acme Foods", str(path))[1] == (
        "sales: 2 rows (1 inserted, 1 updated) for 1 items (0 new)\n"
    )


def test_a_bad_file_is_exit_2_with_row_numbers_and_imports_nothing(cli, db_url, acme, tmp_path):
    database = Database(db_url)
    before = database_state(database)
    path = tmp_path / "bad.csv"
    path.write_text("item_id,date,quantity\nA,2024-05-01,1\nA,2024-05-02,-4\nB,someday,2\n")
    code, out, err = cli("import-sales", "--client", acme, str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: sales file ") and "negative quantity at row 3" in err and "row 4" in err
    assert err.count("\n") == 1
    assert database_state(database) == before
    database.dispose()


def test_import_sales_that_moves_the_as_of_date_is_refused_until_confirmed(cli, db_url, acme, tmp_path):
    # acme's sales of A, B, C end 2024-02-29; this file has A and a new item D up to 2024-03-07
    database = Database(db_url)
    before = database_state(database)
    path = tmp_path / "late.csv"
    path.write_text("item_id,date,quantity\nA,2024-03-01,2\nA,2024-03-07,1\nD,2024-03-05,4\n")
    code, out, err = cli("import-sales", "--client", acme, str(path))
    # B and C are not in the file: 7 more zero-sales days each (D is new: it has no history to extend)
    assert (code, out) == (2, "")
    assert err == (
        "error: this upload moves the data's as-of date from 2024-02-29 to 2024-03-07 (7 days): 2 item(s) not in "
        "the file would get 7 more days of zero sales each (14 zero-sales days in all), which changes their "
        "forecasts and plans; nothing imported: give --move-as-of to import it anyway\n"
    )
    assert database_state(database) == before
    client = DataAccess(database).client_by_name(acme)
    assert str(client.as_of) == "2024-02-29"

    code, out, _ = cli("import-sales", "--client", acme, "--move-as-of", str(path))
    assert (code, out) == (0, "sales: 3 rows (3 inserted, 0 updated) for 2 items (1 new)\n")
    assert str(DataAccess(database).client_by_name(acme).as_of) == "2024-03-07"
    # a file that ends on the as-of date moves nothing: no flag needed
    path.write_text("item_id,date,quantity\nB,2024-03-07,5\n")
    assert cli("import-sales", "--client", acme, str(path))[0] == 0
    database.dispose()


def test_forecast_from_the_database_reports_computed_then_cached(cli, db_url, acme, tmp_path):
    argv = ("forecast", "--client", acme, "--items", "C,A", "--model", "ma7", "--horizon", "5")
    code, out, err = cli(*argv)
    assert (code, err) == (0, "run 1 (computed); data as of 2024-02-29, daily\n")
    printed = pd.read_csv(io.StringIO(out))
    assert list(printed.columns) == ["item_id", "date", "model", "forecast", "q0.1", "q0.5", "q0.9"]
    database = Database(db_url)
    data = DataAccess(database)
    expected = ForecastService(data).get_forecast(data.client_by_name(acme).client_id, 1).forecast
    assert printed["item_id"].tolist() == expected["item_id"].tolist() == ["A"] * 5 + ["C"] * 5
    assert printed["forecast"].round(6).tolist() == expected["forecast"].round(6).tolist()

    output = tmp_path / "fc.csv"
    code, out, err = cli(*argv[:-2], "--horizon", "5", "--quantiles", "0.1,0.5,0.9", "--output", str(output))
    assert (code, out, err) == (0, "", "run 2 (cached); data as of 2024-02-29, daily\n")
    pd.testing.assert_frame_equal(pd.read_csv(output), printed)

    code, out, _ = cli("runs", "--client", acme)
    runs = pd.read_csv(io.StringIO(out))
    assert runs["run_id"].tolist() == [2, 1] and runs["cached"].tolist() == [True, False]
    assert runs["created_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    database.dispose()


def test_reorder_from_stored_parameters(cli, acme):
    code, out, err = cli("reorder", "--client", acme, "--service-level", "0.9")
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(table.columns) == REORDER_COLUMNS
    assert sorted(table["item_id"]) == ["A", "B"] and (table["service_level"] == 0.9).all()
    assert table.set_index("item_id").loc["A", "name"] == "Apples"


@pytest.mark.parametrize(
    "argv, message",
    [
        (("forecast", "--client", "Nobody", "--model", "ma7", "--horizon", "3"), "error: client 'Nobody' not found\n"),
        (("forecast", "--client", "Acme Foods", "--items", "A,ZZZ", "--model", "ma7", "--horizon", "3"),
         "error: unknown item(s) for this client: ZZZ\n"),
        (("reorder", "--client", "Acme Foods", "--items", "C"),
         "error: no inventory position for item(s) C: import an inventory file first\n"),
        (("runs", "--client", "Nobody"), "error: client 'Nobody' not found\n"),
        (("import-sales", "--client", "Nobody", "x.csv"), "error: client 'Nobody' not found\n"),
    ],
)
def test_unknown_clients_and_items_are_exit_2(cli, acme, argv, message):
    assert cli(*argv)[0::2] == (2, message)


def test_create_user_reads_the_password_from_stdin(cli, db_url, acme, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-password\n"))
    code, out, _ = cli("create-user", "--client", acme, "--username", "pat", "--role", "admin", "--name", "Pat",
                       "--password-stdin")
    assert (code, out) == (0, "user 'pat' (admin) created for client 'Acme Foods'\n")
    database = Database(db_url)
    user = UserService(database, bcrypt_rounds=4).authenticate("pat", "a-good-password")
    assert (user.role, user.name, user.client_name) == ("admin", "Pat", acme)
    database.dispose()

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = cli("create-user", "--client", acme, "--username", "sam", "--role", "planner", "--password-stdin")
    assert code == 2 and err.startswith("error: password must be 8 to 72 bytes long")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli("create-user", "--client", acme, "--username", "sam", "--role", "planner")[2] == (
        "error: no terminal to ask for the password: pipe it in with --password-stdin\n"
    )


def test_unreachable_database_is_one_line_without_the_password(capsys):
    code = main(["runs", "--client", "X", "--database-url", "postgresql+psycopg2://ops:pa55word@127.0.0.1:1/prod"])
    err = capsys.readouterr().err
    assert code == 2 and "pa55word" not in err and err.count("\n") == 1
    assert err.startswith("error: cannot connect to database postgresql+psycopg2://ops:***@127.0.0.1:1/prod: ")


def test_the_real_command_line(db_url, acme):
    done = subprocess.run(
        [sys.executable, "-m", "forecasting", "forecast", "--client", acme, "--items", "B", "--model",
         "seasonal-naive", "--horizon", "7", "--database-url", db_url],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "run 1 (computed); data as of 2024-02-29, daily\n"
    assert len(pd.read_csv(io.StringIO(done.stdout))) == 7


def test_exceptions_command_writes_the_services_queue(cli, acme, db_url, tmp_path):
    out = tmp_path / "attention.csv"
    code, _, err = cli("exceptions", "--client", acme, "--output", str(out))
    assert code == 0 and "computed" in err and "data as of 2024-02-29" in err
    frame = pd.read_csv(out)
    assert list(frame.columns) == EXCEPTION_COLUMNS
    from forecasting.services.container import build_services

    services = build_services(db_url)
    expected = services.forecasts.exceptions(services.data.client_by_name(acme).client_id).queue
    assert frame["item_id"].tolist() == expected["item_id"].tolist()
    assert "cached" in cli("exceptions", "--client", acme)[2]
