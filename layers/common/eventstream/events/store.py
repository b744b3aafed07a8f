"""Event storage: the core's batch insert with idempotency, in one statement per batch.

The batch insert is one statement, so in autocommit it is one transaction: the whole batch is
durable when `insert_events` returns (group commit). Inside an explicit transaction it is part
of the caller's.

Two things make a publish safe to send twice. The client names each event (its id is a ULID the
client chose), so a resend after a lost ack carries the stored event's id and the events table's
unique id refuses a second row. A producer's own `Idempotency-Key` is claimed in
`event_idempotency`, (producer, key) -> the first event, for 24 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from eventstream.db.connection import UNIQUE_VIOLATION, sqlstate
from eventstream.json_text import compact_json

if TYPE_CHECKING:
    from pg8000.native import Connection

IDEMPOTENCY_WINDOW = "24 hours"

# The batch travels as one JSON array of rows (json.dumps in C, where pg8000's per-element array
# escaping cost ~90 µs an event), parsed once as jsonb (as json, each ->> parsed the row again:
# 5 µs of Postgres CPU an event).
_INPUT = """
input AS (
    SELECT r->>0 AS id, r->>1 AS topic, r->>2 AS payload, CAST(r->>3 AS int2) AS priority,
           r->>4 AS producer, r->>5 AS idempotency_key, CAST(r->>6 AS int8) AS created_us,
           r->>7 AS trace_header
    FROM jsonb_array_elements(CAST(:batch AS jsonb)) AS r
)"""

# A producer's keys are claimed first (a key older than the window may be claimed again), and
# only the events that need no key or won their claim are inserted.
_CLAIMED = f"""
claimed AS (
    INSERT INTO event_idempotency AS ei (producer, idempotency_key, event_id, created_at)
    SELECT producer, idempotency_key, id,
           timestamptz 'epoch' + created_us * interval '1 microsecond'
    FROM input WHERE idempotency_key IS NOT NULL
    ON CONFLICT (producer, idempotency_key) DO UPDATE
        SET event_id = EXCLUDED.event_id, created_at = EXCLUDED.created_at
        WHERE ei.created_at < now() - interval '{IDEMPOTENCY_WINDOW}'
    RETURNING event_id
)"""

_INSERT = """
INSERT INTO events (id, topic, payload, priority, producer, idempotency_key, node_id,
                    trace_header, created_at)
SELECT id, topic, CAST(payload AS jsonb), priority, producer, idempotency_key, :node_id,
       trace_header, timestamptz 'epoch' + created_us * interval '1 microsecond'
