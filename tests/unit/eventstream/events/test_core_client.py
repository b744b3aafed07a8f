"""The client's pure parts: CORE_NODES parsing, rendezvous ownership of topics."""

from __future__ import annotations

from collections import Counter

import pytest

from eventstream.events.core_client import parse_nodes, rendezvous_order


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
