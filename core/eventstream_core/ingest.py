"""Turn a publish request into an event to store, or refuse it with the reason (nack invalid)."""

from __future__ import annotations

import json

from eventstream.events.ids import PREFIX, EventIdGenerator
from eventstream.events.store import NewEvent
from eventstream.protocol import FrameError, NackCode
from eventstream.topics import TopicError, validate_topic


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python reads them, JSONB does not


# One decoder, made once: json.loads with an argument builds a new one per call (~5 µs).
_decode_json = json.JSONDecoder(parse_constant=_no_constant).decode


def check_payload(payload: bytes, request_id: int) -> str:
    """The payload as JSON text Postgres will take; FrameError(INVALID) otherwise."""
    try:
        text = payload.decode()
        _decode_json(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FrameError(NackCode.INVALID, f"payload is not JSON: {e}", request_id) from None
    if "\\u0000" in text:
        raise FrameError(
            NackCode.INVALID, "payload contains \\u0000, which JSONB cannot hold", request_id
        )
    return text


def new_event(
    ids: EventIdGenerator,
    now_ns: int,
    request_id: int,
    topic: str,
    payload: bytes,
    priority: int,
    idempotency_key: str,
    producer: str,
    trace_header: str,
    event_id: str = "",
    valid_topics: set[str] | None = None,
) -> NewEvent:
    """Validate one event and give it its ingest time, and its id unless the client chose one.

    The codec checked sizes, and that a chosen id is a ULID. A topic found valid is added to
    `valid_topics`, and one already there is not checked again (a batch repeats its topics).
    """
    if valid_topics is None or topic not in valid_topics:
        try:
            validate_topic(topic)
        except TopicError as e:
            raise FrameError(NackCode.INVALID, str(e), request_id) from None
        if valid_topics is not None:
            valid_topics.add(topic)
    text = check_payload(payload, request_id)
    return NewEvent(
        PREFIX + event_id if event_id else ids.new(now_ns // 1_000_000),
        topic,
        text,
        priority,
        producer,
        idempotency_key or None,
        now_ns // 1000,
        trace_header or None,
    )
