"""A real HTTP webhook receiver for tests: verifies every delivery with the `standardwebhooks`
package (the reference implementation), answers as told, and records what it saw."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import free_port

# (webhook-id, how many times this endpoint saw the id before) -> (status, body)
Answer = Callable[[str, int], tuple[int, str]]


@dataclass
class Received:
    msg_id: str
    path: str
    body: dict[str, Any]
    at: float


@dataclass
class WebhookReceiver:
    answer: Answer = field(default=lambda _id, _n: (204, ""))
    hold_s: float = 0.0  # time spent per request: makes overlapping deliveries observable
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why a request did not verify
    overlaps: list[str] = field(default_factory=list)  # "path id" sent again while in flight
    port: int = 0
    _inflight: set[str] = field(default_factory=set)  # "path id" being answered
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        secret = self.secrets.get(request.path)
        if secret is None:
            return web.Response(status=404)
        try:
            Webhook(secret).verify(raw, dict(request.headers))
        except WebhookVerificationError as e:
            with self._lock:
                self.refused.append(f"{request.headers.get('webhook-id')}: {e}")
            return web.Response(status=401, text="bad signature")
        msg_id = request.headers["webhook-id"]
        # One event goes to every matching subscription under the same id: key by endpoint too.
        key = f"{request.path} {msg_id}"
        with self._lock:
            if key in self._inflight:
                self.overlaps.append(key)
            self._inflight.add(key)
            seen = self._counts.get(key, 0)
            self._counts[key] = seen + 1
        try:
            if self.hold_s:
                await asyncio.sleep(self.hold_s)
            status, text = self.answer(msg_id, seen)
            if 200 <= status < 300:
                with self._lock:
                    self.received.append(
                        Received(msg_id, request.path, json.loads(raw), time.time())
                    )
            return web.Response(status=status, text=text)
        finally:
            with self._lock:
                self._inflight.discard(key)

    def start(self) -> WebhookReceiver:
        self.port = free_port()
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-receiver", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the receiver did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def ids(self, path: str | None = None) -> list[str]:
        with self._lock:
            return [r.msg_id for r in self.received if path is None or r.path == path]
