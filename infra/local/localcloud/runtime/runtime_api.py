"""The Lambda Runtime API (2018-06-01) that one worker's `awslambdaric` talks to.

Each worker gets its own server on its own port, so a request's origin names the worker
without guessing: that is how the emulator knows whom to kill on a timeout.

The server is a bare asyncio protocol, not a web framework: every invocation crosses it twice
(/next and /response), and a framework's routing, request and response objects cost about
0.3 ms of CPU per invocation, on the path of every request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

API_PREFIX = "/2018-06-01/runtime"
MAX_HEAD_BYTES = 64 << 10
MAX_BODY_BYTES = 16 << 20  # above Lambda's 6 MB response limit, so the emulator can refuse it
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 413: "Too Large"}


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_header: str | None
    # Resolved by the worker's /response (True, body) or /error (False, body) call.
    outcome: asyncio.Future[tuple[bool, bytes]] = field(
        repr=False, default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    started: float = field(default_factory=time.perf_counter)


@dataclass
class InitError:
    body: bytes
    error_type: str | None


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class RuntimeApi:
    """Serves /next, /response, /error and /init/error for exactly one worker process.

    Every route is answered without a task: a parked /next is answered by `submit` itself, so
    the event is on its way to the worker in the same loop turn the gateway hands it over. A
    /response or /error waits for `acknowledge`, which the worker calls once it has passed the
    result on: the client has its answer before the runtime moves on to its next /next.
    """

    def __init__(
        self, on_first_next: Callable[[], None], on_init_error: Callable[[InitError], None]
    ) -> None:
        self._on_first_next = on_first_next
        self._on_init_error = on_init_error
        self._seen_next = False
        self._pending: Invocation | None = None  # submitted before the worker asked for it
        self._waiting: _Connection | None = None  # the worker's /next, parked until a submit
        self._current: Invocation | None = None
        self._unacknowledged: _Connection | None = None  # a /response waiting for its 202
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), "127.0.0.1", 0, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # A worker's /next long-poll never finishes by itself: close it, don't wait for it.
            for conn in list(self._connections):
                conn.close()
            await self._server.wait_closed()
            self._server = None

    def submit(self, invocation: Invocation) -> None:
        """Hand an invocation to the worker: now if its /next is waiting, else at its next one."""
        if self._pending is not None:
            raise RuntimeError("an invocation is already waiting for this worker")
        waiting, self._waiting = self._waiting, None
        if waiting is None or not waiting.open:
            self._pending = invocation
            return
        waiting.answer(*self._deliver(invocation))

    def handle(
        self, request: _Request, conn: _Connection
    ) -> tuple[int, dict[str, str], bytes] | None:
        """The answer to a request, or None when it waits: /next with nothing submitted, and
        /response or /error until `acknowledge`."""
        path = request.path.partition("?")[0]
        if not path.startswith(API_PREFIX):
            return _json(404, {"errorMessage": "Not found", "errorType": "NotFound"})
        route = path[len(API_PREFIX) :]
        if request.method == "GET" and route == "/invocation/next":
            return self._next(conn)
        if request.method == "POST" and route.startswith("/invocation/"):
            request_id, _, action = route[len("/invocation/") :].partition("/")
            if action in ("response", "error"):
                return self._finish(request_id, request.body, conn, ok=action == "response")
        if request.method == "POST" and route == "/init/error":
            error_type = request.headers.get("lambda-runtime-function-error-type")
            self._on_init_error(InitError(body=request.body, error_type=error_type))
            return _ACCEPTED
        return _json(404, {"errorMessage": "Not found", "errorType": "NotFound"})

    def forget(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        if self._waiting is conn:
            self._waiting = None

    def _next(self, conn: _Connection) -> tuple[int, dict[str, str], bytes] | None:
        if not self._seen_next:
            self._seen_next = True
            self._on_first_next()
        inv, self._pending = self._pending, None
        if inv is None:
            self._waiting = conn
            return None
        return self._deliver(inv)

    def _deliver(self, inv: Invocation) -> tuple[int, dict[str, str], bytes]:
        self._current = inv
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            # awslambdaric reads the event's type from here; without it the call fails.
            "Content-Type": "application/json",
        }
        if inv.trace_header:
            headers["Lambda-Runtime-Trace-Id"] = inv.trace_header
        return 200, headers, inv.payload

    def acknowledge(self) -> None:
        """The 202 to the invocation's /response or /error, which waited for this call."""
        conn, self._unacknowledged = self._unacknowledged, None
        if conn is not None and conn.open:
            conn.answer(*_ACCEPTED)

    def _finish(
        self, request_id: str, body: bytes, conn: _Connection, ok: bool
    ) -> tuple[int, dict[str, str], bytes] | None:
        inv = self._current
        if inv is None or inv.request_id != request_id:
            invalid = {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
            return _json(400, invalid)
        self._current = None
        if inv.outcome.done():  # settled already (a memory kill): nobody will acknowledge
            return _ACCEPTED
        inv.outcome.set_result((ok, body))
        self._unacknowledged = conn
        return None


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection from the runtime client; one request at a time."""

    def __init__(self, api: RuntimeApi) -> None:
        self._api = api
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._busy = False  # a request is being answered (a parked /next, a deferred 202)
        self._continued = False  # "100 Continue" sent for the request being received

    @property
    def open(self) -> bool:
        return self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._api._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._api.forget(self)
        self._transport = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._dispatch()

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Reply to the request in progress, then serve the next one if it is here already."""
        self._reply(status, headers, body)
        self._busy = False
        if self._buffer:
            self._dispatch()

    def _dispatch(self) -> None:
        """Parse one complete request off the buffer, if there is one, and serve it."""
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                self._reply(*_json(413, {"errorMessage": "Header too large"}), close=True)
            return
        lines = bytes(self._buffer[:head_end]).decode("latin-1").split("\r\n")
        method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = head_end + 4
        try:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                decoded = _dechunk(self._buffer, start)
            else:
                decoded = self._sized_body(headers, start)
        except ValueError as e:
            self._reply(*_json(400, {"errorMessage": str(e)}), close=True)
            return
        if decoded is None:
            if headers.get("expect", "").lower() == "100-continue" and not self._continued:
                self._continued = True
                self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        body, end = decoded
        del self._buffer[:end]
        self._continued = False
        self._busy = True
        answer = self._api.handle(_Request(method, path, headers, body), self)
        if answer is not None:
            self.answer(*answer)

    def _sized_body(self, headers: dict[str, str], start: int) -> tuple[bytes, int] | None:
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("Payload too large")
        if len(self._buffer) < start + length:
            return None
        return bytes(self._buffer[start : start + length]), start + length

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _reply(
        self, status: int, headers: dict[str, str], body: bytes, close: bool = False
    ) -> None:
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self._write(head.encode("latin-1") + body)
        if close and self._transport is not None:
            self._transport.close()


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body starting at `start`: (body, end offset), or None while incomplete."""
    body = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)  # ValueError: malformed
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            return (bytes(body), trailer_end + 4) if trailer_end >= 0 else None
        if len(body) + size > MAX_BODY_BYTES:
            raise ValueError("Payload too large")
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += buffer[line_end + 2 : line_end + 2 + size]
        pos = line_end + 2 + size + 2


def _json(status: int, document: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


_ACCEPTED = _json(202, {"status": "OK"})


def error_document(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()
