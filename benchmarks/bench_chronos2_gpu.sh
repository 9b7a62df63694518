#!/usr/bin/env bash
# Chronos-2 benchmark on a GPU: bench_chronos2.py with CHRONOS_DEVICE=cuda (items/second in
# float32 and bfloat16, ratio to predict_df, peak GPU and host memory). Figures go to stdout and
# benchmarks/results/chronos2_gpu.txt. Extra arguments go to bench_chronos2.py, e.g.
#   benchmarks/bench_chronos2_gpu.sh --items 4096 --batch-size 256
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PY" ]; then PY=python3; fi
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "error: PyTorch sees no CUDA GPU here; for CPU figures run: $PY benchmarks/bench_chronos2.py" >&2
    exit 1
fi
"$PY" -c 'import torch; print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__)'
CHRONOS_DEVICE=cuda exec "$PY" benchmarks/bench_chronos2.py --results chronos2_gpu.txt "$@"
