"""A local stand-in for the X-Ray daemon: UDP segments in, PutTraceSegments out.

The SDKs send `{"format":"json","version":1}\\n<segment>` datagrams to 127.0.0.1:2000; the real
daemon batches them to the X-Ray API, and so does this one (moto's X-Ray locally). Like the real
daemon it is a process of its own: in the local cloud's process its JSON checks and boto3 calls
took the GIL from the gateway for milliseconds at a time, which showed in every request's p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import socket
import sys
import time
from typing import TextIO

from localcloud.priority import BACKGROUND_NICENESS, lower_priority

HEADER = b'{"format":"json","version":1}'
BATCH_MAX = 50  # PutTraceSegments takes at most 50 documents per call
# Gather for one window after the first segment, as the real daemon does: one call per request's
# few segments cost the whole cloud ~2 ms of CPU a request under load.
BATCH_WINDOW_S = 0.25
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class XRayDaemonError(Exception):
    pass


class XRayDaemon:
    """The daemon's child process, seen from the local cloud: start, address, stop, counts."""

    def __init__(
        self, endpoint_url: str, region: str, host: str = "127.0.0.1", port: int = 2000
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.host = host
        self.port = port
        self._proc: asyncio.subprocess.Process | None = None
        self.forwarded = 0
        self.failed = 0
        self.malformed = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "localcloud.xray_daemon",
            self.endpoint_url,
            self.region,
            self.host,
            str(self.port),
            stdin=asyncio.subprocess.PIPE,  # its EOF (we stopped or died) ends the daemon
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        word, _, rest = line.decode(errors="replace").strip().partition(" ")
        if word != "ready":
            await self.stop()
            raise XRayDaemonError(
                f"X-Ray daemon: {rest or 'did not start'}; "
                "is another daemon running? choose another with --xray-port"
            )
        self.port = int(rest)

    async def stop(self) -> None:
        """Flush what is batched, read the daemon's counts, and wait for it to exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        try:
            out = await asyncio.wait_for(proc.stdout.read(), STOP_TIMEOUT_S)
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("counts "):
                counts = json.loads(line[len("counts ") :])
                self.forwarded, self.failed = counts["forwarded"], counts["failed"]
                self.malformed = counts["malformed"]


def segment_body(datagram: bytes) -> str | None:
    """The segment document of one datagram, or None when it is not a JSON-format segment."""
    header, _, body = datagram.partition(b"\n")
    try:
        if json.loads(header).get("format") != "json":
            return None
        json.loads(body)
        return body.decode()
    except (ValueError, AttributeError):
        return None


def serve(endpoint_url: str, region: str, host: str, port: int, out: TextIO) -> None:
    """The daemon process: runs until its stdin reaches EOF, then flushes and prints counts."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as e:
        print(f"error cannot listen on UDP {host}:{port} ({e.strerror})", file=out, flush=True)
        return
    sock.setblocking(False)
    print(f"ready {sock.getsockname()[1]}", file=out, flush=True)

    from localcloud.aws_endpoint import aws_client

    # Made now, at low priority while the cloud starts: importing boto3 (~150 ms) on the first
    # traced request would land on the requests right behind it.
    client = aws_client("xray", endpoint_url, region, validate=False)
    counts = {"forwarded": 0, "failed": 0, "malformed": 0}
    batch: list[str] = []
    deadline = 0.0
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    closing = False
    while not closing:
        timeout = max(0.0, deadline - time.monotonic()) if batch else None
        for key, _ in selector.select(timeout):
            if key.fileobj is sock:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        body = segment_body(sock.recv(65536))
                        if body is None:
                            counts["malformed"] += 1
                            continue
                        if not batch:
                            deadline = time.monotonic() + BATCH_WINDOW_S
                        batch.append(body)
            elif not os.read(sys.stdin.fileno(), 4096):
                closing = True
        if batch and (closing or len(batch) >= BATCH_MAX or time.monotonic() >= deadline):
            for i in range(0, len(batch), BATCH_MAX):
                chunk = batch[i : i + BATCH_MAX]
                try:
                    client.put_trace_segments(TraceSegmentDocuments=chunk)
                    counts["forwarded"] += len(chunk)
                except Exception:  # traces must never take anything down
                    counts["failed"] += len(chunk)
            batch.clear()
    sock.close()
    print(f"counts {json.dumps(counts)}", file=out, flush=True)


if __name__ == "__main__":
    lower_priority(BACKGROUND_NICENESS)
    serve(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.stdout)
