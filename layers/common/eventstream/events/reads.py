"""Read side of the events tables for the /v1 routes (the core owns the writes, in store.py)."""

from __future__ import annotations

from typing import Any

from eventstream.db.connection import autocommit
from eventstream.db.rows import fetch_one


def event_by_id(event_id: str) -> dict[str, Any] | None:
    with autocommit() as conn:  # one read: no BEGIN/COMMIT round trips
        return fetch_one(
            conn,
            "SELECT id AS event_id, topic, payload, priority, created_at AS timestamp, stored_at"
            " FROM events WHERE id = :id",
            id=event_id,
        )
