# Shared set-up steps for scripts/run_app.sh, scripts/test.sh and .ci/run (sourced, not run).
# Everything here is idempotent: a second run only checks and returns.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

# ensure_venv REQUIREMENTS_FILE: create .venv and install pinned packages when they changed.
# It says "Installing" only when something is missing (a changed requirements file whose pins are all
# installed, or the other script's file, installs nothing and says nothing).
ensure_venv() {
  local req="$1" stamp
  if [ ! -x "$PY" ]; then
    echo "Creating virtual environment in $VENV" >&2
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$ROOT/$req" "$ROOT/requirements.txt" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    if requirements_missing "$ROOT/$req"; then
      echo "Installing $req (first run takes a few minutes)" >&2
      "$PY" -m pip install --quiet --upgrade pip
      # torch is pinned to 2.13.0: the CPU build on this machine's disk (anything else pulls several GB)
      "$PY" -m pip install --quiet -r "$ROOT/$req" -c "$ROOT/constraints.txt"
    fi
    if ! "$PY" -m pip show --quiet forecasting >/dev/null 2>&1; then
      "$PY" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
    fi
    touch "$stamp"
  fi
}

# requirements_missing FILE: true when pip would install something for FILE (or cannot tell, e.g. no pip yet).
requirements_missing() {
  local report
  report="$("$PY" -m pip install --dry-run --quiet --report - -r "$1" -c "$ROOT/constraints.txt" 2>/dev/null)" || return 0
  ! printf '%s' "$report" | "$PY" -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["install"] == [] else 1)'
}

# ensure_postgres: start the local PostgreSQL cluster when it is installed but not answering.
ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    return 0
  fi
  if [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && return 0
      sleep 1
    done
  fi
  echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; PostgreSQL tests will fail" >&2
}

# ensure_chromium: Debian's Chromium and ChromeDriver for the browser tests (never `playwright install`).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  echo "Installing Debian's chromium for the browser tests" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}
