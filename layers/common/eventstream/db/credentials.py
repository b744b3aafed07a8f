"""Where the database is and how to log in: an RDS-format secret, or a DATABASE_URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from eventstream.config import get_settings

DEFAULT_PORT = 5432
DEFAULT_DBNAME = "postgres"


class CredentialsError(Exception):
    """No usable database credentials; the message says which source failed and why."""


@dataclass(frozen=True)
class DbCredentials:
    host: str
    port: int
    username: str
    password: str = field(repr=False)  # never in logs or tracebacks
    dbname: str = DEFAULT_DBNAME

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> DbCredentials:
        """Read the JSON that RDS (and the local cloud) store in Secrets Manager."""
        missing = [k for k in ("host", "username", "password") if not secret.get(k)]
        if missing:
            raise CredentialsError(f"database secret lacks {', '.join(missing)}")
        engine = secret.get("engine")
        if engine and "postgres" not in str(engine):
            raise CredentialsError(f"database secret is for engine {engine!r}, not postgres")
        return cls(
            host=str(secret["host"]),
            port=_port(secret.get("port"), "database secret"),
            username=str(secret["username"]),
            password=str(secret["password"]),
            dbname=str(secret.get("dbname") or DEFAULT_DBNAME),
        )

    def to_secret(self) -> dict[str, Any]:
        return {
            "engine": "postgres",
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "dbname": self.dbname,
        }

    @classmethod
    def from_url(cls, url: str) -> DbCredentials:
        """postgresql://user:password@host:port/dbname, percent-encoded as libpq reads it."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as e:
            raise CredentialsError(f"DATABASE_URL does not parse: {e}") from None
        if parts.scheme not in ("postgres", "postgresql"):
            raise CredentialsError(
                f"DATABASE_URL must start with postgresql://, got {parts.scheme or 'no'} scheme"
            )
        if not parts.hostname or not parts.username:
            raise CredentialsError("DATABASE_URL must name a user and a host")
        return cls(
            host=parts.hostname,
            port=port or DEFAULT_PORT,
            username=unquote(parts.username),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")) or DEFAULT_DBNAME,
        )

    def to_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            f"postgresql://{quote(self.username, safe='')}:{quote(self.password, safe='')}"
            f"@{host}:{self.port}/{quote(self.dbname, safe='')}"
        )


def _port(value: Any, source: str) -> int:
    if value in (None, ""):
        return DEFAULT_PORT
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise CredentialsError(f"{source}: port {value!r} is not a number") from None
    if not 0 < port < 65536:
        raise CredentialsError(f"{source}: port {port} is out of range")
    return port


def load_credentials(*, force_fetch: bool = False) -> DbCredentials:
    """The credentials this process should use: DB_SECRET_ARN first, as on AWS, else DATABASE_URL.

    force_fetch bypasses Powertools' cache, for after a login failed (a rotated password).
    """
    settings = get_settings()
    if settings.db_secret_arn:
        from eventstream.secrets import SecretError, json_secret

        try:
            secret = json_secret(
                settings.db_secret_arn,
                max_age_s=settings.db_secret_max_age_s,
                force_fetch=force_fetch,
            )
        except SecretError as e:
            raise CredentialsError(str(e)) from e
        creds = DbCredentials.from_secret(secret)
        # The secret names the instance (rotation needs it); clients go through the proxy.
        return replace(creds, host=settings.db_host) if settings.db_host else creds
    if settings.database_url:
        return DbCredentials.from_url(settings.database_url)
    raise CredentialsError(
        "no database configured: set DB_SECRET_ARN (a Secrets Manager secret in the RDS format) "
        "or DATABASE_URL (postgresql://user:password@host:port/dbname)"
    )
