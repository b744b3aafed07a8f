"""10,000 random and mutated frames at a live node: each gets one reply, the node serves on."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstream.protocol import (
    Ack,
    BatchEntry,
    Nack,
    Pong,
    StatsReply,
    encode_ping,
    encode_publish,
    encode_publish_batch,
)
from eventstream.protocol.constants import HEADER, HEADER_BYTES
from tests.integration.core.wire import RawConnection

PING_ID = 2**32 - 1  # no fuzzed frame uses it
FRAMES_PER_EXAMPLE = 20  # sent in one write, as a pipelining client would
EXAMPLES = 500  # 10,000 frames in all
VALID = [
    encode_publish(1, "fuzz/topic", b'{"a": [1, 2, {"b": null}]}', 5, "key", "producer", "Root=1"),
    encode_publish_batch(1, [BatchEntry("fuzz/a", b"1", 3, "k1"), BatchEntry("fuzz/b", b'"x"')]),
]


@st.composite
def frames(draw: st.DrawFn) -> tuple[int, bytes]:
    rid = draw(st.integers(1, PING_ID - 1))
    if draw(st.booleans()):  # any header, any body
        version = draw(st.sampled_from([1, 1, 1, 0, 2, 255]))
        ftype = draw(st.integers(0, 12))
        flags = draw(st.sampled_from([0, 0, 0, 1, 0x8000]))
        body = draw(st.binary(max_size=300))
    else:  # a valid publish with some of its body bytes changed
        valid = draw(st.sampled_from(VALID))
        _, version, ftype, flags, _ = HEADER.unpack_from(valid)
        body = bytearray(valid[HEADER_BYTES:])
        for _ in range(draw(st.integers(1, 4))):
            body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
        body = bytes(body[: draw(st.integers(0, len(body)))])  # and maybe cut short
    return rid, HEADER.pack(8 + len(body), version, ftype, flags, rid) + body


def test_fuzzed_frames_never_crash_or_hang_the_node(start_core) -> None:
    nodes = start_core(1)
    conn = RawConnection(nodes.addresses, timeout_s=10)  # a hang fails the test, not the suite

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        st.lists(
            frames(),
            min_size=FRAMES_PER_EXAMPLE,
            max_size=FRAMES_PER_EXAMPLE,
            unique_by=lambda case: case[0],
        )
    )
    def one_reply_per_frame(cases: list[tuple[int, bytes]]) -> None:
        conn.send(b"".join(frame for _, frame in cases) + encode_ping(PING_ID))
        replies = {r.request_id: r for r in conn.receive(len(cases) + 1)}
        assert replies.pop(PING_ID) == Pong(PING_ID, b"")
        assert set(replies) == {rid for rid, _ in cases}
        assert all(isinstance(r, Ack | Nack | Pong | StatsReply) for r in replies.values())

    one_reply_per_frame()
    conn.close()
    after = RawConnection(nodes.addresses)
    after.send(encode_ping(1))
    assert after.receive(1) == [Pong(1, b"")]
    after.close()
