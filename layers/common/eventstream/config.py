"""Settings read once from the environment, as Lambda sets it from the template."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from eventstream import __version__


class ConfigError(ValueError):
    """An environment variable with a value the service cannot use; the message names it."""


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    stage: str
    version: str
    db_secret_arn: str | None
    database_url: str | None
    db_connect_timeout_s: float
    db_secret_max_age_s: int
    db_host: str | None  # RDS Proxy's endpoint on AWS: connect there, not to the secret's host
    token_issuer: str
    token_audience: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            stage=env.get("STAGE") or "dev",
            version=env.get("EVENTSTREAM_VERSION") or __version__,
            db_secret_arn=env.get("DB_SECRET_ARN") or None,
            database_url=env.get("DATABASE_URL") or None,
            db_connect_timeout_s=_number(env, "DB_CONNECT_TIMEOUT_S", 2.0),
            db_secret_max_age_s=int(_number(env, "DB_SECRET_MAX_AGE_S", 300)),
            db_host=env.get("DB_HOST") or None,
            token_issuer=env.get("TOKEN_ISSUER") or "eventstream",
            token_audience=env.get("TOKEN_AUDIENCE") or "eventstream-api",
        )


@functools.cache
def get_settings() -> Settings:
    """The process's settings; the environment of a Lambda does not change after init."""
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests that change the environment)."""
    get_settings.cache_clear()
