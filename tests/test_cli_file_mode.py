"""The file-mode CLI (docs/cli.md), end to end on small files the tests write."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.applications.inventory.calculator import REORDER_COLUMNS
from forecasting.cli import main
from forecasting.modes.factory import ModelFactory

ROOT = Path(__file__).resolve().parents[1]


def write_sales(path: Path, items: dict[str, list[float]], start: str = "2024-01-01", end: str | None = None) -> Path:
    """Daily rows per item from ``start``, or ending on ``end`` (every item's last row on that day)."""
    rows = []
    for item, values in items.items():
        days = pd.date_range(end=end, periods=len(values)) if end else pd.date_range(start, periods=len(values))
        for day, value in zip(days, values):
            rows.append(f"{item},{day:%Y-%m-%d},{value}")
    path.write_text("item_id,date,quantity\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def sales_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    return write_sales(
        tmp_path / "sales.csv",
        {"A": list(range(1, 41)), "B": rng.poisson(5, 60).tolist(), "C": [3] * 30},
        end="2024-02-29",
    )


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_forecast_to_stdout(sales_file, capsys):
    code, out, err = run(["forecast", "--input", str(sales_file), "--model", "ma7", "--horizon", "3"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "item_id,date,model,forecast,q0.1,q0.5,q0.9"
    assert len(lines) == 1 + 3 * 3
    # A sells 1..40: last seven days 34..40, mean 37; the first forecast day is the day after the data's last
    assert lines[1].startswith("A,2024-03-01,ma7,37.0,")
    c = [line for line in lines if line.startswith("C,")]
    assert c[0] == "C,2024-03-01,ma7,3.0,3.0,3.0,3.0"


def test_an_item_without_recent_sales_is_forecast_from_the_files_as_of_date(tmp_path, capsys):
    # S stopped selling 30 days before the file's last day: its history runs on with zero sales
    path = write_sales(tmp_path / "s.csv", {"A": [2] * 90})
    with path.open("a") as handle:
        handle.writelines(f"S,{day:%Y-%m-%d},6\n" for day in pd.date_range("2024-01-01", periods=60))
    code, out, err = run(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "2"], capsys)
    assert code == 0, err
    frame = pd.read_csv(__import__("io").StringIO(out), parse_dates=["date"])
    assert (frame.groupby("item_id")["date"].min() == pd.Timestamp("2024-03-31")).all()  # as of 03-30
    assert frame.loc[frame.item_id == "S", "forecast"].tolist() == [0.0, 0.0]


def test_forecast_to_file_with_requested_quantiles(sales_file, tmp_path, capsys):
    out_file = tmp_path / "out.csv"
    code, out, _ = run(
        ["forecast", "--input", str(sales_file), "--model", "seasonal-naive", "--horizon", "8",
         "--quantiles", "0.05,0.95", "--output", str(out_file)],
        capsys,
    )
    assert code == 0 and out == ""
    frame = pd.read_csv(out_file)
    assert list(frame.columns) == ["item_id", "date", "model", "forecast", "q0.05", "q0.95"]
    a = frame[frame.item_id == "A"]["forecast"].tolist()
    assert a == [34, 35, 36, 37, 38, 39, 40, 34]
    assert (frame["q0.05"] <= frame["q0.95"]).all()


def test_backtest_prints_per_item_and_overall_metrics(sales_file, capsys):
    code, out, err = run(
        ["backtest", "--input", str(sales_file), "--model", "ma7,seasonal-naive", "--horizon", "7", "--windows", "2"],
        capsys,
    )
    assert code == 0, err
    frame = pd.read_csv(__import__("io").StringIO(out))
    assert list(frame.columns) == [
        "item_id", "model", "n_points", "n_zero_actuals", "mae", "rmse", "mape", "wape", "bias", "mase", "wql", "coverage"
    ]
    assert set(frame.model) == {"ma7", "seasonal-naive"}
    overall = frame[frame.item_id == "__overall__"].set_index("model")
    assert overall.loc["ma7", "n_points"] == 3 * 2 * 7
    c = frame[(frame.item_id == "C") & (frame.model == "ma7")].iloc[0]
    assert c.mae == 0 and c.mape == 0 and np.isnan(c.mase)  # constant series: perfect, MASE undefined


def test_reorder_end_to_end_constant_demand(tmp_path, capsys):
    sales = write_sales(tmp_path / "s.csv", {"A": [4] * 60, "B": [2] * 60})
    inv = tmp_path / "inv.csv"
    inv.write_text("item_id,on_hand,on_order,lead_time_days,review_period_days,moq,pack_size\nA,10,0,5,7,0,6\nB,100,0,3,7,0,1\n")
    code, out, err = run(["reorder", "--input", str(sales), "--inventory", str(inv), "--model", "ma7"], capsys)
    assert code == 0, err
    table = pd.read_csv(__import__("io").StringIO(out)).set_index("item_id")
    # A: lead-time demand 5*4 = 20 = reorder point; order-up-to 12*4 = 48; need 38 -> 7 packs of 6 = 42
    assert table.loc["A", "reorder_point"] == 20 and table.loc["A", "safety_stock"] == 0
    assert table.loc["A", "order_qty"] == 42 and table.loc["A", "action"] == "reorder"
    # an ok line carries no order_qty (issue 19's contract): the column is there, the cell is empty
    assert table.loc["B", "action"] == "ok" and pd.isna(table.loc["B", "order_qty"])
    assert list(table.reset_index().columns) == REORDER_COLUMNS


def test_models_lists_every_model(capsys):
    code, out, _ = run(["models"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ModelFactory.names()
    assert all(line.split()[1] in ("available", "unavailable") for line in lines)
    assert "ses" in ModelFactory.names() and "auto" in ModelFactory.names()
    said = {line.split()[0]: line for line in lines}
    assert said["lgbm"].endswith("the item's category and known-future covariates used")
    assert said["ma7"].endswith("known-future covariates ignored") and said["auto"].endswith("used")  # its lgbm


BAD_FILES = {
    "repeated pair": ("A,2024-01-01,1\nA,2024-01-01,2\n", "repeated (item_id, date) pair at rows 2, 3"),
    "unparsable date": ("A,2024-02-30,1\n", "unparsable date (expected YYYY-MM-DD or DD.MM.YYYY) at row 2"),
    "negative quantity": ("A,2024-01-01,-4\n", "negative quantity at row 2"),
    "non-numeric quantity": ("A,2024-01-01,four\n", "non-numeric quantity at row 2"),
    "missing quantity": ("A,2024-01-01,\n", "missing quantity at row 2"),
    "empty item_id": (" ,2024-01-01,1\n", "empty item_id at row 2"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_sales_rows_exit_2_and_write_nothing(case, tmp_path, capsys):
    body, message = BAD_FILES[case]
    good = "".join(f"A,2024-01-{d:02d},1\n" for d in range(10, 25))
    path = tmp_path / "bad.csv"
    path.write_text("item_id,date,quantity\n" + body + good)
    out_file = tmp_path / "out.csv"
    code, out, err = run(
        ["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7", "--output", str(out_file)], capsys
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not out_file.exists() and out == ""


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--horizon", "0"], "horizon must be between 1 and 365 days, got 0"),
        (["--horizon", "366"], "horizon must be between 1 and 365 days, got 366"),
        (["--horizon", "7", "--quantiles", "0.1,1.0"], "quantile level '1.0' must lie strictly between 0 and 1"),
        (["--horizon", "7", "--quantiles", "-0.2"], "must lie strictly between 0 and 1"),
        (["--horizon", "7", "--model", "prophet"], "unknown model 'prophet'; available: " + ", ".join(ModelFactory.names())),
    ],
)
def test_bad_arguments_exit_2(extra, message, sales_file, capsys):
    args = ["forecast", "--input", str(sales_file), "--model", "ma7", *extra]
    code, out, err = run(args, capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_missing_column_short_history_and_empty_file(tmp_path, capsys):
    cases = {
        "item_id,day,quantity\nA,2024-01-01,1\n": "missing required column(s) date",
        "": "is empty",
        "item_id,date,quantity\n" + "".join(f"N,2024-01-{d},1\n" for d in range(17, 20))
        + "".join(f"L,2024-01-{d:02d},1\n" for d in range(1, 20)): "1 item(s) have fewer than 7 days of history: N (3 days)",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"f{i}.csv"
        path.write_text(text)
        code, _, err = run(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7"], capsys)
        assert code == 2 and message in err, err


def test_huge_file_is_not_read_whole_to_fail(tmp_path):
    """A 2 GB stream with bad rows near the top: the CLI stops after the first chunk."""
    fifo = tmp_path / "huge.csv"
    os.mkfifo(fifo)
    written = {"bytes": 0}
    limit = 2 * 1024**3
    block = "".join(f"A{i % 1000},2024-01-01,1\n" for i in range(20000)).encode()

    def feed() -> None:
        try:
            with open(fifo, "wb") as handle:
                head = b"item_id,date,quantity\n" + b"".join(b"X,2024-01-01,-1\n" for _ in range(25))
                handle.write(head)
                written["bytes"] += len(head)
                while written["bytes"] < limit:
                    handle.write(block)
                    written["bytes"] += len(block)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    proc = subprocess.run(
        [sys.executable, "-m", "forecasting", "forecast", "--input", str(fifo), "--model", "ma7", "--horizon", "7"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    if writer.is_alive():  # unblock a writer still waiting for (or writing to) the pipe
        with open(fifo, "rb") as drain:
            drain.read(1)
    writer.join(timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "negative quantity at rows 2, 3, 4" in proc.stderr and "Traceback" not in proc.stderr
    assert written["bytes"] < 200 * 1024**2  # far less than the 2 GB on offer


def test_python_m_forecasting_reports_bad_input_without_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("item_id,date,quantity\nA,2024-01-01,-1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "forecasting", "forecast", "--input", str(path), "--model", "ma7", "--horizon", "7"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: sales file {path} rejected, nothing imported: negative quantity at row 2 (\"-1\")"
    ]


def test_auto_writes_the_chosen_model_of_each_item(sales_file, tmp_path, capsys):
    out_file = tmp_path / "auto.csv"
    code, _, err = run(["forecast", "--input", str(sales_file), "--model", "auto", "--horizon", "5",
                        "--output", str(out_file)], capsys)
    assert code == 0, err
    frame = pd.read_csv(out_file)
    assert list(frame.columns) == ["item_id", "date", "model", "forecast", "q0.1", "q0.5", "q0.9", "chosen_model",
                                   "choice", "covariates"]
    assert set(frame["covariates"]) == {"none"}  # auto's global member may use a calendar: none was given
    assert set(frame["model"]) == {"auto"} and frame.groupby("item_id")["chosen_model"].nunique().eq(1).all()
    # C (30 days) is too short to validate: it falls back, and says so
    c = frame[frame.item_id == "C"].iloc[0]
    assert c["chosen_model"] == "ma7" and c["choice"].startswith("fallback")
