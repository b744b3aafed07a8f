"""Encode and decode frame bodies with precompiled structs: the core's hot path runs through here.

Encoders raise FrameError (TOO_LARGE or INVALID) before anything is sent, so a client learns of
an oversized event without a round trip; decoders raise FrameError with the request id, so the
server can nack exactly the request that was wrong.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from eventstream.events.ids import is_ulid
from eventstream.protocol.constants import (
    FLAG_EVENT_IDS,
    HEADER,
    HEADER_BYTES,
    KNOWN_FLAGS,
    LENGTH_BYTES,
    MAX_BATCH_ENTRIES,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_PRIORITY,
    MAX_TRACE_HEADER_BYTES,
    MIN_PRIORITY,
    PROTOCOL_VERSION,
    ULID_BYTES,
    FrameType,
    NackCode,
)
from eventstream.protocol.errors import FrameError
from eventstream.protocol.messages import (
    Ack,
    AckEntry,
    BatchEntry,
    Message,
    Nack,
    Ping,
    Pong,
    Publish,
    PublishBatch,
    Stats,
    StatsReply,
)

_PUBLISH = struct.Struct(">BBBBH")  # priority, topic len, key len, producer len, trace len
_BATCH = struct.Struct(">BHH")  # producer len, trace len, entry count
_BATCH_ENTRY = struct.Struct(">BBBI")  # priority, topic len, key len, payload len
_ACK = struct.Struct(">H")  # entry count
_ACK_ENTRY = struct.Struct(">BBQ")  # duplicate, event id len, created_at_us
_NACK = struct.Struct(">BIH")  # code, retry_after_ms, message len

_V = PROTOCOL_VERSION
_BODY_OFFSET = HEADER_BYTES - LENGTH_BYTES  # the length counts version..request id too
_MAX_U32 = 2**32 - 1

BATCH_OVERHEAD = HEADER_BYTES + _BATCH.size
BATCH_ENTRY_OVERHEAD = _BATCH_ENTRY.size


def _frame(ftype: int, request_id: int, parts: Sequence[bytes], flags: int = 0) -> bytes:
    size = sum(map(len, parts))
    if HEADER_BYTES + size > MAX_FRAME_BYTES:
        raise FrameError(
            NackCode.TOO_LARGE,
            f"frame of {HEADER_BYTES + size} bytes is over {MAX_FRAME_BYTES}",
            request_id,
        )
    if not 0 <= request_id <= _MAX_U32:
        raise FrameError(NackCode.INVALID, f"request id {request_id} is not a u32", 0)
    return b"".join((HEADER.pack(_BODY_OFFSET + size, _V, ftype, flags, request_id), *parts))


def _short(value: str, what: str, request_id: int, limit: int = 255) -> bytes:
    data = value.encode()
    if len(data) > limit:
        raise FrameError(
            NackCode.INVALID, f"{what} is {len(data)} bytes; at most {limit}", request_id
        )
    return data


def _event_id(value: str, request_id: int) -> bytes:
    data = value.encode()
    if not is_ulid(data):
        raise FrameError(NackCode.INVALID, f"event id {value!r} is not a ULID", request_id)
    return data


def _check_event(payload: bytes, priority: int, request_id: int) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise FrameError(
            NackCode.TOO_LARGE,
            f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}",
            request_id,
        )
    if not (isinstance(priority, int) and MIN_PRIORITY <= priority <= MAX_PRIORITY):
        raise FrameError(NackCode.INVALID, f"priority {priority!r} is not 0-9", request_id)


def encode_publish(
    request_id: int,
    topic: str,
    payload: bytes,
    priority: int = 5,
    idempotency_key: str = "",
    producer: str = "",
    trace_header: str = "",
    event_id: str = "",
) -> bytes:
    """A PUBLISH frame; with an `event_id` (a ULID) the node stores the event under that id."""
    _check_event(payload, priority, request_id)
    t = _short(topic, "topic", request_id)
    k = _short(idempotency_key, "idempotency key", request_id)
    p = _short(producer, "producer", request_id)
    tr = _short(trace_header, "trace header", request_id, MAX_TRACE_HEADER_BYTES)
    head = _PUBLISH.pack(priority, len(t), len(k), len(p), len(tr))
    if not event_id:
        return _frame(FrameType.PUBLISH, request_id, (head, t, k, p, tr, payload))
    parts = (head, _event_id(event_id, request_id), t, k, p, tr, payload)
    return _frame(FrameType.PUBLISH, request_id, parts, FLAG_EVENT_IDS)


def encode_publish_batch(
    request_id: int,
    entries: Sequence[BatchEntry],
    producer: str = "",
    trace_header: str = "",
) -> bytes:
    """A PUBLISH_BATCH frame; its entries all have an `event_id`, or none has."""
    if not 0 < len(entries) <= MAX_BATCH_ENTRIES:
        raise FrameError(
            NackCode.TOO_LARGE if entries else NackCode.INVALID,
            f"a batch holds 1-{MAX_BATCH_ENTRIES} events, not {len(entries)}",
            request_id,
        )
    p = _short(producer, "producer", request_id)
    tr = _short(trace_header, "trace header", request_id, MAX_TRACE_HEADER_BYTES)
    parts: list[bytes] = [_BATCH.pack(len(p), len(tr), len(entries)), p, tr]
    with_ids = bool(entries[0].event_id)
    for e in entries:
        _check_event(e.payload, e.priority, request_id)
        t = _short(e.topic, "topic", request_id)
        k = _short(e.idempotency_key, "idempotency key", request_id)
        parts.append(_BATCH_ENTRY.pack(e.priority, len(t), len(k), len(e.payload)))
        if with_ids != bool(e.event_id):
            raise FrameError(NackCode.INVALID, "some batch entries have ids, some not", request_id)
        if with_ids:
            parts.append(_event_id(e.event_id, request_id))
        parts += (t, k, e.payload)
    flags = FLAG_EVENT_IDS if with_ids else 0
    return _frame(FrameType.PUBLISH_BATCH, request_id, parts, flags)


def encode_ack(request_id: int, entries: Iterable[tuple[str, int, bool]]) -> bytes:
    """entries: (event_id, created_at_us, duplicate) in the order of the request's events."""
    parts: list[bytes] = [b""]
    n = 0
    for event_id, created_at_us, duplicate in entries:
        eid = event_id.encode()
        parts += (_ACK_ENTRY.pack(duplicate, len(eid), created_at_us), eid)
        n += 1
    parts[0] = _ACK.pack(n)
    return _frame(FrameType.ACK, request_id, parts)


