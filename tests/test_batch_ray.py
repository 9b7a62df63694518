"""The Ray engine on a real local cluster of 2 CPUs: the same results and run records as in process, and retries.

One cluster serves the module (starting one takes seconds); workers import
this checkout from the working directory, as on a cluster where the project
is installed on every node.
"""
from __future__ import annotations

import sys

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from forecasting.batch.plan import BatchJob
from forecasting.batch.runner import run_database_job
from forecasting.cli import main
from forecasting.core.errors import ForecastingError
from forecasting.modes.factory import ModelFactory
from forecasting.services.container import build_services
from tests.test_batch import LEVELS, mixed_sales

ray = pytest.importorskip("ray")

#: what a run record holds besides its identity, time and duration
RECORD = ("kind", "model", "model_version", "horizon", "quantiles", "parameters", "item_ids", "status", "cached",
          "error", "data_fingerprint", "cache_key")


@pytest.fixture(scope="module")
def cluster(tiny_chronos_dir):
    """A local Ray cluster of 2 CPUs (started after CHRONOS_MODEL is set, so its workers see the tiny model).

    Chronos-2 runs on one torch thread here as in the workers (a Ray actor of one CPU gets one thread):
    float sums over another number of threads differ in the last bits.
    """
    import torch

    from forecasting.modes.ml.loading import reset_pipeline

    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHRONOS_THREADS", "1")
        reset_pipeline()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        yield
        ray.shutdown()
    reset_pipeline()
    torch.set_num_threads(threads)


def test_ray_is_imported_only_for_its_engine(tmp_path):
    import subprocess

    code = ("import sys; from forecasting.cli import main; "
            f"main(['forecast', '--input', {str(tmp_path / 'none.csv')!r}, '--model', 'ma7', '--horizon', '7']); "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("model", ["ma7", "auto", "chronos-2"])
def test_file_job_on_ray_equals_in_process(model, cluster, tmp_path):
    sales = tmp_path / "sales.parquet"
    mixed_sales().to_parquet(sales, index=False)
    outputs = {}
    for engine in ("local", "ray"):
        outputs[engine] = tmp_path / f"{engine}.parquet"
        assert main(["forecast", "--input", str(sales), "--model", model, "--horizon", "14", "--output",
                     str(outputs[engine]), "--chunk-items", "5", "--engine", engine]) == 0
    assert_frame_equal(pd.read_parquet(outputs["ray"]), pd.read_parquet(outputs["local"]), check_exact=True)


def test_database_job_on_ray_gives_the_same_results_and_run_records(cluster, db_url, tmp_path):
    services = build_services(db_url)
    clients = [services.data.create_client(name).client_id for name in ("On Ray", "In Process")]
    for client in clients:
        services.data.import_sales(client, mixed_sales())
    job = BatchJob("forecast", ("auto",), 14, LEVELS, chunk_items=4)
    outcomes = [run_database_job(services, client, job, output=tmp_path / f"{engine}.csv", engine=engine)
                for client, engine in zip(clients, ("ray", "local"))]
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    runs = [services.data.get_run(c, o.run_id) for c, o in zip(clients, outcomes)]
    assert [getattr(runs[0], f) for f in RECORD] == [getattr(runs[1], f) for f in RECORD]
    assert runs[0].status == "succeeded"
    stored = [services.data.run_forecast(c, o.run_id)[1] for c, o in zip(clients, outcomes)]
    assert_frame_equal(stored[0], stored[1], check_exact=True)
    again = run_database_job(services, clients[0], job, output=tmp_path / "again.csv", engine="ray")
    assert again.cached and (tmp_path / "again.csv").read_bytes() == (tmp_path / "ray.csv").read_bytes()


def test_a_chunk_failing_on_ray_workers_is_retried_then_fails_the_run(cluster, db_url, tmp_path):
    from tests.support.batch import NAME, FailingModel

    services = build_services(db_url)
    client = services.data.create_client("Flaky").client_id
    services.data.import_sales(client, mixed_sales())
    attempts = tmp_path / "attempts.txt"
    ModelFactory.register(lambda: FailingModel(attempts, ("SKU-013",)), name=NAME, label="Failing (test)")
    try:
        out = tmp_path / "forecast.csv"
        with pytest.raises(ForecastingError, match=r"chunk 4 \(items SKU-012 to SKU-015, 4 items\) failed after "
                                                   r"3 attempt\(s\): RuntimeError: worker failure on SKU-013"):
            run_database_job(services, client, BatchJob("forecast", (NAME,), 7, LEVELS, chunk_items=4), output=out,
                             engine="ray")
        assert attempts.read_text().splitlines() == ["SKU-013"] * 3
        assert not out.exists()
        run = services.data.list_runs(client).iloc[0]
        assert run["status"] == "failed" and "chunk 4" in run["error"]
        with services.database.read() as conn:
            stored = conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM forecast_results WHERE run_id = {int(run['run_id'])}").scalar_one()
        assert stored == 0
    finally:
        ModelFactory.unregister(NAME)
