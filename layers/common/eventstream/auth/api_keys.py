"""API keys for machine callers (GET /v1/stats/realtime): created, listed, revoked, checked."""

from __future__ import annotations

from typing import Any

from eventstream.api.problems import not_found
from eventstream.api.validation import Fields
from eventstream.auth import audit, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.models import is_uuid
from eventstream.auth.tokens import api_key_matches, api_key_prefix, new_api_key
from eventstream.db.connection import transaction


def create(body: dict[str, Any], ctx: AuditContext) -> dict[str, Any]:
    fields = Fields(body, allowed={"name"})
    name = fields.string("name", max_len=100)
    fields.done()
    key, prefix, key_hash = new_api_key()
    with transaction() as conn:
        row = store.insert_api_key(
            conn,
            name=name or "",
            prefix=prefix,
            key_hash=key_hash,
            created_by=ctx.actor_id if is_uuid(ctx.actor_id) else None,
        )
        audit.record(
            conn,
            ctx,
            "api_key_created",
            target_type="api_key",
            target_id=str(row["id"]),
            details={"name": name, "prefix": prefix},
        )
    # The only time the key is ever shown.
    return {**row, "key": key}


def list_keys(include_revoked: bool) -> list[dict[str, Any]]:
    with transaction() as conn:
        return store.list_api_keys(conn, include_revoked=include_revoked)


def revoke(key_id: str, ctx: AuditContext) -> None:
    if not is_uuid(key_id):
        raise not_found("API key")
    with transaction() as conn:
        row = store.revoke_api_key(conn, key_id)
        if row is None:
            raise not_found("API key")
        audit.record(
            conn,
            ctx,
            "api_key_revoked",
            target_type="api_key",
            target_id=key_id,
            details={"prefix": row["prefix"]},
        )


def check(key: str) -> str | None:
    """The id of the live key `key`, or None. Garbage is refused before any query."""
    prefix = api_key_prefix(key)
    if prefix is None:
        return None
    with transaction() as conn:
        row = store.active_api_key(conn, prefix)
        if row is None or not api_key_matches(key, row["key_hash"]):
            return None
        store.touch_api_key(conn, row["id"])
    return str(row["id"])
