"""Frames round-trip through the codec, and every limit and malformed field is refused."""

from __future__ import annotations

import json
import struct

import pytest

from eventstream.events.ids import new_ulids
from eventstream.protocol import (
    MAX_BATCH_ENTRIES,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    Ack,
    AckEntry,
    BatchEntry,
    FrameError,
    FrameReader,
    FrameType,
    Nack,
    NackCode,
    Ping,
    Pong,
    Publish,
    PublishBatch,
    Stats,
    StatsReply,
    decode_body,
    encode_ack,
    encode_nack,
    encode_ping,
    encode_pong,
    encode_publish,
    encode_publish_batch,
    encode_stats,
    encode_stats_reply,
)
from eventstream.protocol.constants import FLAG_EVENT_IDS, HEADER


def decode(frame: bytes):
    (raw,) = FrameReader().feed(frame)
    return decode_body(*raw)


def test_publish_round_trips_every_field() -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    frame = encode_publish(7, "sensor/temp", b'{"v":23.5}', 9, "key-1", "user-\u00e9", trace)
    assert decode(frame) == Publish(
        7, "sensor/temp", b'{"v":23.5}', 9, "key-1", "user-\u00e9", trace
    )
    assert struct.unpack_from(">I", frame)[0] == len(frame) - 4  # the length counts what follows


ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_the_event_id_a_client_chose_round_trips() -> None:
    frame = encode_publish(7, "sensor/temp", b"1", 3, "key-1", "me", "", event_id=ULID)
    assert HEADER.unpack_from(frame)[3] == FLAG_EVENT_IDS
    assert decode(frame) == Publish(7, "sensor/temp", b"1", 3, "key-1", "me", "", ULID)
    entries = [BatchEntry(f"t/{i}", b"1", 5, "", new_ulids(1)[0]) for i in range(20)]
    message = decode(encode_publish_batch(8, entries, "me"))
    assert message == PublishBatch(8, entries, "me")


@pytest.mark.parametrize(
    "bad", ["01ARZ3NDEKTSV4RRFFQ69G5FA", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "é" * 13]
)
def test_an_id_that_is_not_a_ulid_is_refused_both_ways(bad: str) -> None:
    with pytest.raises(FrameError, match="not a ULID") as e:
        encode_publish(1, "t", b"1", event_id=bad)
    assert e.value.code is NackCode.INVALID
    raw = encode_publish(1, "t", b"1", event_id=ULID)
    tampered = raw.replace(ULID.encode(), bad.encode().ljust(26, b"U")[:26])
    with pytest.raises(FrameError, match="not a ULID"):
        decode(tampered)
    batch = encode_publish_batch(1, [BatchEntry("t", b"1", 5, "", ULID)])
    with pytest.raises(FrameError, match="batch entry 0 id is not a ULID"):
        decode(batch.replace(ULID.encode(), b"U" * 26))


def test_a_batch_has_ids_for_all_its_events_or_for_none() -> None:
    with pytest.raises(FrameError, match="some batch entries have ids") as e:
        encode_publish_batch(1, [BatchEntry("t", b"1", 5, "", ULID), BatchEntry("t", b"2")])
    assert e.value.code is NackCode.INVALID
    with pytest.raises(FrameError, match="some batch entries have ids"):
        encode_publish_batch(1, [BatchEntry("t", b"2"), BatchEntry("t", b"1", 5, "", ULID)])


def test_batch_round_trips_in_order() -> None:
    entries = [
        BatchEntry(f"t/{i}", json.dumps({"i": i}).encode(), i % 10, f"k{i}") for i in range(50)
    ]
    message = decode(encode_publish_batch(2**32 - 1, entries, "producer", "Root=1-abc"))
    assert message == PublishBatch(2**32 - 1, entries, "producer", "Root=1-abc")


def test_replies_round_trip() -> None:
    ack = [
        ("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", 1_700_000_000_123_456, False),
        ("evt_01ARZ3NDEKTSV4RRFFQ69G5FAW", 1, True),
    ]
    assert decode(encode_ack(3, ack)) == Ack(3, [AckEntry(*e) for e in ack])
    assert decode(encode_nack(4, NackCode.BUSY, "queue is full", 250)) == Nack(
        4, NackCode.BUSY, "queue is full", 250
    )
    assert decode(encode_stats(5)) == Stats(5)
    assert decode(encode_stats_reply(6, {"node_id": "n1", "depth": 3})) == StatsReply(
        6, {"node_id": "n1", "depth": 3}
    )
    assert decode(encode_ping(8, b"\x00\xff")) == Ping(8, b"\x00\xff")
    assert decode(encode_pong(9, b"hi")) == Pong(9, b"hi")


