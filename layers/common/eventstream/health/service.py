"""The health report: one entry per dependency in `checks`, 503 as soon as one is failing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eventstream.config import get_settings
from eventstream.observability.powertools import subsegment

HealthCheck = Callable[[], None]  # returns when healthy, raises when not

OK = "ok"
UNAVAILABLE = "unavailable"


def database_check() -> None:
    from eventstream.db.connection import execute

    # The connect timeout bounds the query too: a health check must answer quickly either way.
    execute("SELECT 1", timeout_s=get_settings().db_connect_timeout_s)


DEFAULT_CHECKS: dict[str, HealthCheck] = {"database": database_check}


def core_checks() -> dict[str, HealthCheck]:
    """One ping per node of CORE_NODES, named core.<position> (addresses stay private)."""
    import os

    if not os.environ.get("CORE_NODES", "").strip():
        return {}
    from eventstream.events.core_client import get_client

    client = get_client()

    def ping(node: str) -> HealthCheck:
        return lambda: client.ping(node) and None

    return {f"core.{i}": ping(node) for i, node in enumerate(client.nodes)}


def failure_reason(error: BaseException) -> str:
    """A short reason that is safe on a public endpoint: no hosts, users or SQL."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(error, TimeoutError):
        return "timeout"
    return type(error).__name__


def check_health(
    checks: Mapping[str, HealthCheck] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run every check; (200, report) when all pass, else (503, report naming what failed)."""
    results: dict[str, str] = {}
    if checks is None:
        checks = {**DEFAULT_CHECKS, **core_checks()}
    for name, check in checks.items():
        try:
            with subsegment(f"health.{name}"):
                check()
        except Exception as e:
            results[name] = f"{UNAVAILABLE}: {failure_reason(e)}"
        else:
            results[name] = OK
    healthy = all(result == OK for result in results.values())
    body = {
        "status": OK if healthy else UNAVAILABLE,
        "version": get_settings().version,
        "checks": results,
    }
    return (200 if healthy else 503), body
