"""The health check on a real Postgres: ok, unavailable while it is down, ok again after."""

from __future__ import annotations

import pytest

from eventstream.db.credentials import DbCredentials
from eventstream.health.service import check_health
from localcloud.postgres import EmbeddedPostgres


@pytest.fixture
def db(clean_eventstream: pytest.MonkeyPatch, running_postgres: EmbeddedPostgres) -> DbCredentials:
    clean_eventstream.setenv("DATABASE_URL", running_postgres.credentials.to_url())
    clean_eventstream.setenv("EVENTSTREAM_VERSION", "1.2.3-test")
    clean_eventstream.setenv("DB_CONNECT_TIMEOUT_S", "1")
    return running_postgres.credentials


def test_ok_then_unavailable_naming_the_database_then_ok(
    db: DbCredentials, running_postgres: EmbeddedPostgres
) -> None:
    assert check_health() == (
        200,
        {"status": "ok", "version": "1.2.3-test", "checks": {"database": "ok"}},
    )
    running_postgres.stop()
    status, body = check_health()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unavailable: ")
    running_postgres.start()
    assert check_health()[0] == 200


def test_no_database_configured_is_503_not_a_crash(
    clean_eventstream: pytest.MonkeyPatch,
) -> None:
    status, body = check_health()
    assert status == 503
    assert body["checks"] == {"database": "unavailable: no credentials"}