def test_limits_are_refused_before_sending() -> None:
    with pytest.raises(FrameError) as e:
        encode_publish(1, "t", b"1" * (MAX_PAYLOAD_BYTES + 1))
    assert e.value.code is NackCode.TOO_LARGE
    assert (
        decode(encode_publish(1, "t", b"1" * MAX_PAYLOAD_BYTES)).payload == b"1" * MAX_PAYLOAD_BYTES
    )
    with pytest.raises(FrameError) as e:
        encode_publish(1, "t", b"1", priority=10)
    assert e.value.code is NackCode.INVALID
    with pytest.raises(FrameError) as e:
        encode_publish(1, "t" * 256, b"1")
    assert e.value.code is NackCode.INVALID
    with pytest.raises(FrameError) as e:
        encode_publish_batch(1, [BatchEntry("t", b"1")] * (MAX_BATCH_ENTRIES + 1))
    assert e.value.code is NackCode.TOO_LARGE
    with pytest.raises(FrameError) as e:  # five full payloads exceed the frame, not the entry count
        encode_publish_batch(1, [BatchEntry("t", b"1" * MAX_PAYLOAD_BYTES)] * 5)
    assert e.value.code is NackCode.TOO_LARGE
    with pytest.raises(FrameError):
        encode_publish_batch(1, [])


def frame(ftype: int, body: bytes, *, version: int = 1, flags: int = 0, rid: int = 42) -> bytes:
    return HEADER.pack(8 + len(body), version, ftype, flags, rid) + body


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (frame(FrameType.PUBLISH, b"\x05\x01"), NackCode.INVALID),  # shorter than fixed fields
        (
            frame(FrameType.PUBLISH, b"\x05\x09\x00\x00\x00\x00abc"),
            NackCode.INVALID,
        ),  # topic overruns
        (frame(FrameType.PUBLISH, b"\x0a\x01\x00\x00\x00\x00t1"), NackCode.INVALID),  # priority 10
        (frame(FrameType.PUBLISH, b"\x05\x01\x00\x00\x00\x00\xff1"), NackCode.INVALID),  # not UTF-8
        (frame(FrameType.PUBLISH_BATCH, b"\x00\x00\x00\x00\x00"), NackCode.INVALID),  # zero entries
        (
            frame(FrameType.PUBLISH_BATCH, b"\x00\x00\x00\xff\xff"),
            NackCode.TOO_LARGE,
        ),  # 65535 entries
        (
            frame(FrameType.PUBLISH_BATCH, b"\x00\x00\x00\x00\x01\x05\x01\x00\x00\x00\x00\x09t1"),
            NackCode.INVALID,
        ),  # payload length overruns
        (
            frame(FrameType.PUBLISH, encode_publish(1, "t", b"1")[12:], version=2),
            NackCode.UNSUPPORTED_VERSION,
        ),
        (frame(FrameType.PUBLISH, encode_publish(1, "t", b"1")[12:], flags=2), NackCode.INVALID),
        # The event-ids flag on a frame whose body has no id, or on a frame that takes none.
        (frame(FrameType.PUBLISH, encode_publish(1, "t", b"1")[12:], flags=1), NackCode.INVALID),
        (frame(FrameType.PING, b"", flags=1), NackCode.INVALID),
        (
            frame(FrameType.PUBLISH, encode_publish(1, "t", b"1", event_id=ULID)[12:], flags=2),
            NackCode.INVALID,
        ),
        (frame(99, b""), NackCode.UNSUPPORTED_TYPE),
        (frame(FrameType.STATS, b"x"), NackCode.INVALID),
        (frame(FrameType.STATS_REPLY, b"[1]"), NackCode.INVALID),
    ],
)
def test_malformed_bodies_are_frame_errors_with_the_request_id(raw: bytes, code: NackCode) -> None:
    (parsed,) = FrameReader().feed(raw)
    with pytest.raises(FrameError) as e:
        decode_body(*parsed)
    assert e.value.code is code
    assert e.value.request_id == 42


def test_batch_with_trailing_bytes_is_invalid() -> None:
    good = encode_publish_batch(1, [BatchEntry("t", b"1")])
    tampered = struct.pack(">I", len(good) - 4 + 1) + good[4:] + b"x"
    (parsed,) = FrameReader().feed(tampered)
    with pytest.raises(FrameError, match="after its last entry"):
        decode_body(*parsed)


def test_max_frame_size_holds_a_full_payload() -> None:
    assert MAX_FRAME_BYTES > MAX_PAYLOAD_BYTES + 1024
