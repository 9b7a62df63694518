"""Settings of the dashboard: the login cookie key (docs/security.md), upload limits, defaults.

The cookie key signs the login cookie, so it decides who can forge a login.
It comes from ``$FORECASTING_COOKIE_KEY``, else ``cookie_key`` in
``.streamlit/secrets.toml``. With ``FORECASTING_ENV=production`` the app
refuses to start without one. In development a random key is generated once
and kept in ``data/.cookie_key`` (git-ignored), and the log says so, so that
logins survive restarts without anyone committing a key.

``python -m app.config`` checks this before the server starts (exit 2 with
the reason when the app would refuse to start), for the run script.
"""
from __future__ import annotations

import logging
import os
import secrets
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from forecasting.core.errors import ForecastingError
from forecasting.io import uploads as upload_files

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
COOKIE_KEY_ENV = "FORECASTING_COOKIE_KEY"
ENVIRONMENT_ENV = "FORECASTING_ENV"
DEV_KEY_FILE = PROJECT_ROOT / "data" / ".cookie_key"
MIN_KEY_BYTES = 32
PLACEHOLDER_PREFIX = "replace-with"

COOKIE_NAME = "forecasting_login"
COOKIE_EXPIRY_DAYS = 7.0

#: megabytes per uploaded file: ``server.maxUploadSize`` of .streamlit/config.toml (Streamlit's uploader states and
#: enforces it, the app checks it again, the API's sales upload takes the same), stated once
MAX_UPLOAD_MB = upload_files.upload_limit_mb()
MAX_UPLOAD_ROWS = upload_files.MAX_UPLOAD_ROWS

DEFAULT_HORIZON = 28
DEFAULT_BANDS = (50, 80)
BAND_CHOICES = (50, 80, 90, 95)
TOP_N_CHOICES = (5, 10, 20, 50)

log = logging.getLogger(__name__)


class ConfigurationError(ForecastingError):
    """The app is not configured to run safely (e.g. no cookie key in production)."""


@dataclass(frozen=True)
class CookieKey:
    value: str
    #: where it came from, for the log (never the key itself)
    source: str


def is_production() -> bool:
    return os.environ.get(ENVIRONMENT_ENV, "").strip().lower() == "production"


def cookie_key(secrets_store: Mapping[str, object] | None = None, dev_key_file: Path = DEV_KEY_FILE) -> CookieKey:
    """The login cookie key: environment, then secrets, then (development only) the generated file."""
    from_env = os.environ.get(COOKIE_KEY_ENV, "").strip()
    if from_env:
        return CookieKey(_checked(from_env, f"${COOKIE_KEY_ENV}"), f"${COOKIE_KEY_ENV}")
    from_secrets = str((secrets_store or {}).get("cookie_key", "") or "").strip()
    if from_secrets:
        return CookieKey(_checked(from_secrets, "cookie_key in .streamlit/secrets.toml"), ".streamlit/secrets.toml")
    if is_production():
        raise ConfigurationError(
            f"{ENVIRONMENT_ENV}=production needs a login cookie key: set ${COOKIE_KEY_ENV} or cookie_key in "
            f".streamlit/secrets.toml to at least {MIN_KEY_BYTES} random bytes, e.g. the output of "
            "python -c \"import secrets; print(secrets.token_hex(32))\""
        )
    return CookieKey(_dev_key(dev_key_file), str(dev_key_file))


def _checked(key: str, where: str) -> str:
    if key.startswith(PLACEHOLDER_PREFIX):
        raise ConfigurationError(f"{where} still holds the example placeholder; generate a real key")
    if len(key.encode("utf-8")) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"{where} is too short: the login cookie key needs at least {MIN_KEY_BYTES} random bytes "
            "(e.g. 64 hex characters from secrets.token_hex(32))"
        )
    return key


def _dev_key(path: Path) -> str:
    """Read the development key, creating it (0600, atomically: first writer wins) when missing."""
    try:
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(MIN_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    log.warning(
        "development mode: generated a login cookie key in %s (git-ignored). In production set %s=production "
        "and %s or cookie_key in .streamlit/secrets.toml.",
        path, ENVIRONMENT_ENV, COOKIE_KEY_ENV,
    )
    return key


def main() -> int:
    """Print where the cookie key comes from, or why the app would refuse to start (exit code 2)."""
    try:
        store = tomllib.loads(SECRETS_FILE.read_text(encoding="utf-8")) if SECRETS_FILE.exists() else {}
        key = cookie_key(store)
    except (ConfigurationError, tomllib.TOMLDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"login cookie key from {key.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
