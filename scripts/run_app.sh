#!/usr/bin/env bash
# The run command of the README: from a fresh machine to the dashboard on the embedded SQLite database
# (data/app.db) with the demo clients loaded. Set DATABASE_URL to use another database.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv requirements.txt
"$PY" -m app.config          # exits 2 with the reason when production mode has no cookie key
"$PY" -m forecasting init    # schema migrations
if [ "${FORECASTING_ENV:-}" != production ]; then
  "$PY" -m forecasting load-demo   # idempotent; prints the demo logins
fi
PORT="${PORT:-8501}"
echo
echo "Dashboard: http://localhost:$PORT  (log in with a demo login above)"
exec "$PY" -m streamlit run app/main.py --server.port "$PORT" --server.address "${ADDRESS:-0.0.0.0}"
