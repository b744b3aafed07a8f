"""A publish request's events checked and named: topics (checked once per batch), payloads, ids."""

from __future__ import annotations

import pytest

from eventstream.events.ids import EventIdGenerator, is_event_id
from eventstream.events.store import NewEvent
from eventstream.protocol import FrameError, NackCode
from eventstream_core.ingest import new_event

ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
NOW_NS = 1_700_000_000_123_456_789


def event(
    topic: str = "a/b", payload: bytes = b"{}", event_id: str = "", topics: set[str] | None = None
) -> NewEvent:
    ids = EventIdGenerator()
    topics = set() if topics is None else topics
    return new_event(ids, NOW_NS, 7, topic, payload, 5, "", "me", "", event_id, topics)


def test_the_client_s_id_is_kept_and_the_node_names_the_others() -> None:
    assert event(event_id=ULID).event_id == "evt_" + ULID
    made = event()
    assert is_event_id(made.event_id)
    assert made.event_id != "evt_" + ULID
    assert made.created_us == NOW_NS // 1000
    assert (made.idempotency_key, made.trace_header) == (None, None)


def test_a_batch_checks_each_topic_once_and_still_refuses_a_bad_one() -> None:
    seen: set[str] = set()
    event("fleet/truck-1", topics=seen)
    event("fleet/truck-1", topics=seen)
    assert seen == {"fleet/truck-1"}
    with pytest.raises(FrameError) as e:
        event("Fleet/Truck-2", topics=seen)
    assert e.value.code is NackCode.INVALID
    assert e.value.request_id == 7
    assert seen == {"fleet/truck-1"}  # a refused topic is not remembered


@pytest.mark.parametrize("payload", [b"{not json", b"NaN", b'"a\\u0000b"', b"\xff"])
def test_a_payload_that_is_not_json_postgres_takes_is_refused(payload: bytes) -> None:
    with pytest.raises(FrameError) as e:
        event(payload=payload)
    assert e.value.code is NackCode.INVALID
