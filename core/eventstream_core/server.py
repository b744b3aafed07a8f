"""The node: an asyncio TCP server in front of the C queue and the writer threads.

The event loop decodes frames, validates events, gives them ids and pushes them onto the queue;
writers commit them; acks go back on the loop once their batch has committed. Every reply carries
the request id it answers, so a client may pipeline as many requests as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Sequence
from typing import Any

import eventstream_native
from eventstream.db.credentials import DbCredentials, load_credentials
from eventstream.events.ids import EventIdGenerator
from eventstream.events.store import StoredEvent
from eventstream.protocol import (
    FrameError,
    FrameReader,
    FrameType,
    NackCode,
    StreamError,
    decode_body,
    encode_ack,
    encode_nack,
    encode_pong,
    encode_stats_reply,
)
from eventstream.protocol.codec import decode_publish
from eventstream.protocol.constants import KNOWN_FLAGS
from eventstream.protocol.messages import EventFields
from eventstream_core.config import CoreConfig
from eventstream_core.frames import decode_batch
from eventstream_core.ingest import new_event
from eventstream_core.stats import NodeStats
from eventstream_core.tracing import XRayEmitter
from eventstream_core.writer import Outcome, QueueItem, Writer

log = logging.getLogger("eventstream_core.server")

MIN_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS = 50, 5000


class Reply:
    """The answer owed to one request: an ack once all its events are stored, or one nack."""

    __slots__ = ("conn", "done", "entries", "remaining", "request_id")

    def __init__(self, conn: CoreConnection, request_id: int, size: int) -> None:
        self.conn = conn
        self.request_id = request_id
        self.entries: list[tuple[str, int, bool]] = [("", 0, False)] * size
        self.remaining = size
        self.done = False

    def settle(self, index: int, outcome: Outcome) -> bytes | None:
        """Record one event's outcome; the frame to send once the request is answered."""
        if self.done:
            return None
        if isinstance(outcome, StoredEvent):
            self.entries[index] = (outcome.event_id, outcome.created_us, outcome.duplicate)
            self.remaining -= 1
            if self.remaining:
                return None
            self.done = True
            return encode_ack(self.request_id, self.entries)
        # One refused event refuses the request; its other events may be stored, and a retry
        # with the same idempotency keys gets their ids back without storing them again.
        self.done = True
        label, message = outcome
        suffix = f" (event {index})" if len(self.entries) > 1 else ""
        return encode_nack(self.request_id, NackCode[label.upper()], message + suffix)


