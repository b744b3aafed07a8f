"""Webhook delivery: a thread with its own event loop that claims due deliveries and POSTs them.

Deliveries are created by the database in the transaction that stores their events (migration
004's trigger), so an acked event's webhooks survive a crash of the node that took it. Any node
may deliver any row: claims use FOR UPDATE SKIP LOCKED, and a row heads its (subscription, topic)
before it is taken, so several nodes share the work and each subscriber still sees a topic in
order. A failed attempt is retried on the schedule (Svix's by default) and the row is failed
after the last; every attempt is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from eventstream.db.connection import DatabaseUnavailableError, connect
from eventstream.db.credentials import CredentialsError, DbCredentials
from eventstream.http import dumps
from eventstream.webhooks import retry, ssrf
from eventstream.webhooks.signing import sign
from eventstream.webhooks.store import AttemptOutcome, DueDelivery, claim_due, record_attempt

if TYPE_CHECKING:
    from pg8000.native import Connection

log = logging.getLogger("eventstream_core.delivery")

T = TypeVar("T")
EXCERPT_BYTES = 1024
USER_AGENT = "EventStream-Webhooks/1"
RECONNECT_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class DeliverySettings:
    enabled: bool = True
    schedule: tuple[float, ...] = retry.SVIX_SCHEDULE
    timeout_s: float = 10.0
    concurrency: int = 32  # POSTs in flight per node
    poll_s: float = 0.5  # how often an idle node looks for due rows
    lease_s: float = 60.0  # longer than any attempt: a row is only re-taken from a dead node
    allow_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliverySettings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            enabled=env.get("WEBHOOK_DELIVERY", "1") != "0",
            schedule=retry.parse_schedule(env.get("WEBHOOK_RETRY_SCHEDULE")),
            timeout_s=float(env.get("WEBHOOK_TIMEOUT_S") or d.timeout_s),
            concurrency=max(1, int(env.get("WEBHOOK_CONCURRENCY") or d.concurrency)),
            poll_s=float(env.get("WEBHOOK_POLL_S") or d.poll_s),
            lease_s=float(env.get("WEBHOOK_LEASE_S") or d.lease_s),
            allow_private=ssrf.private_allowed(env),
        )


class PublicResolver(AbstractResolver):
    """Resolve as usual, then drop every non-public address (DNS rebinding, internal names)."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if ssrf.is_public_address(r["host"])]
        if not public:
            raise OSError(f"{host} resolves only to private, loopback or link-local addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def request_body(delivery: DueDelivery) -> bytes:
    """The JSON a receiver gets: a Standard Webhooks envelope around the event."""
    created = delivery.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return dumps(
        {
            "type": "event.published",
            "timestamp": created,
            "data": {
                "event_id": delivery.event_id,
                "topic": delivery.topic,
                "payload": delivery.payload,
                "priority": delivery.priority,
                "created_at": created,
            },
        }
    ).encode("utf-8")


class DeliveryWorker(threading.Thread):
    """One node's deliverer. start() it; stop() waits for the attempts in flight."""

    def __init__(
        self,
        credentials: Callable[[], DbCredentials],
        node_id: str,
        settings: DeliverySettings,
    ) -> None:
        super().__init__(name="webhook-delivery", daemon=True)
        self._credentials = credentials
        self.node_id = node_id
        self.settings = settings
        self._conn: Connection | None = None
        self._db_lock = threading.Lock()
        self._failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._halt: asyncio.Event | None = None
        self._ready = threading.Event()
        self.attempts_made = 0  # counters for logs and tests; the rows are the record
        self.delivered = 0

    # --- thread control ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("webhook delivery stopped on an error")
        finally:
            self._ready.set()
            self._close()

    def stop(self, timeout_s: float = 15.0) -> None:
        self._ready.wait(timeout_s)
        loop, stop = self._loop, self._halt
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have ended already
                loop.call_soon_threadsafe(stop.set)
        self.join(timeout_s)

    # --- the loop ---------------------------------------------------------------------------

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._halt = asyncio.Event()
        self._ready.set()
        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.concurrency, resolver=None if s.allow_private else PublicResolver()
        )
        timeout = aiohttp.ClientTimeout(total=s.timeout_s)
        inflight: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, auto_decompress=True
        ) as session:
            stopping = asyncio.ensure_future(self._halt.wait())
            while not self._halt.is_set():
                claimed = await self._claim(s.concurrency - len(inflight))
                for delivery in claimed:
                    task = asyncio.ensure_future(self._attempt(session, delivery))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                if claimed and len(inflight) < s.concurrency:
                    continue  # there may be more due right now
                # Sleep until the poll interval passes, a stop, or an attempt ends (its
                # successor in the same topic may be due at once).
                await asyncio.wait(
                    {stopping, *inflight}, timeout=s.poll_s, return_when=asyncio.FIRST_COMPLETED
                )
            if inflight:
                await asyncio.wait(inflight, timeout=s.timeout_s + 5)
            stopping.cancel()

    async def _claim(self, free: int) -> list[DueDelivery]:
        if free <= 0:
            return []
        try:
            lease_s = self.settings.lease_s
            return await self._db(lambda conn: claim_due(conn, limit=free, lease_s=lease_s))
        except _DB_ERRORS as e:
            await self._backoff(e)
            return []

    async def _attempt(self, session: aiohttp.ClientSession, delivery: DueDelivery) -> None:
        outcome = await self._post(session, delivery)
        self.attempts_made += 1
        if outcome.error is None:
            status, delay = "succeeded", 0.0
            self.delivered += 1
        else:
            wait = retry.next_delay(self.settings.schedule, delivery.attempt)
            status, delay = ("failed", 0.0) if wait is None else ("pending", wait)
        try:
            await self._db(
                lambda conn: record_attempt(
                    conn, delivery, outcome, status=status, delay_s=delay, node_id=self.node_id
                )
            )
        except _DB_ERRORS as e:
            # The lease runs out and the row is attempted again: at least once, never lost.
            log.warning(
                "could not record attempt %d of delivery %d: %s", delivery.attempt, delivery.id, e
            )
        if status == "failed":
            log.warning(
                "delivery %d of %s to subscription %s failed after %d attempts: %s",
                delivery.id,
                delivery.event_id,
                delivery.subscription_id,
                delivery.attempt,
                outcome.error,
            )

    async def _post(self, session: aiohttp.ClientSession, delivery: DueDelivery) -> AttemptOutcome:
        attempted_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            # Literal addresses never reach the resolver: check the URL itself as well.
            ssrf.check_url(delivery.webhook_url, allow_private=self.settings.allow_private)
            body = request_body(delivery)
            headers = {
                **sign(delivery.signing_secret, delivery.event_id, body),
                "content-type": "application/json",
                "user-agent": USER_AGENT,
            }
            async with session.post(
                delivery.webhook_url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                raw = b""
                while len(raw) < EXCERPT_BYTES:  # read() may return less than is on its way
                    chunk = await response.content.read(EXCERPT_BYTES - len(raw))
                    if not chunk:
                        break
                    raw += chunk
                excerpt = raw.decode("utf-8", "replace")
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except ssrf.UnsafeUrlError as e:
            error = f"blocked: {e}"
        except TimeoutError:
            error = f"timed out after {self.settings.timeout_s:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as e:
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return AttemptOutcome(
            attempted_at=attempted_at,
            duration_ms=(time.perf_counter() - started) * 1000,
            http_status=status,
            error=error,
            response_excerpt=excerpt,
        )

    # --- the database (blocking pg8000, run off the loop) -----------------------------------

    async def _db(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self._run_db, work)

    def _run_db(self, work: Callable[[Connection], T]) -> T:
        with self._db_lock:  # one connection, one statement at a time
            if self._conn is None:
                try:
                    creds = self._credentials()
                except CredentialsError as e:
                    raise DatabaseUnavailableError("no credentials", str(e)) from e
                self._conn = connect(
                    creds, timeout_s=5.0, application_name=f"core {self.node_id} delivery"
                )
            try:
                result = work(self._conn)
            except BaseException:
                self._close_locked()
                raise
            self._failures = 0
            return result

    async def _backoff(self, error: BaseException) -> None:
        self._failures += 1
        delay = RECONNECT_BACKOFF_S[min(self._failures, len(RECONNECT_BACKOFF_S)) - 1]
        log.warning("webhook claims paused %.1f s: %s", delay, error)
        assert self._halt is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), delay)

    def _close(self) -> None:
        with self._db_lock:
            self._close_locked()

    def _close_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _db_errors() -> tuple[type[BaseException], ...]:
    from pg8000.exceptions import DatabaseError, InterfaceError

    return (DatabaseUnavailableError, DatabaseError, InterfaceError, OSError)


_DB_ERRORS = _db_errors()


def start_delivery(
    credentials: Callable[[], DbCredentials], node_id: str, env: Mapping[str, str] | None = None
) -> DeliveryWorker | None:
    """The node's deliverer, started; None when WEBHOOK_DELIVERY=0."""
    settings = DeliverySettings.from_env(env)
    if not settings.enabled:
        return None
    worker = DeliveryWorker(credentials, node_id, settings)
    worker.start()
    return worker
