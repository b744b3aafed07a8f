"""A sampled publish sends the core's X-Ray segment to the daemon, parented to the caller's."""

from __future__ import annotations

import json
import socket

from eventstream.events.core_client import CoreClient
from tests.support import free_udp_port

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def test_sampled_publishes_send_a_segment_and_unsampled_ones_do_not(start_core) -> None:
    port = free_udp_port()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", port))
    daemon.settimeout(10)
    nodes = start_core(1, env={"AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}"})
    client = CoreClient(nodes.addresses)
    client.publish(
        "traced/t", {"i": 0}, trace_header=f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0"
    )
    sampled = client.publish(
        "traced/t", {"i": 1}, trace_header=f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
    )
    header, _, body = daemon.recv(65536).partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    segment = json.loads(body)
    assert segment["trace_id"] == ROOT
    assert segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["name"] == "eventstream-core"
    assert segment["annotations"] == {"topic": "traced/t", "node_id": "core-0"}
    assert segment["metadata"]["eventstream"]["event_id"] == sampled.event_id
    assert segment["start_time"] <= segment["end_time"]
    wait, commit = segment["subsegments"]
    assert (wait["name"], commit["name"]) == ("queue-wait", "commit")
    assert segment["start_time"] == wait["start_time"] <= wait["end_time"]
    assert wait["end_time"] == commit["start_time"] <= commit["end_time"] == segment["end_time"]
    daemon.settimeout(0.5)
    try:
        extra = daemon.recv(65536)
    except TimeoutError:
        extra = None
    assert extra is None  # the unsampled publish sent nothing
    client.close()
    daemon.close()
