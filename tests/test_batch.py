"""Batch jobs in chunks: the same numbers as one run over all items, for every model, in files and databases.

Real parts throughout: the CLI in process, real CSV and Parquet files, SQLite
files and PostgreSQL schemas (``db_url``), the tiny random-weight Chronos-2.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from forecasting.applications.inventory.calculator import InventoryCalculator
from forecasting.applications.quality.calculator import QualityCalculator
from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job
from forecasting.cli import main
from forecasting.core.errors import ForecastingError, InvalidInputError
from forecasting.io.csv_export import write_csv
from forecasting.io.inventory_csv import read_inventory_csv
from forecasting.io.sales_csv import read_sales_csv
from forecasting.modes.factory import ModelFactory
from forecasting.services.container import build_services
from tests.support.db import inventory_frame

LEVELS = (0.1, 0.5, 0.9)
#: per-item models (lgbm learns across the items given to it: a chunk's model is trained on that chunk)
STATISTICAL = [name for name in ModelFactory.names() if name not in ("chronos-2", "lgbm")]


@pytest.fixture(autouse=True)
def per_item_auto(monkeypatch):
    """auto without its global member: every item's forecast its own, so chunks give one run's numbers
    (with it, each chunk trains its own global model, as lgbm does; README, "The global model in auto")."""
    monkeypatch.setenv("AUTO_GLOBAL_MODEL", "none")


def mixed_sales(n_items: int = 23, seed: int = 0) -> pd.DataFrame:
    """Items of very different lengths (a week to a year and a half), gaps, zeros, a promo column, rows shuffled.

    Every item ends on or before the last date of the file; short ones draw on the random fallback paths.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=540)
    parts = []
    for i in range(n_items):
        length = [12, 20, 45, 120, 540][i % 5] - int(rng.integers(0, 5))
        end = len(days) - int(rng.integers(0, 30)) if i % 4 == 0 else len(days)
        span = days[max(0, end - length):end]
        sold = rng.poisson(rng.gamma(1.2, 3.0), len(span)) * (rng.random(len(span)) < rng.uniform(0.3, 1.0))
        keep = rng.random(len(span)) < 0.85
        keep[0] = True
        parts.append(pd.DataFrame({"item_id": f"SKU-{i:03d}", "date": span[keep], "quantity": sold[keep].astype(float),
                                   "promo": (rng.random(int(keep.sum())) < 0.2).astype(float)}))
    parts.append(pd.DataFrame({"item_id": "SKU-LAST", "date": days[-10:], "quantity": 1.0, "promo": 0.0}))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def sales_files(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("batch")
    frame = mixed_sales()
    csv, parquet = folder / "sales.csv", folder / "sales.parquet"
    out = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    out.to_csv(csv, index=False)
    out.to_parquet(parquet, index=False)
    return {"csv": csv, "parquet": parquet, "history": read_sales_csv(csv), "folder": folder}


def _in_memory_forecast(name: str, history: pd.DataFrame, horizon: int = 14) -> pd.DataFrame:
    frame = ModelFactory.create(name).forecast(history, horizon, LEVELS)
    return frame.sort_values(["item_id", "date"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("model", STATISTICAL)
def test_file_forecast_in_chunks_equals_one_run_over_all_items(model, sales_files, tmp_path):
    out = tmp_path / "forecast.parquet"
    code = main(["forecast", "--input", str(sales_files["parquet"]), "--model", model, "--horizon", "14",
                 "--quantiles", "0.1,0.5,0.9", "--output", str(out), "--chunk-items", "4"])
    assert code == 0
    written = pd.read_parquet(out)
    if "covariates" in written:  # a model that may use a calendar (auto's global member): none was given
        assert set(written.pop("covariates")) == {"none"}
    assert_frame_equal(written, _in_memory_forecast(model, sales_files["history"]), check_exact=True)


def test_file_forecast_csv_is_the_file_of_one_run(sales_files, tmp_path):
    """CSV in, CSV out, chunk by chunk: byte for byte what writing the whole frame gives."""
    expected = tmp_path / "expected.csv"
    from forecasting.core.covariates import with_covariates

    # auto may use a calendar (its global member): the file names the covariates, none here
    write_csv(with_covariates(_in_memory_forecast("auto", sales_files["history"]), ModelFactory.create("auto"), []),
              expected)
    for chunk_items in ("3", "1000"):
        out = tmp_path / f"forecast-{chunk_items}.csv"
        assert main(["forecast", "--input", str(sales_files["csv"]), "--model", "auto", "--horizon", "14",
                     "--output", str(out), "--chunk-items", chunk_items]) == 0
        assert out.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize("model", ["ma7", "croston-sba", "auto"])
def test_file_reorder_in_chunks_equals_one_table(model, sales_files, tmp_path):
    history = sales_files["history"]
    ids = sorted(history["item_id"].unique())[::2]
    inventory = inventory_frame(ids, lead_time_days=5)
    inventory.loc[::3, "lead_time_days"] = 20  # the longest cycle sets every chunk's horizon
    path = tmp_path / "inventory.csv"
    inventory.to_csv(path, index=False)
    out = tmp_path / "reorder.parquet"
    assert main(["reorder", "--input", str(sales_files["csv"]), "--inventory", str(path), "--model", model,
                 "--output", str(out), "--chunk-items", "2"]) == 0
    expected = InventoryCalculator.reorder(ModelFactory.create(model), history, read_inventory_csv(path))
    assert_frame_equal(pd.read_parquet(out), expected, check_exact=True)


def test_file_backtest_in_chunks_equals_one_backtest(sales_files, tmp_path):
    history = sales_files["history"]
    long_ids = history.groupby("item_id")["date"].min().loc[lambda d: d < "2024-05-01"].index
    path = tmp_path / "long.csv"
    long = history[history["item_id"].isin(long_ids)].sort_values(["item_id", "date"])
    long.assign(date=long["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    out = tmp_path / "metrics.parquet"
    assert main(["backtest", "--input", str(path), "--model", "ma7,ses,auto", "--horizon", "14", "--windows", "2",
                 "--output", str(out), "--chunk-items", "2"]) == 0
    expected = QualityCalculator.backtest(read_sales_csv(path), ["ma7", "ses", "auto"], 14, 2, LEVELS).metrics
    assert_frame_equal(pd.read_parquet(out), expected, check_exact=True)


def test_chronos2_in_chunks_equals_one_run_to_float32_precision(tiny_chronos_dir, sales_files, tmp_path):
    """Chronos-2 runs in float32 on batches padded to their longest history: which items share a forward pass
    changes the last bits (as it does in one run over all items, with CHRONOS_BATCH_SIZE), nothing more."""
    out = tmp_path / "chronos.parquet"
    assert main(["forecast", "--input", str(sales_files["parquet"]), "--model", "chronos-2", "--horizon", "14",
                 "--output", str(out), "--chunk-items", "5"]) == 0
    written = pd.read_parquet(out)
    assert set(written.pop("covariates")) == {"promo"}  # the file's promo column: Chronos-2 uses past covariates
    assert_frame_equal(written, _in_memory_forecast("chronos-2", sales_files["history"]),
                       check_exact=False, rtol=1e-6, atol=1e-6)
    history = sales_files["history"]
    ids = sorted(history["item_id"].unique())
    inventory = inventory_frame(ids, lead_time_days=4)
    path = tmp_path / "inventory.csv"
    inventory.to_csv(path, index=False)
    assert main(["reorder", "--input", str(sales_files["csv"]), "--inventory", str(path), "--model", "chronos-2",
                 "--output", str(out), "--chunk-items", "6"]) == 0
    expected = InventoryCalculator.reorder(ModelFactory.create("chronos-2"), history, read_inventory_csv(path))
    assert_frame_equal(pd.read_parquet(out), expected, check_exact=False, rtol=1e-5, atol=1e-5)


def _error(capsys) -> str:
    return capsys.readouterr().err.strip()


def test_parquet_input_is_validated_like_csv(tmp_path, capsys):
    """The same rules and messages, with row numbers counted as in the same table written as CSV."""
    frame = pd.DataFrame({"Item ID": ["A"] * 9 + ["B"] * 9, "DATE": [f"2024-01-{d:02d}" for d in range(1, 10)] * 2,
                          "quantity": [1.0] * 18})
    frame.loc[4, "quantity"] = -2.0
    frame.loc[12, "DATE"] = "03/04/2024"
    messages = []
    for suffix in ("csv", "parquet"):
        path = tmp_path / f"bad.{suffix}"
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
        assert main(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7"]) == 2
        messages.append(_error(capsys).replace(str(path), "FILE"))
    assert messages[0] == messages[1]
    assert "negative quantity at row 6" in messages[0] and "ambiguous date with slashes" in messages[0]


def test_repeated_pairs_across_chunks_reject_the_file_as_a_whole_read_does(tmp_path, capsys):
    frame = mixed_sales(seed=3)
    frame = pd.concat([frame, frame.iloc[[5, 400]]], ignore_index=True)  # two repeats, far apart in the file
    path = tmp_path / "repeated.csv"
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as whole:
        read_sales_csv(path)
    out = tmp_path / "never.csv"
    assert main(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7", "--chunk-items", "2",
                 "--output", str(out)]) == 2
    assert _error(capsys) == f"error: {whole.value}"
    assert not out.exists() and not list(tmp_path.glob(".never.csv.*"))


def test_short_items_are_named_as_for_a_whole_file(tmp_path, capsys):
    frame = pd.DataFrame({"item_id": ["B"] * 3 + ["A"] * 30 + ["C"] * 2,
                          "date": list(pd.date_range("2024-01-28", periods=3)) + list(pd.date_range("2024-01-01", periods=30))
                          + list(pd.date_range("2024-01-29", periods=2)), "quantity": 1.0})
    path = tmp_path / "short.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as whole:
        ModelFactory.create("ma7").forecast(read_sales_csv(path), 7)
    assert main(["forecast", "--input", str(path), "--model", "ma7", "--horizon", "7", "--chunk-items", "1"]) == 2
    assert _error(capsys) == f"error: {whole.value}"


# --- database mode ------------------------------------------------------------------------------


@pytest.fixture
def loaded(db_url):
    """A client with the mixed sales (and stock positions for most items) and a neighbour with other data."""
    services = build_services(db_url)
    client = services.data.create_client("Batch Foods").client_id
    services.data.import_sales(client, mixed_sales())
    ids = sorted(mixed_sales()["item_id"].unique())
    inventory = inventory_frame(ids[1:], lead_time_days=6)
    inventory.loc[::4, "lead_time_days"] = 15
    services.data.import_inventory(client, inventory)
    other = services.data.create_client("Other Co").client_id
    services.data.import_sales(other, mixed_sales(5, seed=9))
    return services, client


@pytest.mark.parametrize("model", STATISTICAL)
def test_database_forecast_in_chunks_equals_the_service_and_shares_its_cache(model, loaded, tmp_path):
    services, client = loaded
    out = tmp_path / "forecast.parquet"
    job = BatchJob("forecast", (model,), 14, LEVELS, chunk_items=4)
    outcome = run_database_job(services, client, job, output=out)
    assert not outcome.cached
    ids = services.data.list_items(client)["item_id"].tolist()
    served = services.forecasts.forecast(client, ids, model, 14, LEVELS)
    assert served.cached and served.source_run_id == outcome.run_id  # the batch run answers the service
    batch = pd.read_parquet(out)
    if "covariates" in batch:  # a model that may use a calendar (auto's global member): the file names them
        assert set(batch.pop("covariates")) == {";".join(served.covariates) or "none"}
    assert_frame_equal(batch, served.forecast, check_exact=True)
    computed = services.forecasts.forecast(client, ids[:3] + ids[4:], model, 14, LEVELS)  # another request: computed
    assert_frame_equal(computed.forecast.drop(columns=["chosen_model", "choice"], errors="ignore"),
                       batch.loc[batch["item_id"] != ids[3]].drop(columns=["chosen_model", "choice"], errors="ignore")
                       .reset_index(drop=True), check_exact=True)


def test_database_cli_forecast_is_computed_then_cached(loaded, db_url, tmp_path, capsys):
    services, client = loaded
    outputs = []
    for name in ("first.csv", "second.csv"):
        assert main(["forecast", "--client", "Batch Foods", "--database-url", db_url, "--model", "ma7",
                     "--horizon", "7", "--output", str(tmp_path / name), "--chunk-items", "5"]) == 0
        outputs.append((tmp_path / name).read_bytes())
    err = capsys.readouterr().err.splitlines()
    first, second = int(err[0].split()[1]), int(err[1].split()[1])
    assert "(computed); data as of " in err[0] and "(cached); data as of " in err[1] and err[0].endswith(", daily")
    assert outputs[0] == outputs[1]
    runs = services.data.list_runs(client).set_index("run_id")
    assert runs.loc[second, "source_run_id"] == first and runs.loc[first, "status"] == "succeeded"
    assert runs.loc[first, "n_items"] == services.data.list_items(client)["last_date"].notna().sum()


@pytest.mark.parametrize("model", ["ma7", "auto"])
def test_database_reorder_in_chunks_equals_the_service(model, loaded, tmp_path):
    services, client = loaded
    out = tmp_path / "reorder.parquet"
    outcome = run_database_job(services, client, BatchJob("reorder", (model,), chunk_items=3), output=out)
    expected = services.forecasts.reorder_plan(client, model=model)
    assert_frame_equal(pd.read_parquet(out), expected.table, check_exact=True)
    assert outcome.skipped == expected.skipped
    run = services.data.get_run(client, outcome.run_id)
    assert (run.kind, run.status, run.horizon) == ("reorder", "succeeded", 28)


def test_database_reorder_in_chunks_counts_approved_orders_like_the_service(loaded, tmp_path):
    services, client = loaded
    services.purchasing.propose(client)
    assert services.purchasing.approve(client, None) > 0
    arrivals = services.data.arrivals(client).groupby("item_id")["quantity"].sum()
    out = tmp_path / "reorder.parquet"
    run_database_job(services, client, BatchJob("reorder", ("ma7",), chunk_items=3), output=out)
    expected = services.forecasts.reorder_plan(client, model="ma7").table
    assert_frame_equal(pd.read_parquet(out), expected, check_exact=True)
    table, own = expected.set_index("item_id"), services.data.inventory(client).set_index("item_id")
    assert (table.loc[arrivals.index, "on_order"] == own.loc[arrivals.index, "on_order"] + arrivals).all()


def test_database_backtest_in_chunks_equals_the_service(loaded, tmp_path):
    services, client = loaded
    items = services.data.list_items(client)
    ids = items.loc[items["first_date"] < "2024-05-01", "item_id"].tolist()
    out = tmp_path / "metrics.csv"
    job = BatchJob("backtest", ("ma7", "tsb"), 14, LEVELS, windows=2, chunk_items=2)
    outcome = run_database_job(services, client, job, ids, output=out)
    expected = services.forecasts.backtest(client, ids, "ma7,tsb", 14, 2, LEVELS)
    expected_csv = tmp_path / "expected.csv"
    write_csv(expected.metrics, expected_csv)
    assert out.read_bytes() == expected_csv.read_bytes()
    run = services.data.get_run(client, outcome.run_id)
    assert (run.kind, run.model, run.parameters, run.status) == ("backtest", "ma7,tsb", {"windows": 2}, "succeeded")


def test_a_failing_chunk_is_retried_then_fails_the_run_cleanly(loaded, tmp_path):
    from tests.support.batch import NAME, FailingModel

    services, client = loaded
    attempts = tmp_path / "attempts.txt"
    ModelFactory.register(lambda: FailingModel(attempts, ("SKU-010",)), name=NAME, label="Failing (test)")
    try:
        out = tmp_path / "forecast.csv"
        with pytest.raises(ForecastingError) as failed:
            run_database_job(services, client, BatchJob("forecast", (NAME,), 7, LEVELS, chunk_items=4), output=out)
        assert "chunk 3 (items SKU-008 to SKU-011, 4 items) failed after 3 attempt(s)" in str(failed.value)
        assert "RuntimeError: worker failure on SKU-010" in str(failed.value)
        assert attempts.read_text().splitlines() == ["SKU-010"] * 3
        assert not out.exists()
        runs = services.data.list_runs(client)
        assert runs.loc[0, "status"] == "failed" and "chunk 3" in runs.loc[0, "error"]
        with services.database.read() as conn:
            stored = conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM forecast_results WHERE run_id = {int(runs.loc[0, 'run_id'])}").scalar_one()
        assert stored == 0  # the chunks that had finished are gone with the run

        attempts.unlink()  # a worker that fails once: the retry succeeds and nothing of the failure shows
        ModelFactory.register(lambda: FailingModel(attempts, ("SKU-010",), failures=1), name=NAME, label="x")
        outcome = run_database_job(services, client, BatchJob("forecast", (NAME,), 7, LEVELS, chunk_items=4),
                                   output=out)
        assert attempts.read_text().splitlines() == ["SKU-010"] * 2
        assert services.data.get_run(client, outcome.run_id).status == "succeeded"
        ma7 = run_database_job(services, client, BatchJob("forecast", ("ma7",), 7, LEVELS), output=tmp_path / "m.csv")
        assert not ma7.cached
        assert_frame_equal(pd.read_csv(out).drop(columns="model"), pd.read_csv(tmp_path / "m.csv").drop(columns="model"))
    finally:
        ModelFactory.unregister(NAME)


def test_bad_input_fails_at_once_without_retries(tiny_chronos_dir, loaded, tmp_path):
    services, client = loaded
    with pytest.raises(ForecastingError, match=r"^chunk 1 .* failed after 1 attempt\(s\): quantile level\(s\) 0.001"):
        run_database_job(services, client, BatchJob("forecast", ("chronos-2",), 7, (0.001,)), output=tmp_path / "x")
    assert services.data.list_runs(client).loc[0, "status"] == "failed"


def test_run_records_item_list_like_the_service(loaded, tmp_path):
    services, client = loaded
    outcome = run_database_job(services, client, BatchJob("forecast", ("ma7",), 7, LEVELS, chunk_items=2),
                               ["SKU-004", "SKU-001", "SKU-002"], output=tmp_path / "f.csv")
    run = services.data.get_run(client, outcome.run_id)
    assert run.item_ids == ("SKU-001", "SKU-002", "SKU-004")
    with services.database.read() as conn:
        stored = conn.exec_driver_sql(f"SELECT item_ids FROM forecast_runs WHERE id = {outcome.run_id}").scalar_one()
    assert json.loads(stored) == list(run.item_ids)
    assert services.forecasts.forecast(client, ["SKU-002", "SKU-001", "SKU-004"], "ma7", 7, LEVELS).cached
