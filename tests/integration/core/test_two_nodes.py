"""Two nodes on one database: topics spread by rendezvous hashing, keys dedupe across nodes."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, Event
from tests.integration.core.conftest import query


def test_topics_spread_over_nodes_and_fail_over(start_core, core_database: DbCredentials) -> None:
    nodes = start_core(2)
    client = CoreClient(nodes.addresses)
    topics = [f"region-{i}/load" for i in range(40)]
    results = client.publish_many([Event(t, {"t": t}) for t in topics])
    owners = {t: r.node for t, r in zip(topics, results, strict=True)}
    assert owners == {t: client.owner(t) for t in topics}
    assert set(Counter(owners.values())) == set(client.nodes)  # both nodes took a share
    stats = client.stats()
    for node in client.nodes:
        assert set(stats[node]["topics"]) == {t for t, n in owners.items() if n == node}

    # One node dies: its topics go to the other, the rest stay where they were.
    dead = nodes.nodes[0]
    os.kill(dead.pid, signal.SIGKILL)
    dead.proc.wait()
    after = client.publish_many([Event(t, {"after": True}) for t in topics])
    assert {r.node for r in after} == {nodes.nodes[1].address}
    assert query(core_database, "SELECT count(*) FROM events") == [[80]]
    client.close()


def test_one_key_sent_to_both_nodes_at_once_is_stored_once(
    start_core, core_database: DbCredentials
) -> None:
    nodes = start_core(2)
    addresses = [n.address for n in nodes.nodes]
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def publish(i: int) -> None:
        client = CoreClient([addresses[i % 2]])  # half the racers on each node
        barrier.wait()
        ids.append(
            client.publish("race/t", {"racer": i}, idempotency_key="same", producer="p").event_id
        )
        client.close()

    racers = [threading.Thread(target=publish, args=(i,)) for i in range(8)]
    for t in racers:
        t.start()
    for t in racers:
        t.join(30)
    assert len(ids) == 8
    assert len(set(ids)) == 1
    assert query(core_database, "SELECT count(*) FROM events") == [[1]]
