"""The node's C batch decoder against the codec's Python one: same events, same refusals."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from eventstream.events.ids import new_ulids
from eventstream.protocol import BatchEntry, FrameError, encode_publish_batch
from eventstream.protocol.codec import decode_publish_batch
from eventstream.protocol.constants import FLAG_EVENT_IDS, HEADER_BYTES, MAX_PAYLOAD_BYTES
from eventstream_core.frames import decode_batch
from tests.support import damaged

RID = 42
Outcome = tuple[str, str, list[tuple[str, bytes, int, str, str]]] | tuple[int, str, int]


def python(body: bytes, flags: int) -> Outcome:
    try:
        batch = decode_publish_batch(RID, body, flags)
    except FrameError as e:
        return int(e.code), str(e), e.request_id
    events = [
        (e.topic, e.payload, e.priority, e.idempotency_key, e.event_id) for e in batch.entries
    ]
    return batch.producer, batch.trace_header, events


def native(body: bytes, flags: int) -> Outcome:
    try:
        return decode_batch(RID, body, flags)
    except FrameError as e:
        return int(e.code), str(e), e.request_id


entries = st.lists(
    st.builds(
        BatchEntry,
        topic=st.text(max_size=20).filter(lambda t: len(t.encode()) <= 255),
        payload=st.binary(max_size=30),
        priority=st.integers(0, 9),
        idempotency_key=st.text(max_size=10),
    ),
    min_size=1,
    max_size=8,
)


def body_of(batch: list[BatchEntry], with_ids: bool, producer: str = "p") -> bytes:
    if with_ids:
        batch = [
            BatchEntry(e.topic, e.payload, e.priority, e.idempotency_key, u)
            for e, u in zip(batch, new_ulids(len(batch)), strict=True)
        ]
    return encode_publish_batch(RID, batch, producer, "Root=1-x")[HEADER_BYTES:]


@settings(max_examples=400, deadline=None)
@given(entries, st.booleans())
def test_well_formed_batches_decode_alike(batch: list[BatchEntry], with_ids: bool) -> None:
    body = body_of(batch, with_ids)
    flags = FLAG_EVENT_IDS if with_ids else 0
    assert native(body, flags) == python(body, flags)
    assert isinstance(native(body, flags)[2], list)


@settings(max_examples=1500, deadline=None)
@given(
    entries,
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255), st.integers(0, 2)), max_size=4),
)
def test_damaged_batches_are_refused_alike(
    batch: list[BatchEntry], with_ids: bool, edits: list[tuple[int, int, int]]
) -> None:
    body = damaged(body_of(batch, with_ids), edits)
    for flags in (0, FLAG_EVENT_IDS):  # also read with the other layout
        assert native(body, flags) == python(body, flags)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([0, FLAG_EVENT_IDS]))
def test_any_bytes_are_judged_alike(body: bytes, flags: int) -> None:
    assert native(body, flags) == python(body, flags)


def test_each_refusal_alike() -> None:
    good = body_of([BatchEntry("a/b", b"{}", 5, "k")], with_ids=False)
    head = good[: len(good) - 13]  # producer and trace; the one entry is the last 13 bytes
    entry = struct.Struct(">BBBI")
    assert head + entry.pack(5, 3, 1, 2) + b"a/bk{}" == good
    big = MAX_PAYLOAD_BYTES + 1
    cases = {
        "batch entry 0: priority 10 is not 0-9": head + entry.pack(10, 3, 1, 2) + b"a/bk{}",
        f"batch entry 0: payload is {big} bytes; at most {MAX_PAYLOAD_BYTES}": (
            head + entry.pack(5, 0, 0, big) + b"x" * big
        ),
        "batch entry 0 topic is not UTF-8": head + entry.pack(5, 1, 0, 2) + b"\xff{}",
        "batch entry 0 idempotency key is not UTF-8": head + entry.pack(5, 1, 1, 2) + b"a\xc3{}",
        "batch entry 0 runs past the frame's end": head + entry.pack(5, 3, 1, 200) + b"a/bk{}",
        "batch frame has 1 bytes after its last entry": good + b"\x00",
    }
    for message, body in cases.items():
        refused = python(body, 0)
        assert refused[1] == message
        assert native(body, 0) == refused
    ulid = new_ulids(1)[0].encode()
    with_id = head + entry.pack(5, 3, 0, 2) + ulid[:-1] + b"U" + b"a/b{}"
    assert native(with_id, FLAG_EVENT_IDS) == python(with_id, FLAG_EVENT_IDS)
    assert native(with_id, FLAG_EVENT_IDS)[1:] == ("batch entry 0 id is not a ULID", RID)
