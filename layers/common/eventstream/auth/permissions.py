"""Topic ACL entries: grant, revoke, list, and the check the event routes make."""

from __future__ import annotations

from typing import Any

from eventstream.api.problems import not_found
from eventstream.api.request import Caller
from eventstream.api.validation import Fields
from eventstream.auth import acl, audit, store
from eventstream.auth.acl import AclEntry
from eventstream.auth.audit import AuditContext
from eventstream.auth.models import UUID_RE, is_uuid
from eventstream.auth.users import get_user
from eventstream.db.connection import autocommit, transaction
from eventstream.topics import TopicError, validate_pattern


def entry_json(entry: AclEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "user_id": entry.user_id,
        "topic_pattern": entry.topic_pattern,
        "permission": entry.permission,
    }


def user_permissions(caller: Caller, user_id: str) -> dict[str, Any]:
    user = get_user(caller, user_id)  # self or admin, 404 for none
    with transaction() as conn:
        entries = store.acl_entries(conn, user_id)
    return {
        "user_id": user.id,
        "roles": list(user.roles),
        "acl": [entry_json(e) for e in entries],
    }


def grant(body: dict[str, Any], ctx: AuditContext) -> tuple[AclEntry, bool]:
    fields = Fields(body, allowed={"user_id", "topic_pattern", "permission"})
    user_id = fields.string("user_id", max_len=36, pattern=UUID_RE, hint="must be a user id")
    pattern = fields.string("topic_pattern", max_len=255)
    if pattern is not None:
        try:
            validate_pattern(pattern)
        except TopicError as e:
            fields.error("topic_pattern", str(e))
    permission = fields.string("permission", max_len=16)
    if permission is not None and not acl.is_permission(permission):
        fields.error("permission", "must be 'publish' or 'subscribe'")
    fields.done()
    assert user_id
    assert pattern
    assert permission
    with transaction() as conn:
        if store.get_user(conn, user_id) is None:
            raise not_found("user")
        entry, created = store.insert_acl(
            conn, user_id=user_id, topic_pattern=pattern, permission=permission
        )
        if created:
            audit.record(
                conn,
                ctx,
                "acl_granted",
                target_type="user",
                target_id=user_id,
                details={"acl_id": entry.id, "topic_pattern": pattern, "permission": permission},
            )
    return entry, created


def revoke(acl_id: str, ctx: AuditContext) -> None:
    # topic_acl.id is a SERIAL (INTEGER): a larger number is no entry, not an SQL error.
    if not acl_id.isascii() or not acl_id.isdigit() or len(acl_id) > 10:
        raise not_found("ACL entry")
    if int(acl_id) > 2**31 - 1:
        raise not_found("ACL entry")
    with transaction() as conn:
        entry = store.delete_acl(conn, int(acl_id))
        if entry is None:
            raise not_found("ACL entry")
        audit.record(
            conn,
            ctx,
            "acl_revoked",
            target_type="user",
            target_id=entry.user_id,
            details={
                "acl_id": entry.id,
                "topic_pattern": entry.topic_pattern,
                "permission": entry.permission,
            },
        )


def may(caller: Caller, topic: str, permission: str) -> bool:
    """Whether the caller may publish/subscribe on `topic` (the events routes ask this)."""
    if caller.is_admin:
        return acl.is_allowed((), caller.roles, topic, permission)
    if not is_uuid(caller.sub):
        return False
    with autocommit() as conn:
        entries = store.acl_entries(conn, caller.sub)
    return acl.is_allowed(entries, caller.roles, topic, permission)
