"""The gateway's HTTP/1.1 server: a bare asyncio protocol over `httptools` (uvicorn's parser).

A web framework's request, routing and response objects cost about 0.1 ms of CPU a request
(measured against this server on the same machine), on the path of every request; the gateway
needs none of them. Keep-alive, pipelining, `Expect: 100-continue`, chunked bodies and the
10 MB limit are handled here; everything API Gateway decides is the handler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

KEEPALIVE_TIMEOUT_S = 75.0  # an idle keep-alive connection is closed after this
MAX_HEAD_BYTES = 64 << 10  # request line and headers together
MAX_PIPELINED = 16  # requests waiting on one connection before it stops reading

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class HttpRequest:
    method: str
    raw_path: str  # as sent: percent-encoding kept
    raw_query: str  # after '?', as sent
    headers: CIMultiDictProxy[str]  # the client's spelling and order
    version: tuple[int, int]
    remote: str
    local_port: int
    body: bytes = b""
    too_large: bool = False  # the body passed the limit: it was not kept

    @property
    def url(self) -> str:
        host = self.headers.get("Host", f"127.0.0.1:{self.local_port}")
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"http://{host}{self.raw_path}{query}"


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: bytes = b""


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class HttpServer:
    """Serves `handler` on host:port; bodies over `max_body_bytes` (0: no limit) are dropped
    and the request marked `too_large`, for the handler to refuse."""

    def __init__(self, handler: Handler, max_body_bytes: int = 0) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop listening; requests in progress get `grace_s`, then are cancelled."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = [c.task for c in self._connections if c.task is not None and not c.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for conn in list(self._connections):
            conn.close()
        await server.wait_closed()


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[tuple[HttpRequest, bool]] = deque()  # (request, keep-alive)
        self.task: asyncio.Task[None] | None = None
        self.remote = "127.0.0.1"
        self.local_port = 0
        self.idle: asyncio.TimerHandle | None = None
        self.paused = False
        self.answered_early = False  # a refused body's request was answered at its headers
        # The request being parsed.
        self._url = b""
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._too_large = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.remote = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        self.local_port = sock[1] if isinstance(sock, tuple) else 0
        self.server._connections.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.transport = None
        if self.idle is not None:
            self.idle.cancel()

    def data_received(self, data: bytes) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # As API Gateway: the request is answered over HTTP/1.1 and the upgrade ignored
            # (curl --http2 asks for h2c). The parser reads no more, so the connection closes.
            if self.queue:
                self.queue[-1] = (self.queue[-1][0], False)
            elif self.task is None:
                self._fail(400, "Bad request: upgrade before a complete request")
        except httptools.HttpParserError as e:
            # httptools reports an exception raised in a callback as a "callback error".
            self._fail(
                400,
                "Request head too large"
                if self._head_bytes > MAX_HEAD_BYTES
                else f"Bad request: {e}",
            )

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = CIMultiDict()
        self._head_bytes = 0
        self._body = []
        self._body_bytes = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        self._headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        limit = self.server.max_body_bytes
        length = self._headers.get("Content-Length")
        expects_continue = self._headers.get("Expect", "").lower() == "100-continue"
        if limit and length is not None and length.isdigit() and int(length) > limit:
            self._too_large = True
            if expects_continue:  # the client waits for a word before sending: say no now
                self.answered_early = True
                self._dispatch(self._request(), keep_alive=False)
        elif (
            expects_continue
            and self.parser.get_http_version() == "1.1"
            and self.transport is not None
        ):
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._body_bytes += len(body)
        limit = self.server.max_body_bytes
        if limit and self._body_bytes > limit:
            self._too_large, self._body = True, []
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self.answered_early:
            return
        # A refused body was read to its end (and dropped), so the client sees the answer
        # rather than a reset mid-upload; the connection closes after it.
        self._dispatch(self._request(), self.parser.should_keep_alive() and not self._too_large)

    def _request(self) -> HttpRequest:
        path, _, query = self._url.decode("latin-1").partition("?")
        version = self.parser.get_http_version()
        return HttpRequest(
            method=self.parser.get_method().decode("ascii"),
            raw_path=path.partition("#")[0],
            raw_query=query.partition("#")[0],
            headers=CIMultiDictProxy(self._headers),
            version=(1, 0) if version == "1.0" else (1, 1),
            remote=self.remote,
            local_port=self.local_port,
            body=b"".join(self._body),
            too_large=self._too_large,
        )

    def _dispatch(self, request: HttpRequest, keep_alive: bool) -> None:
        self.queue.append((request, keep_alive))
        if len(self.queue) >= MAX_PIPELINED and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._serve())

    # serving

    async def _serve(self) -> None:
        """Answer queued requests in order; one task a connection, not one a request."""
        try:
            while self.queue and self.transport is not None:
                request, keep_alive = self.queue.popleft()
                if self.paused and self.transport is not None:
                    self.transport.resume_reading()
                    self.paused = False
                try:
                    response = await self.server.handler(request)
                except Exception:  # a handler bug: answered, and the connection not trusted
                    logger.exception(
                        "HTTP handler failed on %s %s", request.method, request.raw_path
                    )
                    response, keep_alive = HttpResponse(500, body=b"Internal server error"), False
                self._write(request, response, keep_alive)
                if not keep_alive:
                    self.close()
                    return
        finally:
            self.task = None
            if self.transport is not None and not self.queue:
                self._arm_idle()

    def _write(self, request: HttpRequest | None, response: HttpResponse, keep_alive: bool) -> None:
        """The response on the wire; `request` None when none could be read (a 400)."""
        if self.transport is None or self.transport.is_closing():
            return
        status = response.status
        reason = _REASONS.get(status) or "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        lines.append(f"Content-Length: {len(response.body)}")
        lines.append(f"Date: {_date()}")
        if not keep_alive:
            lines.append("Connection: close")
        elif request is not None and request.version == (1, 0):
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        head_only = request is not None and request.method == "HEAD"
        self.transport.write(head if head_only else head + response.body)

    def _count_head(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD_BYTES:
            raise httptools.HttpParserError("request head too large")

    def _fail(self, status: int, message: str) -> None:
        headers = CIMultiDict({"Content-Type": "text/plain"})
        self._write(None, HttpResponse(status, headers, message.encode()), keep_alive=False)
        self.close()

    def _arm_idle(self) -> None:
        self.idle = asyncio.get_running_loop().call_later(KEEPALIVE_TIMEOUT_S, self.close)

    def close(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.close()


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    """The Date header, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]
