"""Publish to a real node: an ack means committed, keys dedupe, bad input is refused."""

from __future__ import annotations

import json

import pytest

from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, CoreRejected, Event
from eventstream.events.ids import new_ulids
from eventstream.protocol import BatchEntry, NackCode, encode_publish, encode_publish_batch
from tests.integration.core.conftest import query
from tests.integration.core.wire import RawConnection

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def client(start_core) -> CoreClient:
    nodes = start_core(1)
    c = CoreClient(nodes.addresses)
    yield c
    c.close()


def test_an_acked_event_is_in_postgres_as_sent(
    client: CoreClient, core_database: DbCredentials
) -> None:
    payload = {"value": 23.5, "unit": "celsius", "tags": ["a", "ü"], "nested": {"ok": True}}
    result = client.publish("sensor/temperature", payload, 9, producer="user-1", trace_header=TRACE)
    assert result.event_id.startswith("evt_")
    assert not result.duplicate
    ((topic, stored, priority, producer, trace, node, created_us, key),) = query(
        core_database,
        "SELECT topic, payload::text, priority, producer, trace_header, node_id, "
        "CAST(extract(epoch FROM created_at) * 1000000 AS int8), idempotency_key "
        "FROM events WHERE id = :id",
        id=result.event_id,
    )
    assert (topic, json.loads(stored), priority, producer, trace, node) == (
        "sensor/temperature",
        payload,
        9,
        "user-1",
        TRACE,
        "core-0",
    )
    assert created_us == int(result.created_at.timestamp() * 1_000_000)
    # No key of the caller's, and none made up: a retry is known by the id the client chose.
    assert key is None


def _raw_batch(rid: int, events: list[tuple[str, str]], key: str = "") -> bytes:
    """A batch frame of (topic, ULID) events with payload {"rid": rid}, as a client resends it."""
    payload = json.dumps({"rid": rid}).encode()
    entries = [BatchEntry(topic, payload, 5, key, ulid) for topic, ulid in events]
    return encode_publish_batch(rid, entries, "resender")


def test_a_resent_event_is_known_by_its_id_and_stored_once(
    start_core, core_database: DbCredentials
) -> None:
    conn = RawConnection(start_core(1).addresses)
    a, b, c, d = new_ulids(4)
    conn.send(_raw_batch(1, [("r/x", a), ("r/x", b)]))
    (first,) = conn.receive(1)
    assert [e.event_id for e in first.entries] == ["evt_" + a, "evt_" + b]
    assert not any(e.duplicate for e in first.entries)
    # Its ack was lost: the client sends it again, with a new event beside it, and a repeat of
    # that new event inside the same batch (sent twice before the first ack came back).
    conn.send(_raw_batch(2, [("r/x", b), ("r/x", c), ("r/y", a), ("r/x", c)]))
    (again,) = conn.receive(1)
    assert [(e.event_id, e.duplicate) for e in again.entries] == [
        ("evt_" + b, True),
        ("evt_" + c, False),
        ("evt_" + a, True),
        ("evt_" + c, True),
    ]
    assert again.entries[0].created_at_us == first.entries[1].created_at_us
    assert again.entries[3].created_at_us == again.entries[1].created_at_us
    # A single PUBLISH resent, and one with a caller's key as well.
    conn.send(
        encode_publish(3, "r/x", b"3", event_id=a)
        + encode_publish(4, "r/z", b"4", 5, "k", "p", event_id=d)
    )
    conn.send(encode_publish(5, "r/z", b"5", 5, "k", "p", event_id=d))
    replies = {m.request_id: m for m in conn.receive(3)}
    assert (replies[3].entries[0].event_id, replies[3].entries[0].duplicate) == ("evt_" + a, True)
    assert replies[4].entries[0].event_id == replies[5].entries[0].event_id == "evt_" + d
    conn.close()
    rows = query(core_database, "SELECT id, topic, payload->>'rid' FROM events ORDER BY seq")
    assert rows == [
        ["evt_" + a, "r/x", "1"],
        ["evt_" + b, "r/x", "1"],
        ["evt_" + c, "r/x", "2"],
        ["evt_" + d, "r/z", None],
    ]
    # Counted once each, in the node's stats and the per-topic counts.
    assert query(core_database, "SELECT topic, event_count FROM topic_stats ORDER BY 1") == [
        ["r/x", 3],
        ["r/z", 1],
    ]


