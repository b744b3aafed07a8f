"""The client: CORE_NODES parsing, rendezvous ownership of topics, the ids a retry sends."""

from __future__ import annotations

import socket
import threading
from collections import Counter

import pytest

from eventstream.events.core_client import CoreClient, Event, parse_nodes, rendezvous_order
from eventstream.protocol import FrameReader, RawFrame, decode_body, encode_ack


def test_core_nodes_are_parsed() -> None:
    assert parse_nodes(" 127.0.0.1:7070, core-2.local:7071 ,") == [
        ("127.0.0.1", 7070),
        ("core-2.local", 7071),
    ]
    assert parse_nodes("[::1]:7070") == [("::1", 7070)]


@pytest.mark.parametrize("value", ["", "host", "host:", ":70", "host:0", "host:http", "h:70000"])
def test_bad_core_nodes_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CORE_NODES"):
        parse_nodes(value)


def test_rendezvous_spreads_topics_and_moves_only_a_lost_nodes_share() -> None:
    nodes = ["a:1", "b:1", "c:1"]
    topics = [f"sensor/{i}" for i in range(3000)]
    owners = {t: rendezvous_order(t, nodes)[0] for t in topics}
    spread = Counter(owners.values())
    assert set(spread) == set(nodes)
    assert min(spread.values()) > 800  # about a third each
    # Order of the node list does not matter: every client agrees on the owner.
    assert all(rendezvous_order(t, list(reversed(nodes)))[0] == owners[t] for t in topics[:100])
    survivors = ["a:1", "c:1"]
    for t in topics:
        new_owner = rendezvous_order(t, survivors)[0]
        if owners[t] != "b:1":
            assert new_owner == owners[t]  # only b's topics move
        else:
            assert new_owner == rendezvous_order(t, nodes)[1]  # to their second choice


def test_a_retry_after_a_lost_ack_sends_the_same_event_ids() -> None:
    # A scripted peer: the first connection takes the batch and hangs up without an ack, as a
    # node killed after its commit would; the second acks. The real node's side of a resend is
    # tested in tests/integration/core/test_publish.py.
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[list[str]] = []

    def serve() -> None:
        for attempt in range(2):
            conn, _ = server.accept()
            reader = FrameReader()
            frames: list[RawFrame] = []
            while not frames:
                frames = reader.feed(conn.recv(65536))
            batch = decode_body(*frames[0])
            seen.append([e.event_id for e in batch.entries])
            if attempt:
                ack = [("evt_" + e.event_id, 1, True) for e in batch.entries]
                conn.sendall(encode_ack(batch.request_id, ack))
            conn.close()

    peer = threading.Thread(target=serve)
    peer.start()
    client = CoreClient(f"127.0.0.1:{server.getsockname()[1]}", retries=1)
    try:
        results = client.publish_batch([Event("a/b", {"i": i}) for i in range(3)])
    finally:
        client.close()
        peer.join(5)
        server.close()
    assert len(seen) == 2
    assert len(set(seen[0])) == 3
    assert seen[1] == seen[0]
    assert [r.event_id for r in results] == ["evt_" + u for u in seen[0]]