def encode_nack(
    request_id: int, code: NackCode, message: str = "", retry_after_ms: int = 0
) -> bytes:
    # Messages are for people and logs; cut, never refused, so a nack can always be sent.
    msg = message.encode("utf-8", "replace")[:1000]
    head = _NACK.pack(code, min(max(retry_after_ms, 0), _MAX_U32), len(msg))
    return _frame(FrameType.NACK, request_id, (head, msg))


def encode_stats(request_id: int) -> bytes:
    return _frame(FrameType.STATS, request_id, ())


def encode_stats_reply(request_id: int, stats: dict[str, Any]) -> bytes:
    body = json.dumps(stats, separators=(",", ":"), sort_keys=True).encode()
    return _frame(FrameType.STATS_REPLY, request_id, (body,))


def encode_ping(request_id: int, data: bytes = b"") -> bytes:
    return _frame(FrameType.PING, request_id, (data,))


def encode_pong(request_id: int, data: bytes = b"") -> bytes:
    return _frame(FrameType.PONG, request_id, (data,))


# --- decoding ---------------------------------------------------------------------------------


def _invalid(request_id: int, why: str) -> FrameError:
    return FrameError(NackCode.INVALID, why, request_id)


def _text(body: bytes, start: int, end: int, what: str, request_id: int) -> str:
    try:
        return body[start:end].decode()
    except UnicodeDecodeError:
        raise _invalid(request_id, f"{what} is not UTF-8") from None


