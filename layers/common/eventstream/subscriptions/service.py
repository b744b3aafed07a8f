"""Subscriptions: create (the secret shown once), list, delete, and pull reads of a topic."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from eventstream.api.problems import Problem, not_found
from eventstream.api.request import Caller
from eventstream.api.validation import Fields
from eventstream.auth import store as auth_store
from eventstream.auth.models import is_uuid
from eventstream.db.connection import transaction
from eventstream.subscriptions import cursor as stream_cursor
from eventstream.subscriptions import store
from eventstream.subscriptions.models import MODES, pattern_covers, pattern_regex
from eventstream.topics import TopicError, is_valid_topic, validate_pattern
from eventstream.webhooks.signing import new_secret
from eventstream.webhooks.ssrf import UnsafeUrlError, check_url, private_allowed

MAX_PAGE = 100
MAX_PULL = 1000
# Each webhook subscription multiplies every matching event's work: bound what one user can ask.
MAX_PER_USER = 100


def may_subscribe(caller: Caller, topic_or_pattern: str) -> bool:
    """Whether the caller may read every topic `topic_or_pattern` can match."""
    if caller.is_admin:
        return True
    if not is_uuid(caller.sub):
        return False  # an API key reads statistics, not topics
    with transaction() as conn:
        entries = auth_store.acl_entries(conn, caller.sub)
    return any(
        e.permission == "subscribe" and pattern_covers(e.topic_pattern, topic_or_pattern)
        for e in entries
    )


def _checked_pattern(topic_or_pattern: str) -> str:
    try:
        return validate_pattern(topic_or_pattern)
    except TopicError as e:
        raise Problem(422, str(e)) from None


def _require_subscribe(caller: Caller, topic_or_pattern: str) -> None:
    if not may_subscribe(caller, topic_or_pattern):
        raise Problem(403, f"you may not subscribe to {topic_or_pattern!r}")


def create(caller: Caller, topic_pattern: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v1/topics/{name}/subscribe: `{webhook_url}` or `{mode: "pull"}`.

    A webhook subscription's answer carries `signing_secret`, the only time it is shown; a pull
    subscription's carries `cursor`, the stream position to pull from to see only newer events.
    """
    pattern = _checked_pattern(topic_pattern)
    fields = Fields(body, allowed={"webhook_url", "mode"})
    mode = fields.string("mode", required=False, max_len=16)
    url = fields.string("webhook_url", required=False, max_len=2048)
    if mode is None:
        mode = "webhook" if url is not None else None
    if mode is None:
        fields.error("mode", "give webhook_url, or mode 'pull'")
    elif mode not in MODES:
        fields.error("mode", "must be 'webhook' or 'pull'")
    elif mode == "pull" and url is not None:
        fields.error("webhook_url", "a pull subscription has no webhook_url")
    elif (
        mode == "webhook"
        and url is None
        and not any(e["field"] == "webhook_url" for e in fields.errors)
    ):
        fields.error("webhook_url", "is required for a webhook subscription")
    if url is not None:
        try:
            check_url(url, allow_private=private_allowed())
        except UnsafeUrlError as e:
            fields.error("webhook_url", str(e))
    fields.done()
    _require_subscribe(caller, pattern)
    if not is_uuid(caller.sub):
        raise Problem(403, "only a user may own a subscription")
    secret = new_secret() if mode == "webhook" else None
    with transaction() as conn:
        # A deleted user's access token lives out its 15 minutes: it must not own anything.
        if auth_store.get_user(conn, caller.sub) is None:
            raise Problem(403, "this account no longer exists")
        if store.count_live(conn, caller.sub) >= MAX_PER_USER:
            raise Problem(409, f"a user may have at most {MAX_PER_USER} subscriptions")
        subscription = store.insert_subscription(
            conn,
            user_id=caller.sub,
            topic_pattern=pattern,
            topic_regex=pattern_regex(pattern),
            mode=str(mode),
            webhook_url=url,
            signing_secret=secret,
        )
        head = store.stream_head(conn) if mode == "pull" else None
    answer = subscription.to_json()
    if secret is not None:
        answer["signing_secret"] = secret  # shown this once; never selected for an answer again
    if head is not None:
        answer["cursor"] = stream_cursor.encode(head)
    return answer