FROM input"""
_WON_CLAIM = " WHERE idempotency_key IS NULL OR id IN (SELECT event_id FROM claimed)"
_LOST_CLAIM = "idempotency_key IS NOT NULL AND id NOT IN (SELECT event_id FROM claimed)"


def _insert_sql(keyed: bool, resends: bool) -> str:
    """The batch statement; its rows are the events not stored: (id, lost its key's claim).

    Without `resends` the insert has no ON CONFLICT: a speculative insert cost 4-8 µs of
    Postgres CPU an event, and a resent id is rare, so it makes the statement fail instead
    (unique violation) and the batch goes again with `resends`.
    """
    ctes = [_INPUT, _CLAIMED] if keyed else [_INPUT]
    insert = _INSERT + (_WON_CLAIM if keyed else "")
    lost_claim = _LOST_CLAIM if keyed else "false"
    if resends:
        ctes.append(f"inserted AS ({insert} ON CONFLICT (id) DO NOTHING RETURNING id)")
        final = f"SELECT id, {lost_claim} FROM input WHERE id NOT IN (SELECT id FROM inserted)"
    elif keyed:
        ctes.append(f"inserted AS ({insert})")
        # Only the events that lost their claim come back (usually none): reading 1000
        # returned ids cost more Python time than the rest of the batch.
        final = f"SELECT id, true FROM input WHERE {lost_claim}"
    else:
        return f"WITH {_INPUT}{insert}"
    return "WITH " + ",".join(ctes) + "\n" + final


_INSERT_SQL = {(k, r): _insert_sql(k, r) for k in (False, True) for r in (False, True)}

_FIRST_EVENTS = """
SELECT ei.producer, ei.idempotency_key, ei.event_id,
       CAST(extract(epoch FROM ei.created_at) * 1000000 AS int8)
FROM event_idempotency ei
JOIN unnest(CAST(:producers AS varchar[]), CAST(:keys AS varchar[])) AS k(producer, key)
  ON ei.producer = k.producer AND ei.idempotency_key = k.key
"""

_STORED_EVENTS = """
SELECT id, CAST(extract(epoch FROM created_at) * 1000000 AS int8)
FROM events WHERE id = ANY(CAST(:ids AS varchar[]))
"""

_PRUNE_IDEMPOTENCY = f"""
DELETE FROM event_idempotency WHERE ctid IN (
    SELECT ctid FROM event_idempotency
    WHERE created_at < now() - interval '{IDEMPOTENCY_WINDOW}' LIMIT :limit
)
"""


class NewEvent(NamedTuple):
    """One event to store; a tuple whose fields are in the batch statement's row order, so a
    batch is encoded as it stands (rebuilding a row per event cost the writer ~1 µs an event)."""

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


def insert_events(
    conn: Connection, events: Sequence[NewEvent], node_id: str, *, resends: bool = False
) -> list[StoredEvent]:
    """Insert a batch (one statement); one result per event, in order.

    An event whose id is stored already (a resend), or whose (producer, key) was published within
    the window, gets the first event's id and is not stored again; repeats inside the batch
    collapse onto their first occurrence. Inside a transaction, pass `resends=True`: the fast
    statement's unique violation would abort the transaction instead of being retried.
    """
    first_of: dict[tuple[str | None, str], int] = {}
    unique: list[NewEvent] = []
    position: list[int] = []  # events[i] is answered by unique[position[i]]
    repeat: list[bool] = []  # a second use of an id or a key within this batch
    keyed = False
    for event in events:
        key = event.idempotency_key
        same = (event.producer, key) if key is not None else (None, event.event_id)
        seen = first_of.get(same)
        repeat.append(seen is not None)
        if seen is not None:
            position.append(seen)
            continue
        keyed = keyed or key is not None
        first_of[same] = len(unique)
        position.append(len(unique))
        unique.append(event)

    batch = compact_json(unique)
    rows = None
    if not resends:
        from pg8000.exceptions import DatabaseError

        try:
            rows = conn.run(_INSERT_SQL[keyed, False], batch=batch, node_id=node_id)
        except DatabaseError as e:
            if sqlstate(e) != UNIQUE_VIOLATION:
                raise
            resends = True  # an event sent again after its ack was lost: store the others
    if resends:
        rows = conn.run(_INSERT_SQL[keyed, True], batch=batch, node_id=node_id)
    results = [StoredEvent(e.event_id, e.created_us, False) for e in unique]
    if rows:
        _answer_not_stored(conn, unique, results, {row[0]: row[1] for row in rows})
    # A repeat inside the batch is answered with its first occurrence's id, as a duplicate.
    return [
        StoredEvent(results[pos].event_id, results[pos].created_us, True) if again else results[pos]
        for pos, again in zip(position, repeat, strict=True)
    ]


def _answer_not_stored(
    conn: Connection,
    unique: list[NewEvent],
    results: list[StoredEvent],
    lost_claim_of: dict[str, bool],
) -> None:
    """Point each event that was not stored at the event that holds it."""
    claims = [i for i, e in enumerate(unique) if lost_claim_of.get(e.event_id) is True]
    resent = [i for i, e in enumerate(unique) if lost_claim_of.get(e.event_id) is False]
    if claims:
        firsts = conn.run(
            _FIRST_EVENTS,
            producers=[unique[i].producer for i in claims],
            keys=[unique[i].idempotency_key for i in claims],
        )
        by_key = {(p, k): (eid, created) for p, k, eid, created in firsts or ()}
        for i in claims:
            eid, created = by_key[(unique[i].producer, unique[i].idempotency_key or "")]
            results[i] = StoredEvent(eid, int(created), True)
    if resent:
        stored = dict(conn.run(_STORED_EVENTS, ids=[unique[i].event_id for i in resent]) or ())
        for i in resent:
            results[i] = StoredEvent(unique[i].event_id, int(stored[unique[i].event_id]), True)


def prune_idempotency_keys(conn: Connection, limit: int = 10_000) -> int:
    """Forget up to `limit` keys older than the window; how many went."""
    conn.run(_PRUNE_IDEMPOTENCY, limit=limit)
    return int(conn.row_count or 0)
