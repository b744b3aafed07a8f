"""Writer threads: drain the C queue in batches and commit each batch in one transaction.

A writer owns its Postgres connection. Only after COMMIT returns does it hand the results to the
event loop, which acks; a batch that fails to commit is nacked `unavailable`, so the producer
retries with the same idempotency key and nothing is stored twice, even when the COMMIT itself
was lost in flight.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from eventstream.db.connection import DatabaseUnavailableError, connect, sqlstate
from eventstream.db.credentials import CredentialsError, DbCredentials
from eventstream.events.store import NewEvent, StoredEvent, insert_events, prune_idempotency_keys
from eventstream_core.stats import NodeStats
from eventstream_core.tracing import XRayEmitter

if TYPE_CHECKING:
    from pg8000.native import Connection

log = logging.getLogger("eventstream_core.writer")

# Item on the queue: (event, reply, index in its request, perf_counter_ns at ingest).
QueueItem = tuple[NewEvent, Any, int, int]
# The outcome of one event: its stored id, or the refusal (code label, message).
Outcome = StoredEvent | tuple[str, str]
Deliver = Callable[[Sequence[QueueItem], Sequence[Outcome]], None]

POLL_S = 0.2  # how often an idle writer looks whether it should stop
RECONNECT_BACKOFF_S = (0.05, 0.1, 0.2, 0.5, 1.0)
PRUNE_EVERY_S = 3600.0
# Class 22 (data exception: bad JSON, \u0000 in JSONB) and 23 (integrity): one event's fault.
_EVENT_FAULT_CLASSES = ("22", "23")


class Writer(threading.Thread):
    def __init__(
        self,
        index: int,
        queue: Any,
        credentials: Callable[[], DbCredentials],
        node_id: str,
        stats: NodeStats,
        deliver: Deliver,
        batch_size: int,
        max_wait_s: float,
        tracer: XRayEmitter | None = None,
    ) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.queue = queue
        self._credentials = credentials
        self.node_id = node_id
        self.stats = stats
        self.deliver = deliver
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.tracer = tracer
        self._conn: Connection | None = None
        self._failures = 0
        self._next_prune = time.monotonic() + (PRUNE_EVERY_S if index else 5.0)
        self._prunes = index == 0  # one writer per node forgets expired keys

    def run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                if batch:
                    self._commit(batch)
                if self._prunes and time.monotonic() >= self._next_prune:
                    self._prune()
        finally:
            self._close()

    def _next_batch(self) -> list[QueueItem] | None:
        """Up to batch_size items; [] when idle; None once the queue is closed and empty."""
        queue = self.queue
        batch = queue.pop_many(self.batch_size, timeout=POLL_S)
        if not batch:
            return None if queue.closed and len(queue) == 0 else []
        if self.max_wait_s > 0 and len(batch) < self.batch_size:
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                more = queue.pop_many(self.batch_size - len(batch), timeout=remaining)
                if not more:
                    break
                batch += more
        return batch

    def _connection(self) -> Connection:
        if self._conn is None:
            try:
                conn = connect(
                    self._credentials(), timeout_s=5.0, application_name=f"core {self.node_id}"
                )
            except CredentialsError as e:
                raise DatabaseUnavailableError("no credentials", str(e)) from e
            # connect() sets TCP_NODELAY: a batch insert stalled ~40 ms without it.
            # A JIT compile costs tens of ms, far more than the batch insert it would speed up.
            conn.run("SET jit = off")
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _commit(self, batch: list[QueueItem]) -> None:
        from pg8000.exceptions import DatabaseError, InterfaceError

        started = time.perf_counter()
        started_wall = time.time() if self.tracer is not None else 0.0  # queue-wait's end
        events = [item[0] for item in batch]
        try:
            conn = self._connection()
            try:
                # One statement in autocommit is one transaction: the batch is durable when
                # it returns, one round trip instead of three (START, insert, COMMIT).
                outcomes: list[Outcome] = list(insert_events(conn, events, self.node_id))
            except DatabaseError as e:
                code = sqlstate(e) or ""
                if not code.startswith(_EVENT_FAULT_CLASSES):
                    raise
                outcomes = self._commit_one_by_one(conn, events)
        except (DatabaseUnavailableError, InterfaceError, DatabaseError, OSError) as e:
            self._close()  # whatever state the session is in, a new one is simpler
            self._failures += 1
            log.warning("batch of %d not committed: %s", len(batch), e)
            self.stats.record_busy(time.perf_counter() - started)
            self.deliver(batch, [("unavailable", "the database cannot commit now")] * len(batch))
            time.sleep(RECONNECT_BACKOFF_S[min(self._failures, len(RECONNECT_BACKOFF_S)) - 1])
            return
        self._failures = 0
        durable_ns = time.perf_counter_ns()
        durable_wall = time.time() if self.tracer is not None else 0.0
        stored = [o for o in outcomes if isinstance(o, StoredEvent)]
        new = [i for i, o in enumerate(outcomes) if isinstance(o, StoredEvent) and not o.duplicate]
        # Counted before the acks go out: a producer that reads the stats after its ack sees it.
        self.stats.record_batch(
            topics=(events[i].topic for i in new),
            latencies_ms=[(durable_ns - item[3]) / 1e6 for item in batch],
            stored=len(new),
            duplicates=len(stored) - len(new),
            busy_s=time.perf_counter() - started,
        )
        self.deliver(batch, outcomes)
        if self.tracer is not None:
            self.tracer.emit(
                (
                    (e.trace_header, e.topic, o.event_id, e.created_us)
                    for e, o in zip(events, outcomes, strict=True)
                    if isinstance(o, StoredEvent)
                ),
                started_wall,
                durable_wall,
            )

    def _commit_one_by_one(self, conn: Connection, events: list[NewEvent]) -> list[Outcome]:
        """The batch held an event Postgres refuses: store the others, refuse only that one."""
        from pg8000.exceptions import DatabaseError

        outcomes: list[Outcome] = []
        conn.run("START TRANSACTION")
        for event in events:
            conn.run("SAVEPOINT one_event")
            try:
                outcomes.append(insert_events(conn, [event], self.node_id, resends=True)[0])
                conn.run("RELEASE SAVEPOINT one_event")
            except DatabaseError as e:
                if not (sqlstate(e) or "").startswith(_EVENT_FAULT_CLASSES):
                    raise
                conn.run("ROLLBACK TO SAVEPOINT one_event")
                message = e.args[0].get("M", "") if e.args and isinstance(e.args[0], dict) else ""
                outcomes.append(("invalid", f"the database refused the event: {message}"))
        conn.run("COMMIT")
        return outcomes

    def _prune(self) -> None:
        self._next_prune = time.monotonic() + PRUNE_EVERY_S
        try:
            conn = self._connection()
            removed = prune_idempotency_keys(conn)
        except Exception as e:  # pruning is housekeeping: never let it stop a writer
            self._close()
            log.warning("pruning idempotency keys failed: %s", e)
            return
        if removed:
            log.info("forgot %d idempotency keys older than 24 h", removed)
