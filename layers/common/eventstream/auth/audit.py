"""The audit log: who did what to whom, from where, with what outcome. Append-only.

Actions are the fixed names below, so a query by action never misses a spelling. Details hold
names and ids only: never a password, token, key or secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventstream.api.problems import Problem
from eventstream.db.rows import fetch_all

if TYPE_CHECKING:
    from pg8000.native import Connection

    from eventstream.api.request import Request

ACTIONS = frozenset(
    {
        "login",
        "login_locked",
        "login_rate_limited",
        "lockout",
        "refresh",
        "refresh_reuse_detected",
        "logout",
        "user_created",
        "user_changed",
        "user_deleted",
        "acl_granted",
        "acl_revoked",
        "api_key_created",
        "api_key_revoked",
        "oauth_login",
        "oauth_linked",
    }
)


@dataclass(frozen=True)
class AuditContext:
    actor_id: str | None
    source_ip: str
    user_agent: str
    request_id: str

    @classmethod
    def of(cls, request: Request) -> AuditContext:
        caller = request.caller
        return cls(
            actor_id=caller.sub if caller else None,
            source_ip=request.source_ip,
            user_agent=request.user_agent,
            request_id=request.request_id,
        )

    def as_actor(self, actor_id: str | None) -> AuditContext:
        return AuditContext(actor_id, self.source_ip, self.user_agent, self.request_id)


def record(
    conn: Connection,
    ctx: AuditContext,
    action: str,
    *,
    outcome: str = "success",
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.run(
        "INSERT INTO audit_log (action, outcome, actor_id, target_type, target_id, source_ip,"
        " user_agent, request_id, details) VALUES (:action, :outcome, :actor, :target_type,"
        " :target_id, :ip, :ua, :request_id, CAST(:details AS JSONB))",
        action=action,
        outcome=outcome,
        actor=ctx.actor_id,
        target_type=target_type,
        target_id=target_id,
        ip=ctx.source_ip[:64] or None,
        ua=ctx.user_agent[:512] or None,
        request_id=ctx.request_id[:128] or None,
        details=json.dumps(details or {}),
    )


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(str(entry_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:  # 18 digits fit a BIGINT
        return None
    # Decoding skips characters outside the alphabet: only the exact encoding is ours.
    return int(raw) if encode_cursor(int(raw)) == cursor else None


def _query(
    conn: Connection,
    *,
    user_id: str | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries newest first; `user_id` matches the actor or the target."""
    return fetch_all(
        conn,
        "SELECT id, occurred_at, action, outcome, actor_id, target_type, target_id, source_ip,"
        " user_agent, request_id, details FROM audit_log"
        " WHERE (CAST(:user_id AS TEXT) IS NULL OR actor_id = :user_id OR target_id = :user_id)"
        " AND (CAST(:action AS TEXT) IS NULL OR action = :action)"
        " AND (CAST(:since AS TIMESTAMPTZ) IS NULL OR occurred_at >= :since)"
        " AND (CAST(:until AS TIMESTAMPTZ) IS NULL OR occurred_at < :until)"
        " AND (CAST(:before AS BIGINT) IS NULL OR id < :before)"
        " ORDER BY id DESC LIMIT :limit",
        user_id=user_id,
        action=action,
        since=since,
        until=until,
        before=before_id,
        limit=limit,
    )


def _time(query: Mapping[str, str], name: str) -> dt.datetime | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
        # In UTC here: an offset that pushes year 1 or 9999 out of range fails now, not in SQL.
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise Problem(422, f"{name} must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z") from None


def search(query: Mapping[str, str]) -> dict[str, Any]:
    """The audit route: filters `user`, `action`, `from`, `to`; `limit`; `cursor` from a page."""
    from eventstream.api.validation import query_int
    from eventstream.db.connection import transaction

    action = query.get("action") or None
    if action is not None and action not in ACTIONS:
        raise Problem(422, f"action must be one of {sorted(ACTIONS)}")
    user = query.get("user") or None
    if user is not None and len(user) > 255:
        raise Problem(422, "user is too long")
    cursor = query.get("cursor")
    before = decode_cursor(cursor) if cursor else None
    if cursor and before is None:
        raise Problem(422, "cursor is not one this API returned")
    limit = query_int(query, "limit", default=50, low=1, high=200)
    with transaction() as conn:
        rows = _query(
            conn,
            user_id=user,
            action=action,
            since=_time(query, "from"),
            until=_time(query, "to"),
            before_id=before,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1]["id"]) if more else None}
