#!/usr/bin/env bash
# The test command of the README: sets up everything the tests need, then runs pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k backtest).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt
ensure_postgres
ensure_chromium
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/test}"
exec "$PY" -m pytest "$@"
