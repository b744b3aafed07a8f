"""Postgres goes away under a node: publishes are refused, never acked; service resumes after."""

from __future__ import annotations

import time

import pytest

from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, CoreUnavailable
from localcloud.postgres import EmbeddedPostgres
from tests.integration.core.conftest import query


def test_no_ack_without_the_database_and_service_after_it_returns(
    start_core, core_database: DbCredentials, running_postgres: EmbeddedPostgres
) -> None:
    nodes = start_core(1)
    client = CoreClient(nodes.addresses, request_timeout_s=5, retries=1)
    client.publish("outage/t", {"i": 0}, idempotency_key="k0")
    running_postgres.stop()
    with pytest.raises(CoreUnavailable, match="database cannot commit"):
        client.publish("outage/t", {"i": 1}, idempotency_key="k1")
    stats = next(iter(client.stats().values()))
    assert stats["errors"]["unavailable"] >= 1
    running_postgres.start()
    deadline = time.monotonic() + 20
    while True:  # the writers reconnect with a backoff of at most a second
        try:
            result = client.publish("outage/t", {"i": 1}, idempotency_key="k1")
            break
        except CoreUnavailable:
            assert time.monotonic() < deadline, "the node never reconnected"
            time.sleep(0.2)
    assert not result.duplicate
    assert query(core_database, "SELECT idempotency_key FROM events ORDER BY seq") == [
        ["k0"],
        ["k1"],
    ]
    client.close()
