"""Subscription rows and the pull read. No query that feeds an API answer selects the secret."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from eventstream.db.rows import fetch_all, fetch_one
from eventstream.subscriptions.cursor import Position
from eventstream.subscriptions.models import Subscription

if TYPE_CHECKING:
    from pg8000.native import Connection

# The columns an API answer may show: signing_secret is deliberately not among them.
_COLUMNS = "id, user_id, topic_pattern, mode, webhook_url, created_at"

# The horizon first (LEFT JOIN keeps it when no event qualifies): every transaction below
# pg_snapshot_xmin has ended, and none still to come can get a smaller txid, so rows below it
# are final and a cursor may pass them. One statement: one snapshot for horizon and rows.
_PULL = """
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT CAST(h.xmin AS text) AS horizon, CAST(e.txid AS text) AS txid, e.seq, e.id, e.topic,
       e.payload, e.priority, e.created_at
FROM horizon h LEFT JOIN LATERAL (
    SELECT txid, seq, id, topic, payload, priority, created_at FROM events
    WHERE {topic_filter}
      AND (txid, seq) > (CAST(:txid AS xid8), CAST(:seq AS bigint))
      AND txid < h.xmin
    ORDER BY txid, seq
    LIMIT :limit
) e ON true
ORDER BY e.txid, e.seq
"""
_PULL_TOPIC = _PULL.format(topic_filter="topic = :topic")
_PULL_PATTERN = _PULL.format(topic_filter="topic ~ :regex")


def insert_subscription(
    conn: Connection,
    *,
    user_id: str,
    topic_pattern: str,
    topic_regex: str,
    mode: str,
    webhook_url: str | None,
    signing_secret: str | None,
) -> Subscription:
    row = fetch_one(
        conn,
        "INSERT INTO subscriptions (user_id, topic_pattern, topic_regex, mode, webhook_url,"
        " signing_secret) VALUES (CAST(:user_id AS uuid), :pattern, :regex, :mode, :url,"
        f" :secret) RETURNING {_COLUMNS}",
        user_id=user_id,
        pattern=topic_pattern,
        regex=topic_regex,
        mode=mode,
        url=webhook_url,
        secret=signing_secret,
    )
    assert row is not None
    return Subscription.from_row(row)


def count_live(conn: Connection, user_id: str) -> int:
    rows = conn.run(
        "SELECT count(*) FROM subscriptions WHERE user_id = CAST(:u AS uuid)"
        " AND disabled_at IS NULL",
        u=user_id,
    )
    return int(rows[0][0])


def list_subscriptions(
    conn: Connection,
    *,
    user_id: str | None,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Subscription]:
    """Live subscriptions, oldest first, after the keyset `after` = (created_at, id)."""
    rows = fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM subscriptions WHERE disabled_at IS NULL"
        " AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))"
        " AND (CAST(:after_at AS timestamptz) IS NULL"
        "      OR (created_at, id) > (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))"
        " ORDER BY created_at, id LIMIT :limit",
        user_id=user_id,
        after_at=after[0] if after else None,
        after_id=after[1] if after else None,
        limit=limit,
    )
    return [Subscription.from_row(r) for r in rows]


def disable_subscription(
    conn: Connection, subscription_id: str, *, user_id: str | None
) -> Subscription | None:
    """Mark a live subscription deleted and erase its secret; None if none (of that user)."""
    row = fetch_one(
        conn,
        "UPDATE subscriptions SET disabled_at = now(), signing_secret = NULL"
        " WHERE id = CAST(:id AS uuid) AND disabled_at IS NULL"
        " AND (CAST(:user_id AS uuid) IS NULL OR user_id = CAST(:user_id AS uuid))"
        f" RETURNING {_COLUMNS}",
        id=subscription_id,
        user_id=user_id,
    )
    return Subscription.from_row(row) if row else None


def fail_open_deliveries(conn: Connection, subscription_id: str) -> int:
    """Settle a deleted subscription's unfinished deliveries as failed; how many."""
    conn.run(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted',"
        " finished_at = now(), lease_until = NULL"
        " WHERE subscription_id = CAST(:id AS uuid) AND status IN ('pending', 'delivering')",
        id=subscription_id,
    )
    return int(conn.row_count or 0)


def stream_head(conn: Connection) -> Position:
    """The position before anything not yet final: pulling from here yields only newer events."""
    rows = conn.run("SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text)")
    return Position(int(rows[0][0]), 0)


def pull_events(
    conn: Connection,
    *,
    after: Position,
    limit: int,
    topic: str | None = None,
    regex: str | None = None,
) -> tuple[list[dict[str, Any]], Position]:
    """Final events after `after` in stream order (a topic, or topics matching a regex).

    Returns up to `limit` rows (each with its `position`) and the horizon: the position below
    which every event is final, at this statement's snapshot.
    """
    if (topic is None) == (regex is None):
        raise ValueError("pass exactly one of topic and regex")
    params: dict[str, Any] = {"txid": str(after.txid), "seq": after.seq, "limit": limit}
    if topic is not None:
        rows = fetch_all(conn, _PULL_TOPIC, topic=topic, **params)
    else:
        rows = fetch_all(conn, _PULL_PATTERN, regex=regex, **params)
    horizon = Position(int(rows[0]["horizon"]), 0)
    events = [
        {**r, "position": Position(int(r["txid"]), int(r["seq"]))}
        for r in rows
        if r["seq"] is not None
    ]
    return events, horizon
