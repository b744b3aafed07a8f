"""A full queue answers busy at once; SIGTERM drains what is queued before the node exits."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator

import pytest
from pg8000.native import Connection

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient
from eventstream.protocol import Ack, Nack, NackCode, encode_publish
from tests.integration.core.conftest import query
from tests.integration.core.wire import RawConnection


@contextlib.contextmanager
def events_locked(creds: DbCredentials) -> Iterator[Connection]:
    """Writers block on the events table until the block ends: the queue fills up behind them."""
    conn = connect(creds)
    conn.run("START TRANSACTION")
    conn.run("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
    try:
        yield conn
    finally:
        conn.run("ROLLBACK")
        conn.close()


def wait_for_queue(client: CoreClient, ready: Callable[[dict], bool]) -> None:
    """Until the node's queue counters (depth, pushed, popped…) satisfy `ready`."""
    deadline = time.monotonic() + 10
    while True:
        queue = next(iter(client.stats().values()))["queue"]
        if ready(queue):
            return
        assert time.monotonic() < deadline, f"the queue never got there: {queue}"
        time.sleep(0.02)


def test_a_full_queue_answers_busy_and_stores_the_rest(
    start_core, core_database: DbCredentials
) -> None:
    nodes = start_core(1, "--queue-capacity", "3", "--writers", "1", "--batch-size", "1")
    client = CoreClient(nodes.addresses)
    conn = RawConnection(nodes.addresses)
    with events_locked(core_database):
        conn.send(encode_publish(1, "busy/t", b"1"))
        wait_for_queue(client, lambda q: q["popped"] == 1)  # the writer took it, waits on the lock
        conn.send(b"".join(encode_publish(i, "busy/t", b"%d" % i) for i in range(2, 12)))
        busy = conn.receive(7)  # nothing is acked while the table is locked: only refusals come
        assert {r.request_id for r in busy} == set(range(5, 12))
        assert all(isinstance(r, Nack) and r.code is NackCode.BUSY for r in busy)
        assert all(r.retry_after_ms >= 50 for r in busy)
    acks = conn.receive(4)
    assert all(isinstance(a, Ack) for a in acks)
    assert sorted(a.request_id for a in acks) == [1, 2, 3, 4]
    assert query(core_database, "SELECT count(*) FROM events") == [[4]]
    stats = next(iter(client.stats().values()))
    assert stats["queue"]["rejected_full"] == 7
    assert stats["queue"]["high_water_mark"] == 3
    assert stats["errors"] == {"busy": 7}
    conn.close()
    client.close()


def test_sigterm_drains_the_queue_then_exits(start_core, core_database: DbCredentials) -> None:
    nodes = start_core(1, "--writers", "1")
    (node,) = nodes.nodes
    client = CoreClient(nodes.addresses)
    conn = RawConnection(nodes.addresses)
    with events_locked(core_database):
        conn.send(b"".join(encode_publish(i, "drain/t", b"%d" % i) for i in range(1, 51)))
        # The writer holds what it took first, blocked; the rest waits in the queue.
        wait_for_queue(client, lambda q: q["pushed"] == 50 and q["popped"] >= 1)
        client.close()
        node.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert node.is_running()  # it waits for its writer: queued events are not dropped
        conn.send(encode_publish(99, "drain/t", b"99"))
        (late,) = conn.receive(1)
        assert (late.request_id, late.code) == (99, NackCode.UNAVAILABLE)  # not taking new work
        with pytest.raises(ConnectionRefusedError):
            RawConnection(nodes.addresses)  # nor new connections
    acks = conn.receive(50)
    assert sorted(a.request_id for a in acks) == list(range(1, 51))
    assert node.proc.wait(10) == 0
    assert query(core_database, "SELECT count(*) FROM events") == [[50]]
    conn.close()


def test_the_queue_is_bounded_in_bytes_too(start_core, core_database: DbCredentials) -> None:
    nodes = start_core(1, "--queue-max-bytes", "1000", "--writers", "1", "--batch-size", "1")
    client = CoreClient(nodes.addresses)
    conn = RawConnection(nodes.addresses)
    big, small = b'"' + b"x" * 598 + b'"', b'"' + b"y" * 298 + b'"'
    with events_locked(core_database):
        conn.send(encode_publish(1, "bytes/t", big))
        wait_for_queue(client, lambda q: q["popped"] == 1)  # held by the blocked writer
        conn.send(encode_publish(2, "bytes/t", big) + encode_publish(3, "bytes/t", small))
        (refused,) = conn.receive(1)
        assert (refused.request_id, refused.code) == (2, NackCode.BUSY)  # 600 + 600 > 1000
        queue = next(iter(client.stats().values()))["queue"]
        assert (queue["bytes"], queue["max_bytes"]) == (900, 1000)  # 600 + 300 fit
    assert sorted(a.request_id for a in conn.receive(2)) == [1, 3]
    assert next(iter(client.stats().values()))["queue"]["bytes"] == 0
    conn.close()
    client.close()
