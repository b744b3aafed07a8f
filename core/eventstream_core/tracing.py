"""X-Ray: the core's segment of each sampled publish, joined to the request's trace.

The frame carries the request's `X-Amzn-Trace-Id`; after the commit, a writer sends one segment
per sampled event to the X-Ray daemon over UDP (the daemon's own protocol: a JSON header line,
then the segment), parented to the function's segment, from ingest to durable. Unsampled events
cost one substring test. Sending never blocks: a full socket buffer drops the segment, as the
X-Ray SDKs do.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
from collections.abc import Iterable

from eventstream.observability.trace_header import parse_trace_header

log = logging.getLogger("eventstream_core.tracing")

_HEADER = b'{"format": "json", "version": 1}\n'
SEGMENT_NAME = "eventstream-core"


class XRayEmitter:
    def __init__(self, daemon_address: str, node_id: str) -> None:
        host, _, port = daemon_address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.node_id = node_id
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    @classmethod
    def from_env(cls, node_id: str) -> XRayEmitter | None:
        """An emitter when AWS_XRAY_DAEMON_ADDRESS is set (the task definition sets it)."""
        address = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
        if not address:
            return None
        try:
            return cls(address.split()[-1], node_id)  # "udp:h:p tcp:h:p" form: the last one
        except (ValueError, OSError) as e:
            log.warning("X-Ray disabled: AWS_XRAY_DAEMON_ADDRESS=%r: %s", address, e)
            return None

    def emit(
        self,
        events: Iterable[tuple[str | None, str, str, int]],
        commit_start_s: float,
        end_s: float,
    ) -> int:
        """events: (trace header, topic, event id, ingest µs); segments sent for sampled ones.

        Each segment spans ingest to durable, with two subsegments: `queue-wait` (ingest until
        a writer took the batch) and `commit` (the batch's one INSERT until it returned).
        """
        sent = 0
        for header, topic, event_id, created_us in events:
            if not header or "Sampled=1" not in header:
                continue
            fields = parse_trace_header(header)
            root = fields.get("Root")
            if not root:
                continue
            start_s = created_us / 1e6
            taken_s = max(start_s, commit_start_s)  # the clocks of two threads: never before
            segment = {
                "name": SEGMENT_NAME,
                "id": f"{random.getrandbits(64):016x}",
                "trace_id": root,
                "start_time": start_s,
                "end_time": end_s,
                "subsegments": [
                    {
                        "name": "queue-wait",
                        "id": f"{random.getrandbits(64):016x}",
                        "start_time": start_s,
                        "end_time": taken_s,
                    },
                    {
                        "name": "commit",
                        "id": f"{random.getrandbits(64):016x}",
                        "start_time": taken_s,
                        "end_time": end_s,
                        "namespace": "remote",
                        "sql": {"database_type": "PostgreSQL"},
                    },
                ],
                "origin": "AWS::ECS::Container",
                "annotations": {"topic": topic, "node_id": self.node_id},
                "metadata": {"eventstream": {"event_id": event_id}},
            }
            if fields.get("Parent"):
                segment["parent_id"] = fields["Parent"]
            try:
                self.sock.sendto(_HEADER + json.dumps(segment).encode(), self.address)
                sent += 1
            except OSError:
                pass  # a full buffer or no daemon: tracing must never cost an ack
        return sent

    def close(self) -> None:
        self.sock.close()
