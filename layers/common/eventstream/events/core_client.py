"""The client of the core's binary protocol (docs/protocol.md), as the /v1 functions use it.

- One TCP connection per node, kept in the process and so reused across warm invocations.
- Requests are pipelined: many frames go out before the first ack comes back; replies are matched
  by request id.
- The node that owns a topic is chosen over CORE_NODES by rendezvous hashing, so nodes share the
  topics and each topic keeps to one node while it is up; when it is not, the next node in the
  topic's ranking takes the request (all nodes write the same database).
- Every event is sent with the id it will be stored under (`evt_` + a ULID made here), and a
  retry resends the same id: a publish whose ack was lost is never stored twice. A caller's
  idempotency key goes along too, for the producer's own retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import select
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventstream.events.ids import new_ulids
from eventstream.json_text import compact_json
from eventstream.protocol import (
    MAX_BATCH_ENTRIES,
    MAX_FRAME_BYTES,
    Ack,
    BatchEntry,
    FrameReader,
    FrameType,
    Nack,
    NackCode,
    Pong,
    StatsReply,
    decode_body,
    encode_ping,
    encode_publish,
    encode_publish_batch,
    encode_stats,
)
from eventstream.protocol.codec import BATCH_ENTRY_OVERHEAD, BATCH_OVERHEAD
from eventstream.protocol.constants import ULID_BYTES
from eventstream.protocol.messages import EventFields, Message

DEFAULT_CONNECT_TIMEOUT_S = 1.0
DEFAULT_REQUEST_TIMEOUT_S = 5.0
DEFAULT_RETRIES = 2
RETRY_BACKOFF_S = 0.05
_RECV_BYTES = 256 * 1024


class CoreError(Exception):
    """The core did not store the event(s); subclasses say whether trying again can help."""


class CoreBusy(CoreError):
    """The node's queue is full: try again after `retry_after_s` (the API answers 503)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CoreUnavailable(CoreError):
    """No node could be reached, or none could commit, within the retries and the timeout."""


class CoreRejected(CoreError):
    """A node refused the request itself (invalid, too large…): sending it again will not help."""

    def __init__(self, code: NackCode, message: str) -> None:
        super().__init__(f"{code.label}: {message}")
        self.code = code
        self.reason = message


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    payload: Any  # any JSON value; bytes are taken as JSON text already encoded
    priority: int = 5
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PublishResult:
    event_id: str
    created_at: dt.datetime  # when the core took the (first) event in
    duplicate: bool  # the idempotency key was seen before: this is the first event's id
    node: str
    latency_ms: float  # request sent to ack received, retries included


