"""The X-Ray daemon listener: UDP segments in, the X-Ray API (moto server) out."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time

from localcloud.aws_endpoint import MotoServer, aws_client
from localcloud.xray_daemon import HEADER, XRayDaemon
from tests.support import free_port, free_udp_port


def test_segments_sent_over_udp_reach_the_xray_api() -> None:
    moto = MotoServer("127.0.0.1", free_port())
    moto.start()
    try:
        asyncio.run(_send_and_read_back(moto.endpoint_url))
    finally:
        moto.stop()


async def _send_and_read_back(endpoint: str) -> None:
    daemon = XRayDaemon(lambda: aws_client("xray", endpoint, "us-east-1"), port=free_udp_port())
    await daemon.start()
    trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    segment = {
        "name": "health",
        "id": os.urandom(8).hex(),
        "trace_id": trace_id,
        "start_time": time.time() - 0.01,
        "end_time": time.time(),
    }
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(HEADER + b"\n" + json.dumps(segment).encode(), ("127.0.0.1", daemon.port))
        sock.sendto(b"not a segment", ("127.0.0.1", daemon.port))
    client = aws_client("xray", endpoint, "us-east-1")
    deadline = time.monotonic() + 10
    traces: list[dict] = []
    while time.monotonic() < deadline and not traces:
        await asyncio.sleep(0.1)
        traces = client.batch_get_traces(TraceIds=[trace_id])["Traces"]
    await daemon.stop()
    assert traces, "the segment never reached the X-Ray API"
    documents = [json.loads(s["Document"]) for s in traces[0]["Segments"]]
    assert documents[0]["name"] == "health"
    assert daemon.forwarded == 1
