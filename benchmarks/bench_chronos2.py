"""Chronos-2 benchmark: our model class against chronos' own predict_df, in one run.

A random-weight model of the released size (d_model 768, d_ff 3072, 12
layers, 12 heads, d_kv 64; about 120M parameters) is built in a child process
and saved to a temporary folder. The same synthetic data (256 items x 512 days,
horizon 28, levels 0.1/0.5/0.9, same batch size) goes through
``ModelFactory.create("chronos-2").forecast`` (frame in, forecast frame out) and
through ``Chronos2Pipeline.predict_df`` on the same loaded pipeline; timings
alternate and each is the best of a few repeats. Reported: both times and
their ratio (target <= 1.10), each path's time outside the model's forward
passes (its own overhead; the totals move with other load on the machine), our
items/second in float32 and bfloat16, and peak memory of this process (target
< 3 GB). Results go to stdout and
benchmarks/results/chronos2.txt.

    python benchmarks/bench_chronos2.py [--items 256] [--days 512] [--batch-size 64] [--repeat 3] [--results F]

``CHRONOS_DEVICE`` picks the device as in the product (``bench_chronos2_gpu.sh`` sets cuda).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_core import synthetic_sales  # noqa: E402  (same folder: the same synthetic data)
from benchmarks.report import publish  # noqa: E402
from forecasting.modes.factory import ModelFactory  # noqa: E402
from forecasting.modes.ml.loading import get_pipeline  # noqa: E402

HORIZON = 28
LEVELS = [0.1, 0.5, 0.9]


def build_released_size(folder: Path) -> None:
    """In a child process, so that building does not count in this process's peak memory."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1])\n"
        "from tests.support.chronos import RELEASED, build_chronos2\n"
        "build_chronos2(Path(sys.argv[2]), **RELEASED)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(ROOT), str(folder)], check=True, capture_output=True)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def forward_time(pipeline):
    """Seconds spent inside ``pipeline.predict`` (the model's forward passes, which both paths call).

    Total minus this is each path's own overhead: a figure that other load on
    the machine barely moves, unlike the totals.
    """
    inner, spent = pipeline.predict, [0.0]

    def predict(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    pipeline.predict = predict
    try:
        yield spent
    finally:
        del pipeline.predict


def measure(fn, pipeline) -> tuple[float, float]:
    """(total seconds, seconds outside the forward passes) of one call."""
    with forward_time(pipeline) as spent:
        total = timed(fn)
    return total, total - spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--days", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", default="chronos2.txt", help="file name under benchmarks/results")
    args = parser.parse_args()

    sales = synthetic_sales(args.items, args.days)
    model = ModelFactory.create("chronos-2")
    lines = [f"data: {args.items} items x {args.days} days, horizon {HORIZON}, batch size {args.batch_size}, "
             f"best of {args.repeat}"]
    with tempfile.TemporaryDirectory(prefix="chronos2-bench-") as tmp:
        start = time.perf_counter()
        build_released_size(Path(tmp))
        lines.append(f"random-weight model of the released size built in {time.perf_counter() - start:.1f} s")
        os.environ.update(CHRONOS_MODEL=tmp, CHRONOS_BATCH_SIZE=str(args.batch_size), CHRONOS_DTYPE="float32")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

        batch = sales.head(args.days * args.batch_size)
        load_s = timed(lambda: model.forecast(batch, HORIZON, LEVELS))  # imports, load, warm-up
        pipeline = get_pipeline()

        def peer_forecast(frame: pd.DataFrame) -> pd.DataFrame:
            return pipeline.predict_df(
                frame, id_column="item_id", timestamp_column="date", target="quantity",
                prediction_length=HORIZON, quantile_levels=LEVELS, batch_size=args.batch_size,
            )

        peer_forecast(batch)  # warm-up
        import torch

        lines.append(f"device {pipeline.model.device}, torch threads {torch.get_num_threads()}, "
                     f"first forecast (imports, load, one batch) {load_s:.1f} s")
        ours, peer = [], []
        for r in range(args.repeat):  # alternate which goes first, so drift and warm caches hit both alike
            runs = [(ours, lambda: model.forecast(sales, HORIZON, LEVELS)), (peer, lambda: peer_forecast(sales))]
            for times, fn in runs[:: 1 if r % 2 == 0 else -1]:
                times.append(measure(fn, pipeline))
        ours_s, peer_s = min(t for t, _ in ours), min(t for t, _ in peer)
        ours_o, peer_o = min(o for _, o in ours), min(o for _, o in peer)
        lines += [
            f"ours  ModelFactory chronos-2 forecast  float32  {ours_s:8.2f} s  {args.items / ours_s:8.1f} items/s"
            f"  (outside the forward passes {ours_o:.3f} s)",
            f"peer  Chronos2Pipeline.predict_df      float32  {peer_s:8.2f} s  {args.items / peer_s:8.1f} items/s"
            f"  (outside the forward passes {peer_o:.3f} s)",
            f"ratio ours / peer                               {ours_s / peer_s:8.3f}    (target <= 1.10)",
        ]

        os.environ["CHRONOS_DTYPE"] = "bfloat16"
        pipeline = None  # release the float32 pipeline before loading bfloat16
        model.forecast(batch, HORIZON, LEVELS)  # load bfloat16, warm-up
        bf16_s = min(timed(lambda: model.forecast(sales, HORIZON, LEVELS)) for _ in range(args.repeat))
        lines.append(f"ours  ModelFactory chronos-2 forecast  bfloat16 {bf16_s:8.2f} s  "
                     f"{args.items / bf16_s:8.1f} items/s")
        if torch.cuda.is_available() and torch.cuda.max_memory_allocated():
            gpu_mb = torch.cuda.max_memory_allocated() / 2**20
            lines.append(f"peak GPU memory (torch allocated)               {gpu_mb:8.0f} MB")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"peak memory (max RSS)                           {peak_mb:8.0f} MB  (target < 3072 MB)")

    publish(lines, args.results)


if __name__ == "__main__":
    main()
