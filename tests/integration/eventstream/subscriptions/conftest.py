"""A migrated database the services use (DATABASE_URL), and helpers to make users and events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from pg8000.native import Connection

from eventstream.api import Caller
from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import apply_migrations
from eventstream.events.ids import EventIdGenerator
from eventstream.events.store import NewEvent, insert_events
from tests.support import PROJECT_DIR

IDS = EventIdGenerator()


@pytest.fixture
def db(fresh_database: DbCredentials, clean_eventstream: pytest.MonkeyPatch) -> DbCredentials:
    apply_migrations(fresh_database, PROJECT_DIR / "infra" / "migrations")
    clean_eventstream.setenv("DATABASE_URL", fresh_database.to_url())
    return fresh_database


@pytest.fixture
def conn(db: DbCredentials) -> Iterator[Connection]:
    c = connect(db)
    yield c
    c.close()


def new_user(conn: Connection, *grants: tuple[str, str], admin: bool = False) -> Caller:
    """A user with ACL grants (pattern, permission); the Caller the authorizer would pass."""
    roles = ["user", "admin"] if admin else ["user"]
    rows = conn.run(
        "INSERT INTO users (username, password_hash, roles) VALUES (:u, 'x', CAST(:r AS text[]))"
        " RETURNING id",
        u=f"u{uuid.uuid4().hex[:10]}",
        r=roles,
    )
    user_id = str(rows[0][0])
    for pattern, permission in grants:
        conn.run(
            "INSERT INTO topic_acl (user_id, topic_pattern, permission)"
            " VALUES (CAST(:u AS uuid), :p, :perm)",
            u=user_id,
            p=pattern,
            perm=permission,
        )
    return Caller(sub=user_id, roles=tuple(roles))


def new_event(topic: str, payload: object) -> NewEvent:
    return NewEvent(
        event_id=IDS.new(),
        topic=topic,
        payload=json.dumps(payload),
        priority=5,
        producer="tests",
        idempotency_key=None,
        created_us=time.time_ns() // 1000,
        trace_header=None,
    )


def publish(conn: Connection, *events: tuple[str, object]) -> list[str]:
    """Store events as the core's writer does (one statement); their ids."""
    batch = [new_event(topic, payload) for topic, payload in events]
    insert_events(conn, batch, "test-node")
    return [e.event_id for e in batch]