class CoreConnection(asyncio.Protocol):
    def __init__(self, node: CoreNode) -> None:
        self.node = node
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # acks are small and latency-bound: no Nagle delay
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.node.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.node.connections.discard(self)

    # Flow control: a client that does not read its replies stops being read from.
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def send(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
        except StreamError as e:
            self.node.stats.record_error(e.code.label)
            self.send(encode_nack(0, e.code, str(e)))
            if self.transport is not None:
                self.transport.close()  # flushes the nack first
            return
        node = self.node
        for frame in frames:
            try:
                node.handle(self, *frame)
            except FrameError as e:
                node.stats.record_error(e.code.label)
                self.send(encode_nack(e.request_id, e.code, str(e), e.retry_after_ms))
            except Exception:
                log.exception("frame type %s failed", frame.type)
                node.stats.record_error("internal")
                self.send(encode_nack(frame.request_id, NackCode.INTERNAL, "internal error"))


class CoreNode:
    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.node_id = config.effective_node_id
        self.queue = eventstream_native.PriorityQueue(config.queue_capacity, lanes=10)
        self.stats = NodeStats(self.node_id, config.writers)
        self.tracer = XRayEmitter.from_env(self.node_id)
        self.ids = EventIdGenerator()
        self.connections: set[CoreConnection] = set()
        self.pending_bytes = 0  # payload characters pushed and not yet answered (loop thread only)
        self.accepting = False
        self.writers: list[Writer] = []
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._credentials: DbCredentials | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def credentials(self) -> DbCredentials:
        # Re-read on every reconnect when the source is a secret: it may have rotated.
        return load_credentials(force_fetch=True)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        cfg = self.config
        for i in range(cfg.writers):
            writer = Writer(
                i,
                self.queue,
                self.credentials,
                self.node_id,
                self.stats,
                self._deliver,
                cfg.batch_size,
                cfg.batch_max_wait_ms / 1000,
                self.tracer,
            )
            writer.start()
            self.writers.append(writer)
        self._server = await self._loop.create_server(
            lambda: CoreConnection(self), cfg.host, cfg.port, reuse_address=True, backlog=1024
        )
        self.accepting = True

    # --- requests (on the event loop) -----------------------------------------------------

    def handle(
        self, conn: CoreConnection, version: int, ftype: int, flags: int, rid: int, body: bytes
    ) -> None:
        # The hot paths skip the generic dispatcher, which checks the version and flags.
        if version == 1 and not flags & ~KNOWN_FLAGS:
            if ftype == FrameType.PUBLISH_BATCH:
                producer, trace, events = decode_batch(rid, body, flags)
                self._enqueue(conn, rid, events, producer, trace)
                return
            if ftype == FrameType.PUBLISH:
                m = decode_publish(rid, body, flags)
                self._enqueue(
                    conn,
                    rid,
                    [(m.topic, m.payload, m.priority, m.idempotency_key, m.event_id)],
                    m.producer,
                    m.trace_header,
                )
                return
        msg = decode_body(version, ftype, flags, rid, body)  # raises for a bad publish frame
        if ftype == FrameType.STATS:
            conn.send(encode_stats_reply(rid, self.snapshot()))
        elif ftype == FrameType.PING:
            conn.send(encode_pong(rid, msg.data))  # type: ignore[union-attr]
        else:
            raise FrameError(
                NackCode.UNSUPPORTED_TYPE, f"a node does not serve {FrameType(ftype).name}", rid
            )

    def _enqueue(
        self,
        conn: CoreConnection,
        rid: int,
        entries: Sequence[EventFields],
        producer: str,
        trace: str,
    ) -> None:
        if not self.accepting:
            raise FrameError(NackCode.UNAVAILABLE, "node is shutting down", rid)
        now_ns = time.time_ns()
        ingest = time.perf_counter_ns()
        reply = Reply(conn, rid, len(entries))
        items: list[tuple[int, QueueItem]] = []
        size = 0
        topics: set[str] = set()
        for i, (topic, payload, priority, key, event_id) in enumerate(entries):
            try:
                event = new_event(
                    self.ids,
                    now_ns,
                    rid,
                    topic,
                    payload,
                    priority,
                    key,
                    producer,
                    trace,
                    event_id,
                    topics,
                )
            except FrameError as e:
                if len(entries) > 1:
                    raise FrameError(e.code, f"batch entry {i}: {e}", rid) from None
                raise
            items.append((priority, (event, reply, i, ingest)))
            size += len(event.payload)
        # A request alone may exceed the budget (it is at most a frame); otherwise it must fit.
        if self.pending_bytes and self.pending_bytes + size > self.config.queue_max_bytes:
            raise FrameError(NackCode.BUSY, "queue is full (bytes)", rid, self.retry_after_ms())
        try:
            if len(items) == 1:
                self.queue.push(items[0][1], priority=items[0][0])
            else:
                self.queue.push_many(items)
        except eventstream_native.Full:
            raise FrameError(NackCode.BUSY, "queue is full", rid, self.retry_after_ms()) from None
        except eventstream_native.Closed:
            raise FrameError(NackCode.UNAVAILABLE, "node is shutting down", rid) from None
        self.pending_bytes += size

    def retry_after_ms(self) -> int:
        """Roughly how long the writers need to drain the queue at their recent pace."""
        rate = max(self.stats.recent_rate(), 1.0)
        return int(min(MAX_RETRY_AFTER_MS, max(MIN_RETRY_AFTER_MS, 1000 * len(self.queue) / rate)))

    # --- results (writer threads -> event loop) ---------------------------------------------

    def _deliver(self, batch: Sequence[QueueItem], outcomes: Sequence[Outcome]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._settle, batch, outcomes)

    def _settle(self, batch: Sequence[QueueItem], outcomes: Sequence[Outcome]) -> None:
        out: dict[CoreConnection, list[bytes]] = {}
        for (event, reply, index, _), outcome in zip(batch, outcomes, strict=True):
            self.pending_bytes -= len(event.payload)
            frame = reply.settle(index, outcome)
            if frame is not None:
                out.setdefault(reply.conn, []).append(frame)
                if not isinstance(outcome, StoredEvent):
                    self.stats.record_error(outcome[0])
        for conn, frames in out.items():
            conn.send(b"".join(frames))  # one write per connection per batch

    # --- stats and shutdown -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        queue = {
            **self.queue.stats(),
            "bytes": self.pending_bytes,
            "max_bytes": self.config.queue_max_bytes,
        }
        return self.stats.snapshot(queue, len(self.connections))

    async def shutdown(self) -> None:
        """Stop accepting, let the writers drain and commit the queue, flush acks, close."""
        self.accepting = False
        if self._server is not None:
            self._server.close()
        self.queue.close()
        deadline = time.monotonic() + self.config.shutdown_timeout_s
        for writer in self.writers:
            await asyncio.to_thread(writer.join, max(0.0, deadline - time.monotonic()))
        stuck = [w.name for w in self.writers if w.is_alive()]
        if stuck:
            log.error("writers %s did not finish within the shutdown timeout", stuck)
        await asyncio.sleep(0)  # run the acks the writers scheduled last
        flush_deadline = time.monotonic() + 2.0
        while time.monotonic() < flush_deadline and any(
            c.transport is not None and c.transport.get_write_buffer_size()
            for c in self.connections
        ):
            await asyncio.sleep(0.01)  # a reading client gets every ack before the close
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
