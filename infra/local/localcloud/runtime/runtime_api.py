"""The Lambda Runtime API (2018-06-01) that one worker's `awslambdaric` talks to.

Each worker gets its own server on its own port, so a request's origin names the worker
without guessing: that is how the emulator knows whom to kill on a timeout.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

API_PREFIX = "/2018-06-01/runtime"


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


class RuntimeApi:
    """Serves /next, /response, /error and /init/error for exactly one worker process."""

    def __init__(
        self, on_first_next: Callable[[], None], on_init_error: Callable[[InitError], None]
    ) -> None:
        self._on_first_next = on_first_next
        self._on_init_error = on_init_error
        self._seen_next = False
        self._pending: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self._current: Invocation | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(f"{API_PREFIX}/invocation/next", self._next)
        app.router.add_post(f"{API_PREFIX}/invocation/{{request_id}}/response", self._response)
        app.router.add_post(f"{API_PREFIX}/invocation/{{request_id}}/error", self._error)
        app.router.add_post(f"{API_PREFIX}/init/error", self._init_error)
        # A worker's /next long-poll never finishes by itself: don't wait for it on shutdown.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=0.0,
            handler_cancellation=True,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def submit(self, invocation: Invocation) -> None:
        """Hand an invocation to the worker; it picks it up on its (next) /next call."""
        self._pending.put_nowait(invocation)

    async def _next(self, request: web.Request) -> web.StreamResponse:
        if not self._seen_next:
            self._seen_next = True
            self._on_first_next()
        inv = await self._pending.get()
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
        return web.Response(body=inv.payload, headers=headers)

    async def _finish(self, request: web.Request, ok: bool) -> web.Response:
        inv = self._current
        if inv is None or inv.request_id != request.match_info["request_id"]:
            return web.json_response(
                {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
                status=400,
            )
        body = await request.read()
        self._current = None
        if not inv.outcome.done():
            inv.outcome.set_result((ok, body))
            # Let the waiting caller answer its client before this acknowledgement is sent.
            await asyncio.sleep(0)
        return web.json_response({"status": "OK"}, status=202)

    async def _response(self, request: web.Request) -> web.Response:
        return await self._finish(request, ok=True)

    async def _error(self, request: web.Request) -> web.Response:
        return await self._finish(request, ok=False)

    async def _init_error(self, request: web.Request) -> web.Response:
        body = await request.read()
        self._on_init_error(
            InitError(
                body=body, error_type=request.headers.get("Lambda-Runtime-Function-Error-Type")
            )
        )
        return web.json_response({"status": "OK"}, status=202)


def error_document(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()