def _encode_page(created_at: dt.datetime, sub_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), sub_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_page(token: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, sub_id = json.loads(raw)
        when = dt.datetime.fromisoformat(at)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise Problem(422, "cursor is not one this API returned") from None
    if not is_uuid(sub_id) or when.tzinfo is None or _encode_page(when, sub_id) != token:
        raise Problem(422, "cursor is not one this API returned")
    return when, sub_id


def list_subscriptions(caller: Caller, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """GET /v1/subscriptions: the caller's (an admin's: everyone's), oldest first.

    `cursor` is the `next_cursor` of the previous page; `limit` 1..100.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise Problem(422, f"limit must be an integer from 1 to {MAX_PAGE}")
    after = _decode_page(cursor) if cursor else None
    if not caller.is_admin and not is_uuid(caller.sub):
        return {"items": [], "next_cursor": None}
    with transaction() as conn:
        subs = store.list_subscriptions(
            conn,
            user_id=None if caller.is_admin else caller.sub,
            after=after,
            limit=limit + 1,
        )
    more = len(subs) > limit
    subs = subs[:limit]
    last = subs[-1] if more else None
    return {
        "items": [s.to_json() for s in subs],
        "next_cursor": _encode_page(last.created_at, last.id) if last else None,
    }


def delete(caller: Caller, subscription_id: str) -> None:
    """DELETE /v1/subscriptions/{id}: the owner's or an admin's; 404 for anyone else's.

    Its secret is erased and its unfinished deliveries are settled as failed.
    """
    if not is_uuid(subscription_id):
        raise not_found("subscription")
    with transaction() as conn:
        gone = store.disable_subscription(
            conn, subscription_id, user_id=None if caller.is_admin else caller.sub
        )
        if gone is None:
            raise not_found("subscription")
        store.fail_open_deliveries(conn, subscription_id)


def pull(
    caller: Caller, topic_or_pattern: str, after_cursor: str | None, limit: int
) -> dict[str, Any]:
    """GET /v1/topics/{name}/events?after=&limit=: events in stream order, and the next cursor.

    No `after` starts at the beginning. `next_cursor` is always given: pass it as `after` to
    continue; `has_more` says whether more events are final already. An event whose transaction
    commits late is never skipped: the read stops below the oldest transaction still open.
    """
    pattern = _checked_pattern(topic_or_pattern)
    if not 1 <= limit <= MAX_PULL:
        raise Problem(422, f"limit must be an integer from 1 to {MAX_PULL}")
    try:
        after = stream_cursor.decode(after_cursor) if after_cursor else stream_cursor.START
    except stream_cursor.CursorError as e:
        raise Problem(422, str(e)) from None
    _require_subscribe(caller, pattern)
    with transaction() as conn:
        if is_valid_topic(pattern):
            rows, horizon = store.pull_events(conn, after=after, limit=limit + 1, topic=pattern)
        else:
            rows, horizon = store.pull_events(
                conn, after=after, limit=limit + 1, regex=pattern_regex(pattern)
            )
    more = len(rows) > limit
    rows = rows[:limit]
    # A short page read everything final: the cursor may jump to the horizon, skipping the
    # other topics' events below it on the next call.
    nxt = rows[-1]["position"] if more else max(after, horizon)
    return {
        "events": [
            {
                "event_id": r["id"],
                "topic": r["topic"],
                "payload": r["payload"],
                "priority": r["priority"],
                "created_at": r["created_at"],
            }
            for r in rows
        ],
        "next_cursor": stream_cursor.encode(nxt),
        "has_more": more,
    }