def _decode_id(body: bytes, start: int, what: str, rid: int) -> str:
    data = body[start : start + ULID_BYTES]
    if not is_ulid(data):
        raise _invalid(rid, f"{what} is not a ULID")
    return data.decode("ascii")


def decode_publish(rid: int, body: bytes, flags: int = 0) -> Publish:
    id_bytes = ULID_BYTES if flags & FLAG_EVENT_IDS else 0
    if len(body) < _PUBLISH.size + id_bytes:
        raise _invalid(rid, "publish frame is shorter than its fixed fields")
    priority, tl, kl, pl, trl = _PUBLISH.unpack_from(body)
    a = _PUBLISH.size + id_bytes
    b = a + tl
    c = b + kl
    d = c + pl
    e = d + trl
    if e > len(body):
        raise _invalid(rid, "publish frame field lengths run past its end")
    payload = body[e:]
    _check_event(payload, priority, rid)
    return Publish(
        rid,
        _text(body, a, b, "topic", rid),
        payload,
        priority,
        _text(body, b, c, "idempotency key", rid),
        _text(body, c, d, "producer", rid),
        _text(body, d, e, "trace header", rid),
        _decode_id(body, _PUBLISH.size, "event id", rid) if id_bytes else "",
    )


def decode_batch_head(rid: int, body: bytes) -> tuple[str, str, int, int]:
    """A PUBLISH_BATCH body's shared fields: producer, trace header, event count, first event's
    offset. The core decodes the events after it in C (eventstream_native._frames)."""
    if len(body) < _BATCH.size:
        raise _invalid(rid, "batch frame is shorter than its fixed fields")
    pl, trl, count = _BATCH.unpack_from(body)
    if not 0 < count <= MAX_BATCH_ENTRIES:
        code = NackCode.TOO_LARGE if count else NackCode.INVALID
        raise FrameError(code, f"a batch holds 1-{MAX_BATCH_ENTRIES} events, not {count}", rid)
    pos = _BATCH.size
    if trl > MAX_TRACE_HEADER_BYTES or pos + pl + trl > len(body):
        raise _invalid(rid, "batch frame field lengths run past its end")
    producer = _text(body, pos, pos + pl, "producer", rid)
    trace = _text(body, pos + pl, pos + pl + trl, "trace header", rid)
    return producer, trace, count, pos + pl + trl


def decode_publish_batch(rid: int, body: bytes, flags: int = 0) -> PublishBatch:
    producer, trace, count, pos = decode_batch_head(rid, body)
    entries: list[BatchEntry] = []
    entry_head = _BATCH_ENTRY
    id_bytes = ULID_BYTES if flags & FLAG_EVENT_IDS else 0
    fixed = entry_head.size + id_bytes
    size = len(body)
    for i in range(count):
        if pos + fixed > size:
            raise _invalid(rid, f"batch entry {i} runs past the frame's end")
        priority, tl, kl, payload_len = entry_head.unpack_from(body, pos)
        event_id = (
            _decode_id(body, pos + entry_head.size, f"batch entry {i} id", rid) if id_bytes else ""
        )
        a = pos + fixed
        b = a + tl
        c = b + kl
        pos = c + payload_len
        if pos > size:
            raise _invalid(rid, f"batch entry {i} runs past the frame's end")
        payload = body[c:pos]
        try:
            _check_event(payload, priority, rid)
        except FrameError as err:
            raise FrameError(err.code, f"batch entry {i}: {err}", rid) from None
        entries.append(
            BatchEntry(
                _text(body, a, b, f"batch entry {i} topic", rid),
                payload,
                priority,
                _text(body, b, c, f"batch entry {i} idempotency key", rid),
                event_id,
            )
        )
    if pos != size:
        raise _invalid(rid, f"batch frame has {size - pos} bytes after its last entry")
    return PublishBatch(rid, entries, producer, trace)


