"""The health report's shape, with checks that pass or fail on demand (no database here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventstream.config import reset_settings
from eventstream.db.connection import DatabaseUnavailableError
from eventstream.health.service import check_health, failure_reason


@pytest.fixture(autouse=True)
def version(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EVENTSTREAM_VERSION", "9.9.9")
    reset_settings()
    yield
    reset_settings()


def ok() -> None:
    return None


def refused() -> None:
    raise DatabaseUnavailableError("connection refused", "10.0.0.5:5432")


def test_all_checks_pass() -> None:
    assert check_health({"database": ok, "core": ok}) == (
        200,
        {"status": "ok", "version": "9.9.9", "checks": {"database": "ok", "core": "ok"}},
    )


def test_one_failing_check_makes_it_503_and_is_named() -> None:
    status, body = check_health({"database": refused, "core": ok})
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "unavailable: connection refused", "core": "ok"}


def test_the_reason_never_shows_the_host() -> None:
    _, body = check_health({"database": refused})
    assert "10.0.0.5" not in str(body)


def test_failure_reason_of_other_errors_is_their_kind() -> None:
    assert failure_reason(TimeoutError("read timed out")) == "timeout"
    assert failure_reason(RuntimeError("secret: password=x")) == "RuntimeError"