def parse_nodes(value: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (CORE_NODES) as addresses; ValueError names the bad entry."""
    nodes = []
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"CORE_NODES entry {item!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("CORE_NODES names no node")
    return nodes


def rendezvous_order(topic: str, nodes: Sequence[str]) -> list[str]:
    """Nodes ranked for a topic, highest weight first: removing a node moves only its topics."""

    def weight(node: str) -> bytes:
        return hashlib.blake2b(f"{node}\x00{topic}".encode(), digest_size=8).digest()

    return sorted(nodes, key=weight, reverse=True)


def _encode_payload(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    return compact_json(payload).encode()


class _Lost(Exception):
    """The connection broke, or a node could not commit: the unanswered requests may go again."""


class _NodeConnection:
    def __init__(self, address: tuple[str, int], connect_timeout_s: float) -> None:
        self.sock = socket.create_connection(address, timeout=connect_timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = FrameReader()
        self.next_id = 0

    def request_id(self) -> int:
        # 1 … 2^32-1: id 0 is the node's answer to a broken stream, never a request's.
        self.next_id = self.next_id % 0xFFFFFFFF + 1
        return self.next_id

    def looks_alive(self) -> bool:
        """An idle connection has nothing to read: data or EOF means the node hung up."""
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass(slots=True)
class _Request:
    frame_for: Any  # request id -> frame bytes
    sent_at: float = 0.0  # the first attempt's send: retries count in the latency
    replied_at: float = 0.0
    reply: Message | None = None


class CoreClient:
    def __init__(
        self,
        nodes: Sequence[str] | str,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        addresses = parse_nodes(nodes if isinstance(nodes, str) else ",".join(nodes))
        self.nodes = [f"{h}:{p}" for h, p in addresses]
        self._addresses = dict(zip(self.nodes, addresses, strict=True))
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s
        self.retries = retries
        self._conns: dict[str, _NodeConnection] = {}
        self._locks = {node: threading.Lock() for node in self.nodes}

    # --- public API ---------------------------------------------------------------------------

    def owner(self, topic: str) -> str:
        return rendezvous_order(topic, self.nodes)[0]

    def publish(
        self,
        topic: str,
        payload: Any,
        priority: int = 5,
        idempotency_key: str | None = None,
        *,
        producer: str = "",
        trace_header: str = "",
    ) -> PublishResult:
        event = Event(topic, payload, priority, idempotency_key)
        return self.publish_many([event], producer=producer, trace_header=trace_header)[0]

    def publish_many(
        self,
        events: Iterable[Event],
        *,
        producer: str = "",
        trace_header: str = "",
        window: int = 256,
    ) -> list[PublishResult]:
        """One publish frame per event, up to `window` in flight per node; results in order."""
        prepared = self._prepare(events)
        by_node = self._by_owner(prepared)
        results: list[PublishResult | None] = [None] * len(prepared)
        for ranking, indexes in by_node.values():

            def frame(rid: int, i: int) -> bytes:
                topic, payload, priority, key, event_id = prepared[i]
                return encode_publish(
                    rid, topic, payload, priority, key, producer, trace_header, event_id
                )

            requests = [_Request(lambda rid, i=i: frame(rid, i)) for i in indexes]
            answered, used = self._exchange(ranking, requests, window)
            for i, req in zip(indexes, answered, strict=True):
                results[i] = self._result(req, used)[0]
        return results  # type: ignore[return-value]

    def publish_batch(
        self, events: Sequence[Event], *, producer: str = "", trace_header: str = ""
    ) -> list[PublishResult]:
        """Events grouped by owning node into batch frames (1000 events or 1 MiB each)."""
        prepared = self._prepare(events)
        by_node = self._by_owner(prepared)
        results: list[PublishResult | None] = [None] * len(prepared)
        for ranking, indexes in by_node.values():
            chunks = self._chunks(prepared, indexes, producer, trace_header)
            requests = []
            for chunk in chunks:
                entries = [BatchEntry(*prepared[i]) for i in chunk]
                requests.append(
                    _Request(
                        lambda rid, entries=entries: encode_publish_batch(
                            rid, entries, producer, trace_header
                        )
                    )
                )
            answered, used = self._exchange(ranking, requests, window=len(requests))
            for chunk, req in zip(chunks, answered, strict=True):
                for i, result in zip(chunk, self._result(req, used), strict=True):
                    results[i] = result
        return results  # type: ignore[return-value]

    def stats(self) -> dict[str, dict[str, Any]]:
        """Each node's live stats, by node address; a node that cannot answer maps to an error."""
        out: dict[str, dict[str, Any]] = {}
        for node in self.nodes:
            try:
                (req,), _ = self._exchange([node], [_Request(encode_stats)], 1)
            except CoreError as e:
                out[node] = {"error": str(e)}
                continue
            out[node] = (
                req.reply.stats if isinstance(req.reply, StatsReply) else {"error": "no stats"}
            )
        return out

    def ping(self, node: str) -> float:
        """Round-trip time to one node in milliseconds; CoreUnavailable if it does not answer."""
        started = time.perf_counter()
        (req,), _ = self._exchange([node], [_Request(lambda rid: encode_ping(rid, b"ping"))], 1)
        if not isinstance(req.reply, Pong):
            raise CoreUnavailable(f"{node} answered a ping with {type(req.reply).__name__}")
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        for node in list(self._conns):
            self._drop(node)

    # --- internals ----------------------------------------------------------------------------

    def _by_owner(self, prepared: list[EventFields]) -> dict[str, tuple[list[str], list[int]]]:
        """Event indexes grouped by owning node, with the ranking to fail over along."""
        groups: dict[str, tuple[list[str], list[int]]] = {}
        rankings: dict[str, list[str]] = {}  # a batch often repeats its topics
        for i, (topic, *_rest) in enumerate(prepared):
            ranking = rankings.get(topic)
            if ranking is None:
                ranking = rankings[topic] = rendezvous_order(topic, self.nodes)
            groups.setdefault(ranking[0], (ranking, []))[1].append(i)
        return groups

    @staticmethod
    def _prepare(events: Iterable[Event]) -> list[EventFields]:
        # The ids are fixed here, before the first attempt: every retry sends the same ones.
        events = list(events)
        return [
            (e.topic, _encode_payload(e.payload), e.priority, e.idempotency_key or "", event_id)
            for e, event_id in zip(events, new_ulids(len(events)), strict=True)
        ]

    @staticmethod
    def _chunks(
        prepared: list[EventFields], indexes: list[int], producer: str, trace: str
    ) -> list[list[int]]:
        chunks: list[list[int]] = []
        current: list[int] = []
        size = BATCH_OVERHEAD + len(producer.encode()) + len(trace.encode())
        budget = MAX_FRAME_BYTES
        used = size
        for i in indexes:
            topic, payload, _, key, _ = prepared[i]
            entry = (
                BATCH_ENTRY_OVERHEAD
                + ULID_BYTES
                + len(topic.encode())
                + len(key.encode())
                + len(payload)
            )
            if current and (len(current) == MAX_BATCH_ENTRIES or used + entry > budget):
                chunks.append(current)
                current, used = [], size
            current.append(i)
            used += entry
        if current:
            chunks.append(current)
        return chunks

    def _result(self, req: _Request, node: str) -> list[PublishResult]:
        reply = req.reply
        latency_ms = (req.replied_at - req.sent_at) * 1000
        if isinstance(reply, Ack):
            return [
                PublishResult(
                    e.event_id,
                    dt.datetime.fromtimestamp(e.created_at_us / 1e6, tz=dt.UTC),
                    e.duplicate,
                    node,
                    latency_ms,
                )
                for e in reply.entries
            ]
        if isinstance(reply, Nack):
            if reply.code == NackCode.BUSY:
                raise CoreBusy(f"{node}: {reply.message}", reply.retry_after_ms / 1000)
            if reply.code == NackCode.UNAVAILABLE:
                raise CoreUnavailable(f"{node}: {reply.message}")
            raise CoreRejected(reply.code, reply.message)
        raise CoreUnavailable(f"{node} answered with {type(reply).__name__}")

    def _connection(self, node: str) -> tuple[_NodeConnection, bool]:
        """The node's connection and whether it was reused (a reused one may be stale)."""
        conn = self._conns.get(node)
        if conn is not None and conn.looks_alive():
            return conn, True
        if conn is not None:
            self._drop(node)
        conn = _NodeConnection(self._addresses[node], self.connect_timeout_s)
        self._conns[node] = conn
        return conn, False

    def _drop(self, node: str) -> None:
        conn = self._conns.pop(node, None)
        if conn is not None:
            conn.close()

    def _exchange(
        self, ranking: list[str], requests: list[_Request], window: int
    ) -> tuple[list[_Request], str]:
        """Send the requests and wait for their replies, retrying what is unanswered.

        Returns the requests with replies, and the node that gave them. When a node breaks the
        connection or answers `unavailable`, the next node in the ranking takes what is left
        (round the ranking again while retries last); a kept connection found stale costs no retry.
        """
        deadline = time.monotonic() + self.request_timeout_s
        attempt = 0
        last_error = ""
        while True:
            node = ranking[attempt % len(ranking)]
            todo = [r for r in requests if r.reply is None or _retryable(r.reply)]
            for r in todo:
                r.reply = None
            try:
                with self._locks[node]:
                    self._run(node, todo, window, deadline)
                if not any(_retryable(r.reply) for r in requests):
                    return requests, node
                last_error = next(r.reply.message for r in requests if _retryable(r.reply))  # type: ignore[union-attr]
            except _Lost as e:
                last_error = f"{node}: {e}"
            attempt += 1
            if attempt > self.retries or time.monotonic() >= deadline:
                raise CoreUnavailable(f"no node stored the request: {last_error}")
            time.sleep(min(RETRY_BACKOFF_S * attempt, max(0.0, deadline - time.monotonic())))

    def _run(self, node: str, todo: list[_Request], window: int, deadline: float) -> None:
        try:
            conn, reused = self._connection(node)
        except OSError as e:
            raise _Lost(f"cannot connect: {e}") from None
        try:
            self._pipeline(conn, todo, window, deadline)
        except (OSError, _Lost) as e:
            self._drop(node)
            if not reused or any(r.reply is not None for r in todo):
                raise _Lost(str(e) or type(e).__name__) from None
            # A kept connection the node had closed while we were idle: one fresh try, free.
            try:
                conn, _ = self._connection(node)
                self._pipeline(conn, todo, window, deadline)
            except (OSError, _Lost) as e2:
                self._drop(node)
                raise _Lost(str(e2) or type(e2).__name__) from None

    @staticmethod
    def _pipeline(
        conn: _NodeConnection, todo: list[_Request], window: int, deadline: float
    ) -> None:
        waiting: dict[int, _Request] = {}
        queue = iter(todo)
        remaining = len(todo)
        sock = conn.sock
        while remaining:
            out = []
            now = time.perf_counter()
            while len(waiting) < window:
                req = next(queue, None)
                if req is None:
                    break
                rid = conn.request_id()
                waiting[rid] = req
                if not req.sent_at:
                    req.sent_at = now
                out.append(req.frame_for(rid))
            if out:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.sendall(b"".join(out))
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise _Lost("request timed out")
            sock.settimeout(timeout)
            try:
                data = sock.recv(_RECV_BYTES)
            except TimeoutError:
                raise _Lost("request timed out") from None
            if not data:
                raise _Lost("connection closed by the node")
            for raw in conn.reader.feed(data):
                req = waiting.pop(raw.request_id, None)
                if req is None:
                    if raw.request_id == 0 and raw.type == FrameType.NACK:
                        raise _Lost("the node refused the stream")
                    continue  # a reply to a request abandoned on timeout
                req.reply = decode_body(*raw)
                req.replied_at = time.perf_counter()
                remaining -= 1


def _retryable(reply: Message | None) -> bool:
    return isinstance(reply, Nack) and reply.code == NackCode.UNAVAILABLE


_default: CoreClient | None = None
_default_lock = threading.Lock()


def get_client() -> CoreClient:
    """The process's client over CORE_NODES, made once and kept across warm invocations."""
    global _default
    with _default_lock:
        if _default is None:
            nodes = os.environ.get("CORE_NODES", "")
            if not nodes.strip():
                raise CoreUnavailable("CORE_NODES is not set: no core node to publish to")
            _default = CoreClient(
                nodes,
                connect_timeout_s=float(
                    os.environ.get("CORE_CONNECT_TIMEOUT_S", DEFAULT_CONNECT_TIMEOUT_S)
                ),
                request_timeout_s=float(
                    os.environ.get("CORE_REQUEST_TIMEOUT_S", DEFAULT_REQUEST_TIMEOUT_S)
                ),
            )
        return _default


def reset_client() -> None:
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