def _decode_ack(rid: int, body: bytes) -> Ack:
    if len(body) < _ACK.size:
        raise _invalid(rid, "ack frame is shorter than its fixed fields")
    (count,) = _ACK.unpack_from(body)
    pos = _ACK.size
    entries: list[AckEntry] = []
    for i in range(count):
        if pos + _ACK_ENTRY.size > len(body):
            raise _invalid(rid, f"ack entry {i} runs past the frame's end")
        duplicate, il, created = _ACK_ENTRY.unpack_from(body, pos)
        start = pos + _ACK_ENTRY.size
        pos = start + il
        if pos > len(body):
            raise _invalid(rid, f"ack entry {i} runs past the frame's end")
        entries.append(AckEntry(_text(body, start, pos, "event id", rid), created, bool(duplicate)))
    if pos != len(body):
        raise _invalid(rid, "ack frame has bytes after its last entry")
    return Ack(rid, entries)


def _decode_nack(rid: int, body: bytes) -> Nack:
    if len(body) < _NACK.size:
        raise _invalid(rid, "nack frame is shorter than its fixed fields")
    code, retry_after_ms, ml = _NACK.unpack_from(body)
    if _NACK.size + ml != len(body):
        raise _invalid(rid, "nack message length does not match the frame")
    try:
        nack_code = NackCode(code)
    except ValueError:
        nack_code = NackCode.INTERNAL  # a newer server's code: treat as the generic failure
    message = body[_NACK.size :].decode("utf-8", "replace")
    return Nack(rid, nack_code, message, retry_after_ms)


def _decode_stats_reply(rid: int, body: bytes) -> StatsReply:
    try:
        stats = json.loads(body)
    except ValueError:
        raise _invalid(rid, "stats reply is not JSON") from None
    if not isinstance(stats, dict):
        raise _invalid(rid, "stats reply is not a JSON object")
    return StatsReply(rid, stats)


def _decode_stats(rid: int, body: bytes) -> Stats:
    if body:
        raise _invalid(rid, "stats request has a body")
    return Stats(rid)


_DECODERS: dict[int, Any] = {
    FrameType.ACK: _decode_ack,
    FrameType.NACK: _decode_nack,
    FrameType.STATS: _decode_stats,
    FrameType.STATS_REPLY: _decode_stats_reply,
    FrameType.PING: lambda rid, body: Ping(rid, bytes(body)),
    FrameType.PONG: lambda rid, body: Pong(rid, bytes(body)),
}


def decode_body(version: int, ftype: int, flags: int, request_id: int, body: bytes) -> Message:
    """The message of one complete frame; FrameError (with the request id) if it is wrong."""
    if version != PROTOCOL_VERSION:
        raise FrameError(
            NackCode.UNSUPPORTED_VERSION,
            f"protocol version {version}; this node speaks {PROTOCOL_VERSION}",
            request_id,
        )
    if flags & ~KNOWN_FLAGS:
        raise _invalid(request_id, f"unknown flags 0x{flags:04x}")
    if ftype == FrameType.PUBLISH:
        return decode_publish(request_id, body, flags)
    if ftype == FrameType.PUBLISH_BATCH:
        return decode_publish_batch(request_id, body, flags)
    if flags:
        raise _invalid(request_id, f"flags 0x{flags:04x} on a frame of type {ftype}")
    decoder = _DECODERS.get(ftype)
    if decoder is None:
        raise FrameError(NackCode.UNSUPPORTED_TYPE, f"unknown frame type {ftype}", request_id)
    return decoder(request_id, body)  # type: ignore[no-any-return]
