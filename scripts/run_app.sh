#!/usr/bin/env bash
# The run command of the README: from a fresh machine to the dashboard on the embedded SQLite database.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv requirements.txt
PORT="${PORT:-8501}"
echo "Open http://localhost:$PORT" >&2
exec "$PY" -m streamlit run app/main.py --server.port "$PORT" --server.address "${ADDRESS:-0.0.0.0}"
