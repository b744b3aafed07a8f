"""Event storage: the core's batch insert with idempotency, in one statement per batch.

The batch insert is one statement, so in autocommit it is one transaction: the whole batch is
durable when `insert_events` returns (group commit). Inside an explicit transaction it is part
of the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pg8000.native import Connection

IDEMPOTENCY_WINDOW = "24 hours"

# One round trip per batch: the batch travels as one JSON array of rows (json.dumps in C, where
# pg8000's per-element array escaping cost ~90 µs an event), then the idempotency keys are claimed
# (a key older than the window may be claimed again), and only the events that need no key or
# won their claim are inserted.
_INSERT_BATCH = f"""
WITH input AS (
    SELECT r->>0 AS id, r->>1 AS topic, r->>2 AS payload, CAST(r->>3 AS int2) AS priority,
           r->>4 AS producer, r->>5 AS idempotency_key, CAST(r->>6 AS int8) AS created_us,
           r->>7 AS trace_header
    FROM json_array_elements(CAST(:batch AS json)) AS r
),
claimed AS (
    INSERT INTO event_idempotency AS ei (producer, idempotency_key, event_id, created_at)
    SELECT producer, idempotency_key, id,
           timestamptz 'epoch' + created_us * interval '1 microsecond'
    FROM input WHERE idempotency_key IS NOT NULL
    ON CONFLICT (producer, idempotency_key) DO UPDATE
        SET event_id = EXCLUDED.event_id, created_at = EXCLUDED.created_at
        WHERE ei.created_at < now() - interval '{IDEMPOTENCY_WINDOW}'
    RETURNING event_id
),
inserted AS (
    INSERT INTO events (id, topic, payload, priority, producer, idempotency_key, node_id,
                        trace_header, created_at)
    SELECT id, topic, CAST(payload AS jsonb), priority, producer, idempotency_key, :node_id,
           trace_header, timestamptz 'epoch' + created_us * interval '1 microsecond'
    FROM input
    WHERE idempotency_key IS NULL OR id IN (SELECT event_id FROM claimed)
)
-- Only the events that lost their claim come back (usually none): reading 1000 returned ids
-- cost more Python time than the rest of the batch.
SELECT id FROM input
WHERE idempotency_key IS NOT NULL AND id NOT IN (SELECT event_id FROM claimed)
"""

_FIRST_EVENTS = """
SELECT ei.producer, ei.idempotency_key, ei.event_id,
       CAST(extract(epoch FROM ei.created_at) * 1000000 AS int8)
FROM event_idempotency ei
JOIN unnest(CAST(:producers AS varchar[]), CAST(:keys AS varchar[])) AS k(producer, key)
  ON ei.producer = k.producer AND ei.idempotency_key = k.key
"""

_PRUNE_IDEMPOTENCY = f"""
DELETE FROM event_idempotency WHERE ctid IN (
    SELECT ctid FROM event_idempotency
    WHERE created_at < now() - interval '{IDEMPOTENCY_WINDOW}' LIMIT :limit
)
"""


@dataclass(slots=True)
class NewEvent:
    event_id: str
    topic: str
    payload: str  # JSON text; Postgres parses it into JSONB
    priority: int
    producer: str
    idempotency_key: str | None
    created_us: int
    trace_header: str | None


@dataclass(slots=True)
class StoredEvent:
    """What the producer is told: the id that holds its event, new or first-seen."""

    event_id: str
    created_us: int
    duplicate: bool


def insert_events(conn: Connection, events: Sequence[NewEvent], node_id: str) -> list[StoredEvent]:
    """Insert a batch (one statement); one result per event, in order.

    An event whose (producer, key) was published within the window gets the first event's id and
    is not stored; repeats of one key inside the batch collapse onto its first occurrence.
    """
    first_of: dict[tuple[str, str], int] = {}
    unique: list[NewEvent] = []
    position: list[int] = []  # events[i] is answered by unique[position[i]]
    repeat: list[bool] = []  # a second use of a key within this batch
    for event in events:
        key = event.idempotency_key
        if key is not None:
            seen = first_of.get((event.producer, key))
            repeat.append(seen is not None)
            if seen is not None:
                position.append(seen)
                continue
            first_of[(event.producer, key)] = len(unique)
        else:
            repeat.append(False)
        position.append(len(unique))
        unique.append(event)

    batch = json.dumps(
        [
            (
                e.event_id,
                e.topic,
                e.payload,
                e.priority,
                e.producer,
                e.idempotency_key,
                e.created_us,
                e.trace_header,
            )
            for e in unique
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    rows = conn.run(_INSERT_BATCH, batch=batch, node_id=node_id)
    not_inserted = {row[0] for row in rows or ()}
    results = [StoredEvent(e.event_id, e.created_us, False) for e in unique]
    lost = [i for i, e in enumerate(unique) if e.event_id in not_inserted] if not_inserted else []
    if lost:
        firsts = conn.run(
            _FIRST_EVENTS,
            producers=[unique[i].producer for i in lost],
            keys=[unique[i].idempotency_key for i in lost],
        )
        by_key = {(p, k): (eid, created) for p, k, eid, created in firsts or ()}
        for i in lost:
            eid, created = by_key[(unique[i].producer, unique[i].idempotency_key or "")]
            results[i] = StoredEvent(eid, int(created), True)
    # A repeat inside the batch is answered with its first occurrence's id, as a duplicate.
    return [
        StoredEvent(results[pos].event_id, results[pos].created_us, True) if again else results[pos]
        for pos, again in zip(position, repeat, strict=True)
    ]


def prune_idempotency_keys(conn: Connection, limit: int = 10_000) -> int:
    """Forget up to `limit` keys older than the window; how many went."""
    conn.run(_PRUNE_IDEMPOTENCY, limit=limit)
    return int(conn.row_count or 0)
