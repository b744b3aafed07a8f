"""The node on the wire: pipelined replies by request id; broken input never takes it down."""

from __future__ import annotations

import struct

import pytest

from eventstream.protocol import (
    Ack,
    FrameType,
    Nack,
    NackCode,
    Pong,
    encode_ping,
    encode_publish,
)
from eventstream.protocol.constants import HEADER
from tests.integration.core.wire import RawConnection


@pytest.fixture
def address(start_core) -> str:
    return start_core(1).addresses


def test_pipelined_requests_are_answered_by_request_id(address: str) -> None:
    conn = RawConnection(address)
    frames = [encode_publish(1000 + i, "pipe/line", b'{"i":%d}' % i, i % 10) for i in range(200)]
    frames.insert(100, encode_ping(7, b"in the middle"))
    conn.send(b"".join(frames))  # one write: the node reads them as fast as they come
    replies = conn.receive(201)
    assert Pong(7, b"in the middle") in replies
    acks = {r.request_id: r for r in replies if isinstance(r, Ack)}
    assert sorted(acks) == list(range(1000, 1200))
    assert len({a.entries[0].event_id for a in acks.values()}) == 200
    conn.close()


def test_a_bad_frame_is_nacked_and_the_connection_goes_on(address: str) -> None:
    conn = RawConnection(address)
    good = encode_publish(1, "t", b"1")
    v2 = good[:4] + b"\x02" + good[5:]
    unknown_type = HEADER.pack(8, 1, 99, 0, 2)
    ack_to_node = HEADER.pack(10, 1, FrameType.ACK, 0, 3) + b"\x00\x00"
    short = HEADER.pack(9, 1, FrameType.PUBLISH, 0, 4) + b"\x05"
    conn.send(v2 + unknown_type + ack_to_node + short + encode_ping(5))
    replies = conn.receive(5)
    assert [(r.request_id, r.code) for r in replies[:4]] == [
        (1, NackCode.UNSUPPORTED_VERSION),
        (2, NackCode.UNSUPPORTED_TYPE),
        (3, NackCode.UNSUPPORTED_TYPE),
        (4, NackCode.INVALID),
    ]
    assert replies[4] == Pong(5, b"")
    conn.close()


@pytest.mark.parametrize(
    "stream",
    [
        b"\xff" * 64,  # a length of 4 GiB
        struct.pack(">I", 3) + b"abc",  # shorter than a header
        b"GET / HTTP/1.1\r\nHost: core\r\n\r\n",  # someone's browser
    ],
)
def test_a_broken_stream_is_nacked_and_closed_and_the_node_serves_on(
    address: str, stream: bytes
) -> None:
    conn = RawConnection(address)
    conn.send(stream)
    assert conn.at_eof()
    (nack,) = conn.pending
    assert isinstance(nack, Nack)
    assert nack.request_id == 0
    assert nack.code in (NackCode.TOO_LARGE, NackCode.INVALID)
    conn.close()
    fresh = RawConnection(address)
    fresh.send(encode_ping(1))
    assert fresh.receive(1) == [Pong(1, b"")]
    fresh.close()


def test_a_client_that_vanishes_mid_frame_leaves_no_trace(address: str) -> None:
    conn = RawConnection(address)
    frame = encode_publish(1, "t", b'{"big": "' + b"x" * 100_000 + b'"}')
    conn.send(frame[: len(frame) // 2])
    conn.close()
    fresh = RawConnection(address)
    fresh.send(encode_ping(2))
    assert fresh.receive(1) == [Pong(2, b"")]
    fresh.close()
