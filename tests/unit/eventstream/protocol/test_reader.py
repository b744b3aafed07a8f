"""The frame reader: any split of the byte stream gives the same frames; bad lengths end it."""

from __future__ import annotations

import struct

import pytest

from eventstream.protocol import (
    MAX_FRAME_BYTES,
    FrameReader,
    NackCode,
    StreamError,
    encode_ping,
    encode_publish,
)


def test_frames_survive_any_split() -> None:
    stream = b"".join(encode_publish(i, f"t/{i}", b'{"i":%d}' % i) for i in range(20))
    whole = FrameReader().feed(stream)
    assert [f.request_id for f in whole] == list(range(20))
    for chunk in (1, 3, 7, 64):
        reader = FrameReader()
        frames = []
        for start in range(0, len(stream), chunk):
            frames += reader.feed(stream[start : start + chunk])
        assert frames == whole
        assert reader.buffered == 0


def test_a_partial_frame_waits_for_the_rest() -> None:
    data = encode_ping(1, b"x" * 100)
    reader = FrameReader()
    assert reader.feed(data[:50]) == []
    assert reader.buffered == 50
    assert [f.request_id for f in reader.feed(data[50:])] == [1]


@pytest.mark.parametrize(
    ("length", "code"),
    [
        (MAX_FRAME_BYTES, NackCode.TOO_LARGE),
        (2**32 - 1, NackCode.TOO_LARGE),
        (7, NackCode.INVALID),
        (0, NackCode.INVALID),
    ],
)
def test_a_bad_length_breaks_the_stream_at_once(length: int, code: NackCode) -> None:
    reader = FrameReader()
    # Only the length prefix has arrived: the reader refuses without buffering the claimed size.
    with pytest.raises(StreamError) as e:
        reader.feed(struct.pack(">I", length))
    assert e.value.code is code
    with pytest.raises(StreamError):
        reader.feed(encode_ping(1))  # nothing more is read from a broken stream
