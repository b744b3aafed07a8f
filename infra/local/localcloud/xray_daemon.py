"""A local stand-in for the X-Ray daemon: UDP segments in, PutTraceSegments out.

The SDKs send `{"format":"json","version":1}\\n<segment>` datagrams to 127.0.0.1:2000; the real
daemon batches them to the X-Ray API, and so does this one (moto's X-Ray locally).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

HEADER = b'{"format":"json","version":1}'
BATCH_MAX = 50  # PutTraceSegments takes at most 50 documents per call
FLUSH_INTERVAL_S = 0.2
BATCH_WINDOW_S = 0.25


class XRayDaemonError(Exception):
    pass


class _SegmentProtocol(asyncio.DatagramProtocol):
    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        self.malformed = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        header, _, body = data.partition(b"\n")
        try:
            if json.loads(header).get("format") != "json":
                raise ValueError("unknown format")
            json.loads(body)
        except ValueError:
            self.malformed += 1
            return
        self._sink(body.decode())


class XRayDaemon:
    def __init__(
        self, client_factory: Callable[[], Any], host: str = "127.0.0.1", port: int = 2000
    ) -> None:
        self._client_factory = client_factory
        self.host = host
        self.port = port
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._transport: asyncio.DatagramTransport | None = None
        self._thread: threading.Thread | None = None
        self.forwarded = 0
        self.failed = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _SegmentProtocol(self._queue.put), local_addr=(self.host, self.port)
            )
        except OSError as e:
            raise XRayDaemonError(
                f"X-Ray daemon: cannot listen on UDP {self.host}:{self.port} ({e.strerror}); "
                "is another daemon running? choose another with --xray-port"
            ) from e
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        self._thread = threading.Thread(target=self._forward, name="xray-daemon", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, 3.0)
            self._thread = None

    def _forward(self) -> None:
        client = self._client_factory()
        done = False
        while not done:
            batch: list[str] = []
            try:
                item = self._queue.get(timeout=FLUSH_INTERVAL_S)
            except queue.Empty:
                continue
            # Gather for one window after the first segment, as the real daemon does: one call per
            # request's few segments cost the whole cloud ~2 ms of CPU a request under load.
            deadline = time.monotonic() + BATCH_WINDOW_S
            while item is not None:
                batch.append(item)
                remaining = deadline - time.monotonic()
                if len(batch) >= BATCH_MAX or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            done = item is None
            if batch:
                try:
                    client.put_trace_segments(TraceSegmentDocuments=batch)
                    self.forwarded += len(batch)
                except Exception:
                    self.failed += len(batch)
