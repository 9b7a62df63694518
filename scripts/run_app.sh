#!/usr/bin/env bash
# The run command of the README: from a fresh machine to the dashboard on the embedded SQLite database
# (data/app.db) with the demo clients loaded. Set DATABASE_URL to use another database.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv requirements.txt
# schema migrations + demo data (idempotent: a second start only checks)
"$PY" -m forecasting load-demo
PORT="${PORT:-8501}"
echo
echo "Dashboard: http://localhost:$PORT  (demo logins above)"
exec "$PY" -m streamlit run app/main.py --server.port "$PORT" --server.address "${ADDRESS:-0.0.0.0}"
