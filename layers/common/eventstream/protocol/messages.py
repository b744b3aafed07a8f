"""The messages a frame carries, decoded; field meanings are in docs/protocol.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventstream.protocol.constants import DEFAULT_PRIORITY, NackCode

# One event of a publish frame as a plain tuple, in BatchEntry's field order: topic, payload
# (JSON bytes), priority, idempotency key ("" for none), event id (a ULID, "" for none). The
# client prepares events this way and the node decodes batches into it.
EventFields = tuple[str, bytes, int, str, str]


@dataclass(slots=True)
class Publish:
    request_id: int
    topic: str
    payload: bytes  # UTF-8 JSON text, as the producer sent it
    priority: int = DEFAULT_PRIORITY
    idempotency_key: str = ""
    producer: str = ""
    trace_header: str = ""  # X-Amzn-Trace-Id of the request that published it
    event_id: str = ""  # the ULID the client chose (FLAG_EVENT_IDS), or "": the node makes one


@dataclass(slots=True)
class BatchEntry:
    topic: str
    payload: bytes
    priority: int = DEFAULT_PRIORITY
    idempotency_key: str = ""
    event_id: str = ""  # as in Publish


@dataclass(slots=True)
class PublishBatch:
    request_id: int
    entries: list[BatchEntry]
    producer: str = ""
    trace_header: str = ""


@dataclass(slots=True)
class AckEntry:
    event_id: str
    created_at_us: int  # ingest time of the stored event, microseconds since the epoch
    duplicate: bool = False  # the idempotency key was seen: this is the first event's id


@dataclass(slots=True)
class Ack:
    request_id: int
    entries: list[AckEntry]


@dataclass(slots=True)
class Nack:
    request_id: int
    code: NackCode
    message: str = ""
    retry_after_ms: int = 0


@dataclass(slots=True)
class Stats:
    request_id: int


@dataclass(slots=True)
class StatsReply:
    request_id: int
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Ping:
    request_id: int
    data: bytes = b""


@dataclass(slots=True)
class Pong:
    request_id: int
    data: bytes = b""


Message = Publish | PublishBatch | Ack | Nack | Stats | StatsReply | Ping | Pong
