"""API settings from the environment: the JWT signing secret, token lifetime, production mode.

- ``FORECASTING_JWT_SECRET``: signs access tokens; at least 32 bytes (e.g.
  ``python -c "import secrets; print(secrets.token_urlsafe(48))"``). Required
  when ``FORECASTING_ENV=production``: the API refuses to start without it.
  Elsewhere a random secret is made for the process (and a warning logged), so
  tokens stop working when the process restarts and are not shared by workers.
- ``FORECASTING_JWT_MINUTES``: access token lifetime, 1 to 1440 (default 15).
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from forecasting.core.errors import ForecastingError

SECRET_VARIABLE = "FORECASTING_JWT_SECRET"
MODE_VARIABLE = "FORECASTING_ENV"
MINUTES_VARIABLE = "FORECASTING_JWT_MINUTES"
MIN_SECRET_BYTES = 32
DEFAULT_TOKEN_MINUTES = 15
MAX_TOKEN_MINUTES = 24 * 60

log = logging.getLogger("forecasting.api")


class ConfigurationError(ForecastingError):
    """The API cannot start with this configuration (the message says which variable to set)."""


@dataclass(frozen=True)
class ApiSettings:
    jwt_secret: str
    token_lifetime: timedelta = timedelta(minutes=DEFAULT_TOKEN_MINUTES)
    production: bool = False
    #: True when no secret was configured and a random one was made for this process
    secret_generated: bool = False

    def __post_init__(self) -> None:
        if len(self.jwt_secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"{SECRET_VARIABLE} must be at least {MIN_SECRET_BYTES} bytes long; make one with "
                "python -c \"import secrets; print(secrets.token_urlsafe(48))\""
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Settings from ``env`` (default ``os.environ``); see the module docstring."""
        env = os.environ if env is None else env
        production = env.get(MODE_VARIABLE, "").strip().lower() == "production"
        secret = env.get(SECRET_VARIABLE, "")
        minutes = _minutes(env.get(MINUTES_VARIABLE, ""))
        if secret:
            return cls(secret, timedelta(minutes=minutes), production)
        if production:
            raise ConfigurationError(
                f"{MODE_VARIABLE}=production but {SECRET_VARIABLE} is not set: refusing to start "
                "(set it to at least 32 random bytes, the same value for every API process)"
            )
        log.warning(
            "%s is not set: signing tokens with a random secret made for this process "
            "(tokens end with the process and are not shared between workers; set it in production)",
            SECRET_VARIABLE,
        )
        return cls(secrets.token_urlsafe(48), timedelta(minutes=minutes), production, secret_generated=True)


def _minutes(text: str) -> int:
    if not text.strip():
        return DEFAULT_TOKEN_MINUTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_TOKEN_MINUTES:
        raise ConfigurationError(
            f"{MINUTES_VARIABLE} must be a whole number from 1 to {MAX_TOKEN_MINUTES}, got {text!r}"
        )
    return value