def test_the_same_key_returns_the_first_id_and_stores_once(
    client: CoreClient, core_database: DbCredentials
) -> None:
    first = client.publish("orders/created", {"n": 1}, idempotency_key="order-42", producer="shop")
    again = client.publish("orders/created", {"n": 2}, idempotency_key="order-42", producer="shop")
    other = client.publish("orders/created", {"n": 3}, idempotency_key="order-42", producer="crm")
    assert (again.event_id, again.duplicate, again.created_at) == (
        first.event_id,
        True,
        first.created_at,
    )
    assert other.event_id != first.event_id
    assert not other.duplicate
    rows = query(core_database, "SELECT producer, payload->>'n' FROM events ORDER BY seq")
    assert rows == [["shop", "1"], ["crm", "3"]]
    # After 24 hours the key is free again.
    query(core_database, "UPDATE event_idempotency SET created_at = now() - interval '25 hours'")
    later = client.publish("orders/created", {"n": 4}, idempotency_key="order-42", producer="shop")
    assert later.event_id not in (first.event_id, other.event_id)
    assert not later.duplicate


def test_batches_store_every_event_in_order(
    client: CoreClient, core_database: DbCredentials
) -> None:
    events = [Event(f"fleet/truck-{i % 7}", {"i": i}, i % 10) for i in range(2500)]
    events.append(Event("fleet/truck-1", {"i": "again"}, 5, "dup-key"))
    events.append(Event("fleet/truck-1", {"i": "again-2"}, 5, "dup-key"))
    results = client.publish_batch(events, producer="fleet")  # 3 frames: 1000 events at most each
    assert len(results) == 2502
    assert len({r.event_id for r in results}) == 2501
    assert results[-1].event_id == results[-2].event_id
    assert results[-1].duplicate
    stored = dict(query(core_database, "SELECT id, payload->>'i' FROM events"))
    assert len(stored) == 2501
    assert all(
        stored[r.event_id] == str(e.payload["i"])
        for r, e in zip(results[:-1], events, strict=False)
    )


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("Sensor/Temp", b"{}", "upper-case"),
        ("sensor//temp", b"{}", "empty level"),
        ("sensor/temp", b"{not json", "not JSON"),
        ("sensor/temp", b"NaN", "not JSON"),
        ("sensor/temp", b'"a\\u0000b"', "u0000"),
    ],
)
def test_invalid_events_are_refused_and_not_stored(
    client: CoreClient, core_database: DbCredentials, topic: str, payload: bytes, why: str
) -> None:
    with pytest.raises(CoreRejected, match=why) as e:
        client.publish(topic, payload)
    assert e.value.code is NackCode.INVALID
    assert query(core_database, "SELECT count(*) FROM events") == [[0]]


def test_an_event_postgres_refuses_spoils_only_itself(
    client: CoreClient, core_database: DbCredentials
) -> None:
    # Python's JSON reader takes a lone surrogate escape; JSONB does not: the writer's batch
    # fails, and it stores the others one by one.
    events = [
        Event("a/b", {"i": 0}, 5, "k0"),
        Event("a/b", b'"\\ud800"', 5, "k1"),
        Event("a/b", {"i": 2}, 5, "k2"),
    ]
    with pytest.raises(CoreRejected, match=r"database refused.*\(event 1\)"):
        client.publish_batch(events)
    assert query(core_database, "SELECT idempotency_key FROM events ORDER BY 1") == [["k0"], ["k2"]]
    # Sent again with the same keys, the good ones come back as duplicates, stored once.
    again = client.publish_batch([events[0], events[2]])
    assert [r.duplicate for r in again] == [True, True]
    assert query(core_database, "SELECT count(*) FROM events") == [[2]]


def test_stats_describe_the_node(client: CoreClient) -> None:
    client.publish_batch([Event("stats/a", {"i": i}) for i in range(30)])
    client.publish("stats/b", {"i": 1}, 9)
    with pytest.raises(CoreRejected):
        client.publish("Bad", {})
    ((node, stats),) = client.stats().items()
    assert node == client.nodes[0]
    assert stats["node_id"] == "core-0"
    assert stats["events_total"] == 31
    assert stats["topics"] == {"stats/a": 30, "stats/b": 1}
    assert stats["errors"] == {"invalid": 1}
    assert stats["events_per_second"]["1m"] > 0
    latency = stats["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    queue = stats["queue"]
    assert queue["capacity"] == 100_000
    assert len(queue["depth_by_lane"]) == 10
    assert queue["pushed"] == queue["popped"] == 31
    assert 0 < stats["worker_utilization"]["1m"] <= 1
    assert stats["connections"] == 1
