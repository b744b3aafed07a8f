"""kill -9 mid-stream: every acked event is in Postgres, and retried events are stored once."""

from __future__ import annotations

import os
import signal
import threading

from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, CoreError, Event, PublishResult
from tests.integration.core.conftest import query


def test_kill_9_loses_no_acked_event(start_core, core_database: DbCredentials) -> None:
    nodes = start_core(1)
    (node,) = nodes.nodes
    client = CoreClient(nodes.addresses, request_timeout_s=5, retries=0)
    acked: list[PublishResult] = []
    unanswered: list[Event] = []
    enough = threading.Event()

    def publish() -> None:
        for chunk in range(1000):
            events = [
                Event("crash/t", {"c": chunk, "i": i}, i % 10, f"k-{chunk}-{i}") for i in range(100)
            ]
            try:
                acked.extend(client.publish_many(events, window=100))
            except CoreError:
                unanswered.extend(events)  # some of these may be stored: their acks were lost
                return
            if len(acked) >= 2000:
                enough.set()

    worker = threading.Thread(target=publish)
    worker.start()
    assert enough.wait(60)
    os.kill(node.pid, signal.SIGKILL)  # in the middle of the stream: publishing never paused
    worker.join(30)
    assert unanswered  # the chunk in flight (or the next one) failed

    stored = {row[0] for row in query(core_database, "SELECT id FROM events")}
    assert {r.event_id for r in acked} <= stored

    # The producer retries what was not acked, with the same keys, on the restarted node.
    nodes.start_node(node)
    retry = CoreClient(nodes.addresses)
    again = retry.publish_many(unanswered)
    retry.close()
    keys = len(acked) + len(unanswered)
    assert query(core_database, "SELECT count(*), count(DISTINCT idempotency_key) FROM events") == [
        [keys, keys]
    ]
    assert len({r.event_id for r in acked + again}) == keys
    client.close()
