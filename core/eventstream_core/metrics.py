"""The node's Prometheus metrics: the seed's five, each labelled with the node.

One list of samples feeds both the /metrics page (text exposition format 0.0.4) and
remote-write, so a scrape and a pushed sample can never disagree. Everything is read from
NodeStats, which the writers update once per batch: serving metrics costs the hot path nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eventstream_core.stats import LATENCY_BUCKETS_S, NodeStats

log = logging.getLogger("eventstream_core.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Family:
    """One metric family: its name, type, help and (sample name, labels, value) samples."""

    name: str
    kind: str
    help: str
    samples: tuple[tuple[str, Labels, float], ...]


def collect(stats: NodeStats, queue_depth: int) -> list[Family]:
    node = (("node", stats.node_id),)
    events, errors, cumulative, latency_sum, latency_count = stats.counters()
    bounds = [*(f"{b:g}" for b in LATENCY_BUCKETS_S), "+Inf"]
    latency = (
        *(
            ("eventstream_latency_seconds_bucket", (*node, ("le", le)), float(n))
            for le, n in zip(bounds, cumulative, strict=True)
        ),
        ("eventstream_latency_seconds_sum", node, latency_sum),
        ("eventstream_latency_seconds_count", node, float(latency_count)),
    )
    return [
        Family(
            "eventstream_events_total",
            "counter",
            "Events stored durably by this node (duplicates of an idempotency key not counted).",
            (("eventstream_events_total", node, float(events)),),
        ),
        Family(
            "eventstream_latency_seconds",
            "histogram",
            "Ingest-to-durable latency: frame decoded to batch committed.",
            latency,
        ),
        Family(
            "eventstream_queue_depth",
            "gauge",
            "Events in the node's queue, not yet taken by a writer.",
            (("eventstream_queue_depth", node, float(queue_depth)),),
        ),
        Family(
            "eventstream_worker_utilization",
            "gauge",
            "Share of the last complete second the writer threads spent committing (0 to 1).",
            (("eventstream_worker_utilization", node, stats.utilization()),),
        ),
        Family(
            "eventstream_errors_total",
            "counter",
            "Requests and events refused or failed, by type (a nack code or internal).",
            tuple(
                ("eventstream_errors_total", (*node, ("type", kind)), float(n))
                for kind, n in sorted(errors.items())
            ),
        ),
    ]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def render(families: list[Family]) -> bytes:
    """The text exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/"""
    lines = []
    for f in families:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for name, labels, value in f.samples:
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{pairs}}} {_number(value)}")
    return ("\n".join(lines) + "\n").encode()


class MetricsServer:
    """GET /metrics over plain HTTP/1.1 on the node's event loop (one short response each)."""

    def __init__(self, source: Callable[[], list[Family]], host: str, port: int) -> None:
        self.source = source
        self.host = host
        self.requested_port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.requested_port, reuse_address=True
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5.0)
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            if method not in ("GET", "HEAD"):
                status, body, ctype = "405 Method Not Allowed", b"GET only\n", "text/plain"
            elif path == "/metrics":
                status, body, ctype = "200 OK", render(self.source()), CONTENT_TYPE
            else:
                status, body, ctype = "404 Not Found", b"see /metrics\n", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass  # a scraper that went away or sent garbage gets nothing
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class RemoteWriter(threading.Thread):
    """Pushes the same samples to a remote-write endpoint every interval, and once at stop.

    A failed push is logged and dropped: the counters are cumulative, so the next push
    carries everything the lost one had.
    """

    def __init__(
        self,
        source: Callable[[], list[Family]],
        url: str,
        interval_s: float,
        sigv4_region: str | None = None,
        sigv4_service: str = "aps",
    ) -> None:
        super().__init__(name="remote-write", daemon=True)
        self.source = source
        self.url = url
        self.interval_s = interval_s
        self.sigv4_region = sigv4_region or None
        self.sigv4_service = sigv4_service
        self._stop = threading.Event()
        self.pushes = 0
        self.failures = 0

    def push(self) -> None:
        from eventstream.observability.remote_write import Series, remote_write

        now_ms = int(time.time() * 1000)
        series = [
            Series(name, dict(labels), ((now_ms, value),))
            for family in self.source()
            for name, labels, value in family.samples
        ]
        try:
            remote_write(
                self.url,
                series,
                sigv4_region=self.sigv4_region,
                sigv4_service=self.sigv4_service,
            )
            self.pushes += 1
        except Exception as e:  # the endpoint's trouble must never stop the node
            self.failures += 1
            if self.failures in (1, 10) or self.failures % 100 == 0:
                log.warning("remote-write to %s failed (%d so far): %s", self.url, self.failures, e)

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.push()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop, then push the final values (what the node stored while draining)."""
        self._stop.set()
        self.join(timeout_s)
        self.push()
