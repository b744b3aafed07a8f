"""Pull reads on a real Postgres: stream order, cursors, paging, and late commits never skipped."""

from __future__ import annotations

import pytest
from pg8000.native import Connection

from eventstream.api import Problem
from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.subscriptions import service
from tests.integration.eventstream.subscriptions.conftest import new_user, publish


def ids(page: dict) -> list[str]:
    return [e["event_id"] for e in page["events"]]


def test_events_come_in_order_with_a_cursor_that_pages_through_them(conn: Connection) -> None:
    reader = new_user(conn, ("orders/#", "subscribe"))
    stored = publish(conn, *[("orders/eu", {"n": i}) for i in range(5)])
    publish(conn, ("other/x", {"n": 99}))
    stored += publish(conn, ("orders/eu", {"n": 5}), ("orders/eu", {"n": 6}))

    first = service.pull(reader, "orders/eu", None, 3)
    assert ids(first) == stored[:3]
    assert first["has_more"] is True
    assert first["events"][0]["payload"] == {"n": 0}
    assert set(first["events"][0]) == {"event_id", "topic", "payload", "priority", "created_at"}
    second = service.pull(reader, "orders/eu", first["next_cursor"], 3)
    assert ids(second) == stored[3:6]
    third = service.pull(reader, "orders/eu", second["next_cursor"], 3)
    assert ids(third) == stored[6:]
    assert third["has_more"] is False
    # Nothing new: an empty page, and the cursor stays usable.
    fourth = service.pull(reader, "orders/eu", third["next_cursor"], 3)
    assert fourth["events"] == []
    later = publish(conn, ("orders/eu", {"n": 7}))
    assert ids(service.pull(reader, "orders/eu", fourth["next_cursor"], 10)) == later


def test_a_pattern_reads_every_matching_topic_in_one_order(conn: Connection) -> None:
    reader = new_user(conn, ("orders/#", "subscribe"))
    stored = publish(conn, ("orders/eu", 1), ("orders/us", 2), ("other/eu", 3), ("orders/eu", 4))
    page = service.pull(reader, "orders/*", None, 10)
    assert ids(page) == [stored[0], stored[1], stored[3]]
    assert [e["topic"] for e in page["events"]] == ["orders/eu", "orders/us", "orders/eu"]


def test_an_event_committed_late_is_never_skipped(conn: Connection, db: DbCredentials) -> None:
    reader = new_user(conn, ("t/#", "subscribe"))
    before = publish(conn, ("t/a", "before"))
    slow = connect(db)
    try:
        # A writer's transaction takes its seq and stays open while a later one commits. (Two
        # topics: two writers of one topic may share a topic_stat_shards row and take turns.)
        slow.run("START TRANSACTION")
        late = publish(slow, ("t/a", "late"))
        fast = publish(conn, ("t/b", "fast"))
        seqs = dict(slow.run("SELECT id, seq FROM events"))  # slow sees its own and "fast"
        assert seqs[late[0]] < seqs[fast[0]]  # committed out of seq order

        page = service.pull(reader, "t/*", None, 100)
        # The committed "fast" event is held back: passing it would skip "late" for good.
        assert ids(page) == before
        assert ids(service.pull(reader, "t/b", None, 100)) == []
        cursor = page["next_cursor"]
        slow.run("COMMIT")
    finally:
        slow.close()

    after = service.pull(reader, "t/*", cursor, 100)
    assert ids(after) == [late[0], fast[0]]
    # From the start, the same order: stable for every reader.
    assert ids(service.pull(reader, "t/*", None, 100)) == before + late + fast


def test_a_rolled_back_event_leaves_no_gap_that_stalls_the_cursor(
    conn: Connection, db: DbCredentials
) -> None:
    reader = new_user(conn, ("t/#", "subscribe"))
    other = connect(db)
    try:
        other.run("START TRANSACTION")
        publish(other, ("t/a", "never"))
        other.run("ROLLBACK")
    finally:
        other.close()
    stored = publish(conn, ("t/a", "kept"))
    assert ids(service.pull(reader, "t/a", None, 10)) == stored


def test_a_pull_subscription_cursor_starts_after_what_exists(conn: Connection) -> None:
    reader = new_user(conn, ("feed", "subscribe"))
    publish(conn, ("feed", "old"))
    sub = service.create(reader, "feed", {"mode": "pull"})
    assert "signing_secret" not in sub
    new = publish(conn, ("feed", "new"))
    assert ids(service.pull(reader, "feed", sub["cursor"], 10)) == new


def test_reading_needs_subscribe_on_every_topic_the_pattern_matches(conn: Connection) -> None:
    reader = new_user(conn, ("orders/eu", "subscribe"), ("orders/#", "publish"))
    with pytest.raises(Problem) as refused:
        service.pull(reader, "orders/us", None, 10)
    assert refused.value.status == 403
    with pytest.raises(Problem) as wide:
        service.pull(reader, "orders/*", None, 10)
    assert wide.value.status == 403
    admin = new_user(conn, admin=True)
    assert service.pull(admin, "orders/*", None, 10)["events"] == []


@pytest.mark.parametrize(
    ("name", "cursor", "limit"),
    [("Bad Topic", None, 10), ("t/a", "not-a-cursor", 10), ("t/a", None, 0), ("t/a", None, 1001)],
)
def test_bad_input_is_a_422(conn: Connection, name: str, cursor: str | None, limit: int) -> None:
    reader = new_user(conn, ("t/#", "subscribe"))
    with pytest.raises(Problem) as bad:
        service.pull(reader, name, cursor, limit)
    assert bad.value.status == 422
