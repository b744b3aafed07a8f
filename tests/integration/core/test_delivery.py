"""Webhook delivery on a real Postgres to a real HTTP receiver that checks every signature with
the reference `standardwebhooks` package: once, in order, retried, failed, shared by two nodes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pg8000.native import Connection

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, Event
from eventstream.subscriptions import service
from eventstream_core.delivery import DeliverySettings, DeliveryWorker, PublicResolver
from tests.integration.core.webhook_receiver import WebhookReceiver
from tests.integration.eventstream.subscriptions.conftest import new_user, publish

FAST = DeliverySettings(
    schedule=(0, 0.05, 0.1), timeout_s=5, concurrency=8, poll_s=0.05, allow_private=True
)


@pytest.fixture
def db(core_database: DbCredentials, clean_eventstream: pytest.MonkeyPatch) -> DbCredentials:
    clean_eventstream.setenv("DATABASE_URL", core_database.to_url())
    clean_eventstream.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
    return core_database


@pytest.fixture
def conn(db: DbCredentials) -> Iterator[Connection]:
    c = connect(db)
    yield c
    c.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def workers(db: DbCredentials) -> Iterator[Callable[..., DeliveryWorker]]:
    started: list[DeliveryWorker] = []

    def start(settings: DeliverySettings = FAST, node_id: str = "node-a") -> DeliveryWorker:
        worker = DeliveryWorker(lambda: db, node_id, settings)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def subscribe(conn: Connection, receiver: WebhookReceiver, pattern: str, path: str) -> dict:
    user = new_user(conn, (pattern, "subscribe"))
    sub = service.create(user, pattern, {"webhook_url": receiver.url(path)})
    receiver.secrets[path] = sub["signing_secret"]
    return sub


def wait_until(conn: Connection, sql: str, expected: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        got = conn.run(sql)
        if got == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{sql!r} gave {got!r}, waited for {expected!r}")
        time.sleep(0.02)


OPEN = "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'delivering')"


def test_each_event_is_delivered_once_signed_and_in_order_per_topic(
    conn: Connection, receiver: WebhookReceiver, workers: Callable[..., DeliveryWorker]
) -> None:
    sub = subscribe(conn, receiver, "t/#", "/hook")
    published: list[str] = []
    for batch in range(5):
        published += publish(conn, *[(f"t/{'ab'[i % 2]}", {"b": batch, "i": i}) for i in range(6)])
    publish(conn, ("other", {}))  # not matched: no delivery
    workers()
    wait_until(conn, OPEN, [[0]])
    assert receiver.refused == []
    assert sorted(receiver.ids()) == sorted(published)  # all, and each once
    topic_of = {r.msg_id: r.body["data"]["topic"] for r in receiver.received}
    for topic in ("t/a", "t/b"):
        expected = [e for e in published if topic_of[e] == topic]
        assert [i for i in receiver.ids() if topic_of[i] == topic] == expected
    first = next(r for r in receiver.received if r.msg_id == published[0])
    assert first.body["type"] == "event.published"
    data = first.body["data"]
    assert data == {
        "event_id": published[0],
        "topic": "t/a",
        "payload": {"b": 0, "i": 0},
        "priority": 5,
        "created_at": first.body["timestamp"],
    }
    statuses = conn.run(
        "SELECT status, attempts, count(*) FROM webhook_deliveries"
        " WHERE subscription_id = CAST(:s AS uuid) GROUP BY 1, 2",
        s=sub["id"],
    )
    assert statuses == [["succeeded", 1, len(published)]]
    assert conn.run(
        "SELECT count(*), min(http_status), max(http_status) FROM webhook_attempts"
    ) == [[len(published), 204, 204]]


def test_a_receiver_failing_twice_then_answering_gets_three_attempts(
    conn: Connection, receiver: WebhookReceiver, workers: Callable[..., DeliveryWorker]
) -> None:
    flaky: list[str] = []
    receiver.answer = lambda msg, seen: (503, "busy") if msg in flaky and seen < 2 else (200, "ok")
    subscribe(conn, receiver, "t/a", "/flaky")
    first, second = publish(conn, ("t/a", 1), ("t/a", 2))
    flaky.append(first)  # only the first event is refused (twice)
    workers()
    wait_until(conn, OPEN, [[0]])
    attempts = conn.run(
        "SELECT a.attempt, a.http_status, a.error, a.response_excerpt FROM webhook_attempts a"
        " JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN events e ON e.seq = d.event_seq"
        " WHERE e.id = :id ORDER BY a.attempt",
        id=first,
    )
    assert attempts == [
        [1, 503, "HTTP 503", "busy"],
        [2, 503, "HTTP 503", "busy"],
        [3, 200, None, "ok"],
    ]
    # The second event waited for the first: in order, though the first needed three tries.
    assert receiver.ids("/flaky") == [first, second]
    rows = conn.run(
        "SELECT status, attempts, last_error FROM webhook_deliveries ORDER BY event_seq"
    )
    assert rows == [["succeeded", 3, None], ["succeeded", 1, None]]


def test_a_receiver_that_always_fails_is_failed_after_the_last_attempt(
    conn: Connection, receiver: WebhookReceiver, workers: Callable[..., DeliveryWorker]
) -> None:
    doomed: list[str] = []
    receiver.answer = lambda msg, _n: (500, "x" * 5000) if msg in doomed else (204, "")
    subscribe(conn, receiver, "t/a", "/down")
    doomed += publish(conn, ("t/a", "doomed"))
    after = publish(conn, ("t/a", "after"))
    workers()
    wait_until(conn, OPEN, [[0]])
    rows = conn.run(
        "SELECT e.id, d.status, d.attempts, d.last_error FROM webhook_deliveries d"
        " JOIN events e ON e.seq = d.event_seq ORDER BY d.event_seq"
    )
    assert rows == [[doomed[0], "failed", 3, "HTTP 500"], [after[0], "succeeded", 1, None]]
    excerpts = conn.run(
        "SELECT length(response_excerpt) FROM webhook_attempts WHERE http_status = 500"
    )
    assert excerpts == [[1024]] * 3  # every attempt recorded, its answer cut to 1 KB
    # Only once the earlier one has failed for good is the next one attempted.
    assert receiver.ids("/down") == after
    [[last_doomed, first_after]] = conn.run(
        "SELECT max(a.attempted_at) FILTER (WHERE a.http_status = 500),"
        " min(a.attempted_at) FILTER (WHERE a.http_status = 204) FROM webhook_attempts a"
    )
    assert last_doomed < first_after


def test_an_unreachable_receiver_records_the_error(
    conn: Connection, workers: Callable[..., DeliveryWorker]
) -> None:
    user = new_user(conn, ("t/a", "subscribe"))
    closed = WebhookReceiver().start()
    closed.stop()  # nothing listens on its port any more
    service.create(user, "t/a", {"webhook_url": closed.url("/gone")})
    publish(conn, ("t/a", 1))
    workers()
    wait_until(conn, OPEN, [[0]])
    rows = conn.run("SELECT http_status, error FROM webhook_attempts ORDER BY attempt")
    assert len(rows) == 3
    assert all(status is None and "Connect" in error for status, error in rows)


def test_delivery_refuses_private_targets_outside_local_development(
    conn: Connection, receiver: WebhookReceiver, workers: Callable[..., DeliveryWorker]
) -> None:
    # Created while private targets were allowed; the node does not allow them.
    subscribe(conn, receiver, "t/a", "/internal")
    publish(conn, ("t/a", 1))
    strict = DeliverySettings(schedule=(0,), poll_s=0.05, allow_private=False)
    workers(strict)
    wait_until(conn, OPEN, [[0]])
    assert conn.run("SELECT status FROM webhook_deliveries") == [["failed"]]
    [[error]] = conn.run("SELECT error FROM webhook_attempts")
    assert error.startswith("blocked:")
    assert receiver.ids() == []


def test_the_resolver_drops_non_public_addresses() -> None:
    async def resolve_localhost() -> None:
        resolver = PublicResolver()
        try:
            await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="private, loopback or link-local"):
        asyncio.run(resolve_localhost())


def test_two_nodes_share_the_work_and_never_send_one_delivery_twice_at_once(
    conn: Connection, receiver: WebhookReceiver, workers: Callable[..., DeliveryWorker]
) -> None:
    receiver.hold_s = 0.01
    subscribe(conn, receiver, "t/#", "/shared")
    subscribe(conn, receiver, "t/#", "/second")
    published: list[str] = []
    for _ in range(4):
        published += publish(conn, *[(f"t/{n}", {"n": n}) for n in range(6)])
    a, b = workers(node_id="node-a"), workers(node_id="node-b")
    wait_until(conn, OPEN, [[0]])
    assert receiver.overlaps == []
    assert receiver.refused == []
    for path in ("/shared", "/second"):
        got = receiver.ids(path)
        assert sorted(got) == sorted(published)  # every event, none twice
        by_topic: dict[str, list[str]] = {}
        for r in receiver.received:
            if r.path == path:
                by_topic.setdefault(r.body["data"]["topic"], []).append(r.msg_id)
        for topic, seen in by_topic.items():
            assert seen == [e for e in published if e in seen], topic  # in order per topic
    assert a.attempts_made + b.attempts_made == 2 * len(published)
    nodes = conn.run("SELECT count(DISTINCT node_id), count(*) FROM webhook_attempts")
    assert nodes[0][1] == 2 * len(published)


def test_core_nodes_deliver_what_they_store(
    start_core: Callable[..., Any],
    conn: Connection,
    receiver: WebhookReceiver,
    clean_eventstream: pytest.MonkeyPatch,
) -> None:
    """Two real core processes: publish over TCP, the webhooks follow, once and in order."""
    for name, value in {"WEBHOOK_RETRY_SCHEDULE": "0,0.05,0.1", "WEBHOOK_POLL_S": "0.05"}.items():
        clean_eventstream.setenv(name, value)  # the nodes inherit the environment
    receiver.answer = lambda _id, seen: (500, "first try fails") if seen == 0 else (204, "")
    subscribe(conn, receiver, "fleet/#", "/fleet")
    nodes = start_core(2)
    client = CoreClient(nodes.addresses)
    try:
        topics = [f"fleet/truck-{i}" for i in range(12)]
        results = client.publish_many([Event(t, {"n": n}) for n in range(3) for t in topics])
        assert {r.node for r in results} == set(client.nodes)  # both nodes took topics
    finally:
        client.close()
    wait_until(conn, OPEN, [[0]])
    assert receiver.refused == []
    assert sorted(receiver.ids()) == sorted(r.event_id for r in results)
    for topic in topics:
        stream = [
            r[0]
            for r in conn.run("SELECT id FROM events WHERE topic = :t ORDER BY txid, seq", t=topic)
        ]
        got = [r.msg_id for r in receiver.received if r.body["data"]["topic"] == topic]
        assert got == stream
    attempts = conn.run("SELECT count(*), count(DISTINCT node_id) FROM webhook_attempts")
    assert attempts[0][0] == 2 * len(results)  # one refused, one accepted, each
