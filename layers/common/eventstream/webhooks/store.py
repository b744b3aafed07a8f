"""Delivery rows as the core works them: claim the due ones, record each attempt's outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pg8000.native import Connection

# A row is due when pending and its time has come, or delivering under a lease that ran out (its
# node died mid-attempt). It is only taken when it heads its (subscription, topic): no earlier row
# in stream order (event_txid, event_seq) is unfinished. Only rows below the snapshot horizon are
# taken, so an earlier row committed late cannot appear behind one already sent. SKIP LOCKED lets
# several core nodes claim at once without waiting for each other or taking the same row.
_CLAIM = """
WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
picked AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE ((d.status = 'pending' AND d.next_attempt_at <= now())
           OR (d.status = 'delivering' AND d.lease_until < now()))
      AND d.event_txid < (SELECT xmin FROM horizon)
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
          WHERE p.subscription_id = d.subscription_id AND p.topic = d.topic
            AND p.status IN ('pending', 'delivering')
            AND (p.event_txid, p.event_seq) < (d.event_txid, d.event_seq))
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET status = 'delivering', attempts = d.attempts + 1,
    lease_until = now() + make_interval(secs => CAST(:lease_s AS double precision))
FROM picked, subscriptions s, events e
WHERE d.id = picked.id AND s.id = d.subscription_id AND s.disabled_at IS NULL
  AND e.seq = d.event_seq
RETURNING d.id, d.attempts, s.id AS subscription_id, s.webhook_url, s.signing_secret,
          e.id AS event_id, e.topic, e.payload, e.priority, e.created_at
"""

# The attempt and the row's new state in one statement. The row changes only if this claim
# still holds it (status and attempt number): a node whose lease was taken over records its
# attempt but does not overwrite the newer claim's state.
_RECORD = """
WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, duration_ms, http_status,
                                  error, response_excerpt, node_id)
    VALUES (:id, :attempt, :attempted_at, :duration_ms, :http_status, :error, :excerpt, :node)
)
UPDATE webhook_deliveries
SET status = CAST(:status AS text),
    last_error = :error,
    lease_until = NULL,
    next_attempt_at = CASE WHEN CAST(:status AS text) = 'pending'
                           THEN now() + make_interval(secs => CAST(:delay_s AS double precision))
                           ELSE next_attempt_at END,
    finished_at = CASE WHEN CAST(:status AS text) = 'pending' THEN NULL ELSE now() END
WHERE id = :id AND status = 'delivering' AND attempts = :attempt
"""


@dataclass(frozen=True)
class DueDelivery:
    id: int
    attempt: int  # this attempt's number, 1 for the first
    subscription_id: str
    webhook_url: str
    signing_secret: str
    event_id: str
    topic: str
    payload: Any
    priority: int
    created_at: dt.datetime


@dataclass(frozen=True)
class AttemptOutcome:
    attempted_at: dt.datetime
    duration_ms: float
    http_status: int | None
    error: str | None  # None on success
    response_excerpt: str | None


def claim_due(conn: Connection, *, limit: int, lease_s: float) -> list[DueDelivery]:
    """Take up to `limit` due deliveries for this node (autocommit: the claim is one commit)."""
    rows = conn.run(_CLAIM, limit=limit, lease_s=lease_s) or []
    return [
        DueDelivery(
            id=int(r[0]),
            attempt=int(r[1]),
            subscription_id=str(r[2]),
            webhook_url=r[3],
            signing_secret=r[4],
            event_id=r[5],
            topic=r[6],
            payload=r[7],
            priority=int(r[8]),
            created_at=r[9],
        )
        for r in rows
    ]


def record_attempt(
    conn: Connection,
    delivery: DueDelivery,
    outcome: AttemptOutcome,
    *,
    status: str,
    delay_s: float,
    node_id: str,
) -> bool:
    """Store the attempt and settle the row: 'succeeded', 'failed', or 'pending' again after
    `delay_s`. False if the claim had been taken over (only the attempt was stored)."""
    conn.run(
        _RECORD,
        id=delivery.id,
        attempt=delivery.attempt,
        attempted_at=outcome.attempted_at,
        duration_ms=outcome.duration_ms,
        http_status=outcome.http_status,
        error=(outcome.error or "")[:1024] or None,
        excerpt=outcome.response_excerpt,
        node=node_id,
        status=status,
        delay_s=delay_s,
    )
    return bool(conn.row_count)
