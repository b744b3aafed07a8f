"""Property tests: whatever bytes arrive, the codec answers with a frame or a protocol error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eventstream.protocol import (
    BatchEntry,
    FrameError,
    FrameReader,
    Publish,
    PublishBatch,
    StreamError,
    decode_body,
    encode_publish,
    encode_publish_batch,
)

short_text = st.text(max_size=40).filter(lambda s: len(s.encode()) <= 255)
payloads = st.binary(max_size=300)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 50), max_size=20))
def test_arbitrary_bytes_only_ever_raise_protocol_errors(data: bytes, cuts: list[int]) -> None:
    reader = FrameReader()
    pos = 0
    try:
        for cut in [*cuts, len(data)]:
            for raw in reader.feed(data[pos : pos + cut]):
                try:
                    decode_body(*raw)
                except StreamError:  # one bad frame never ends the stream
                    raise AssertionError("decode_body broke the stream") from None
                except FrameError:
                    pass
            pos += cut
    except StreamError:
        assert reader.broken


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2**32 - 1), short_text, payloads, st.integers(0, 9), short_text, short_text,
    short_text,
)  # fmt: skip
def test_any_publish_round_trips(
    rid: int, topic: str, payload: bytes, priority: int, key: str, producer: str, trace: str
) -> None:
    (raw,) = FrameReader().feed(encode_publish(rid, topic, payload, priority, key, producer, trace))
    assert decode_body(*raw) == Publish(rid, topic, payload, priority, key, producer, trace)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.builds(BatchEntry, short_text, payloads, st.integers(0, 9), short_text),
             min_size=1, max_size=30),
    short_text,
    short_text,
)  # fmt: skip
def test_any_batch_round_trips(entries: list[BatchEntry], producer: str, trace: str) -> None:
    (raw,) = FrameReader().feed(encode_publish_batch(9, entries, producer, trace))
    assert decode_body(*raw) == PublishBatch(9, entries, producer, trace)
