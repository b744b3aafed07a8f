"""GET /v1/topics: the topics a caller may see (any ACL pattern of theirs matches; admins see
all), with event counts and the last event's time, from the counters the core keeps."""

from __future__ import annotations

from typing import Any

from eventstream.api.problems import Problem
from eventstream.api.request import Caller
from eventstream.auth import store as auth_store
from eventstream.auth.models import is_uuid
from eventstream.db.connection import autocommit
from eventstream.db.rows import fetch_all
from eventstream.subscriptions.models import pattern_regex
from eventstream.topics import is_valid_topic

MAX_PAGE = 100


def list_topics(caller: Caller, *, after: str | None, limit: int) -> dict[str, Any]:
    if not 1 <= limit <= MAX_PAGE:
        raise Problem(422, f"limit must be an integer from 1 to {MAX_PAGE}")
    if after is not None and not is_valid_topic(after):
        raise Problem(422, "cursor is not one this API returned")
    with autocommit() as conn:  # reads only
        if caller.is_admin:
            regexes = None
        elif is_uuid(caller.sub):
            entries = auth_store.acl_entries(conn, caller.sub)
            regexes = sorted({pattern_regex(e.topic_pattern) for e in entries})
            if not regexes:
                return {"items": [], "next_cursor": None}
        else:
            return {"items": [], "next_cursor": None}
        # Matched in Postgres with the same regex the subscriptions use, so a page is a page.
        rows = fetch_all(
            conn,
            "SELECT topic, event_count, last_event_at FROM topic_stats"
            " WHERE (CAST(:after AS TEXT) IS NULL OR topic > :after)"
            " AND (CAST(:regexes AS TEXT[]) IS NULL OR topic ~ ANY(CAST(:regexes AS TEXT[])))"
            " ORDER BY topic LIMIT :limit",
            after=after,
            regexes=regexes,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": rows[-1]["topic"] if more else None}
