"""`eventstream local up` starts the core nodes, tells where they are, and they take events."""

from __future__ import annotations

import json

from eventstream.events.core_client import CoreClient
from tests.support import RunningCloud


def test_the_local_cloud_runs_a_core_node_that_stores_events(cloud: RunningCloud) -> None:
    state = json.loads((cloud.state_dir / "cloud.json").read_text())
    nodes = state["core_nodes"]
    assert any(line.strip().startswith("core") and nodes in line for line in cloud.lines)
    client = CoreClient(nodes)
    try:
        result = client.publish("e2e/core", {"hello": "core"})
        assert result.event_id.startswith("evt_")
        stats = client.stats()[nodes]
        assert stats["node_id"] == "core-0"
        assert stats["topics"]["e2e/core"] >= 1
    finally:
        client.close()
