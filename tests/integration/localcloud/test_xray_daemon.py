"""The X-Ray daemon listener: UDP segments in, moto's X-Ray service out, read back by its API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from typing import Any

import pytest

from localcloud.aws_endpoint import MotoServer, aws_client
from localcloud.xray_daemon import HEADER, XRayDaemon, XRayDaemonError
from tests.support import eventually, free_port, free_udp_port


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def segment(trace_id: str, name: str) -> dict[str, Any]:
    now = time.time()
    return {"name": name, "id": os.urandom(8).hex(), "trace_id": trace_id,
            "start_time": now - 0.01, "end_time": now}  # fmt: skip


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


def datagram(document: dict[str, Any], indent: int | None = None) -> bytes:
    return HEADER + b"\n" + json.dumps(document, indent=indent).encode()


def stored_documents(server: MotoServer, trace_id: str) -> list[dict[str, Any]]:
    """The trace's documents as BatchGetTraces returns them (none yet: an empty list)."""
    client = aws_client("xray", server.endpoint_url, "us-east-1")
    traces = client.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(s["Document"]) for s in traces[0]["Segments"]] if traces else []


async def started(server: MotoServer) -> XRayDaemon:
    assert server.xray_fd is not None
    daemon = XRayDaemon(server.xray_fd, port=free_udp_port())
    await daemon.start()
    return daemon


def test_segments_sent_over_udp_reach_the_xray_api(moto_server: MotoServer) -> None:
    async def scenario() -> XRayDaemon:
        daemon = await started(moto_server)
        send(daemon.port, datagram(segment(trace_id, "health")), b"not a segment")
        # Readable through the API within the batch window, while the daemon runs.
        await asyncio.to_thread(eventually, lambda: stored_documents(moto_server, trace_id))
        await daemon.stop()
        return daemon

    trace_id = new_trace_id()
    daemon = asyncio.run(scenario())
    assert [d["name"] for d in stored_documents(moto_server, trace_id)] == ["health"]
    assert (daemon.forwarded, daemon.malformed, daemon.failed) == (1, 1, 0)


def test_a_taken_port_is_one_clear_error() -> None:
    read_fd, write_fd = os.pipe()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            daemon = XRayDaemon(write_fd, port=taken.getsockname()[1])
            with pytest.raises(XRayDaemonError, match=r"cannot listen on UDP .*--xray-port"):
                asyncio.run(daemon.start())
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_segments_still_batched_at_stop_are_sent(moto_server: MotoServer) -> None:
    async def scenario() -> XRayDaemon:
        daemon = await started(moto_server)
        # More than one PutTraceSegments call holds, all inside one batch window.
        send(daemon.port, *(datagram(segment(trace_id, f"s{i}")) for i in range(120)))
        await asyncio.sleep(0.05)  # the datagrams are in its socket
        await daemon.stop()
        return daemon

    trace_id = new_trace_id()
    assert asyncio.run(scenario()).forwarded == 120
    documents = eventually(lambda: len(stored_documents(moto_server, trace_id)) == 120 or None)
    assert documents


def test_documents_moto_refuses_are_logged_and_the_rest_stored(moto_server: MotoServer) -> None:
    """A document over several lines arrives whole; one the X-Ray API would list as unprocessed
    (no trace id) is named in moto's log instead, and takes nothing else with it."""

    refused = {"name": "no-trace", "id": os.urandom(8).hex(), "start_time": time.time()}

    async def scenario() -> None:
        daemon = await started(moto_server)
        send(
            daemon.port,
            datagram(segment(trace_id, "indented"), indent=2),
            datagram(refused),
            datagram(segment(trace_id, "after")),
        )
        await daemon.stop()

    trace_id = new_trace_id()
    asyncio.run(scenario())
    names = eventually(lambda: {d["name"] for d in stored_documents(moto_server, trace_id)} or None)
    assert names == {"indented", "after"}
    log_path = moto_server.log_path
    assert log_path is not None
    line = eventually(lambda: next((x for x in log_path.read_text().splitlines()
                                    if x.startswith("xray delivery")), None))  # fmt: skip
    assert line.endswith(
        f"X-Ray segment {refused['id']} not stored: MissingParam: Missing segment ID"
    )


def test_the_daemon_counts_failures_once_moto_is_gone_and_keeps_serving() -> None:
    async def scenario() -> XRayDaemon:
        server = MotoServer("127.0.0.1", free_port())
        server.start()
        try:
            daemon = await started(server)
            assert server.pid is not None
            os.kill(server.pid, signal.SIGKILL)  # the pipe's read end goes with it
            os.waitpid(server.pid, 0)
            send(daemon.port, datagram(segment(new_trace_id(), "lost")))
            await asyncio.sleep(0.05)
            await daemon.stop()
            return daemon
        finally:
            server.stop()

    daemon = asyncio.run(scenario())
    assert (daemon.forwarded, daemon.failed) == (0, 1)
