"""The X-Ray daemon listener: UDP segments in, the X-Ray API (moto server) out."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time

import pytest

from localcloud.aws_endpoint import MotoServer, aws_client
from localcloud.xray_daemon import HEADER, XRayDaemon, XRayDaemonError
from tests.support import free_udp_port


def test_segments_sent_over_udp_reach_the_xray_api(moto_server: MotoServer) -> None:
    asyncio.run(_send_and_read_back(moto_server.endpoint_url))


async def _send_and_read_back(endpoint: str) -> None:
    daemon = XRayDaemon(endpoint, "us-east-1", port=free_udp_port())
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
    assert (daemon.forwarded, daemon.malformed) == (1, 1)


def test_a_taken_port_is_one_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        daemon = XRayDaemon("http://127.0.0.1:1", "us-east-1", port=taken.getsockname()[1])
        with pytest.raises(XRayDaemonError, match=r"cannot listen on UDP .*--xray-port"):
            asyncio.run(daemon.start())


def test_segments_still_batched_at_stop_are_sent(moto_server: MotoServer) -> None:
    asyncio.run(_send_then_stop_at_once(moto_server.endpoint_url))


async def _send_then_stop_at_once(endpoint: str) -> None:
    daemon = XRayDaemon(endpoint, "us-east-1", port=free_udp_port())
    await daemon.start()
    trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(120):  # more than one PutTraceSegments call holds
            doc = {"name": f"s{i}", "id": os.urandom(8).hex(), "trace_id": trace_id,
                   "start_time": time.time(), "end_time": time.time()}  # fmt: skip
            sock.sendto(HEADER + b"\n" + json.dumps(doc).encode(), ("127.0.0.1", daemon.port))
    await asyncio.sleep(0.05)  # the datagrams are in its socket, inside one batch window
    await daemon.stop()
    assert daemon.forwarded == 120
    client = aws_client("xray", endpoint, "us-east-1")
    segments = client.batch_get_traces(TraceIds=[trace_id])["Traces"][0]["Segments"]
    assert len(segments) == 120
