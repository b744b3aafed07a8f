"""Topic ACL decisions: deny by default, ``admin`` passes, patterns from eventstream.topics.

Pure logic: the caller loads the user's entries (and roles) and asks one question. Entries are
trusted to belong to the caller; this module does not compare ``user_id``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal, TypeGuard

from eventstream.topics import is_valid_topic, pattern_matches

Permission = Literal["publish", "subscribe"]
PERMISSIONS: frozenset[str] = frozenset(("publish", "subscribe"))
ADMIN_ROLE = "admin"


class AclError(ValueError):
    """An ACL entry field outside what the service accepts (for the grant route's 422)."""


@dataclass(frozen=True, slots=True)
class AclEntry:
    id: int
    user_id: str
    topic_pattern: str
    permission: str


def is_permission(value: object) -> TypeGuard[Permission]:
    return isinstance(value, str) and value in PERMISSIONS


def validate_permission(value: object) -> Permission:
    """Return ``value`` as a Permission, or raise AclError naming the accepted ones."""
    if not is_permission(value):
        raise AclError("permission must be 'publish' or 'subscribe'")
    return value


def is_allowed(
    entries: Iterable[AclEntry], roles: Collection[str], topic: str, permission: str
) -> bool:
    """Whether a caller with ``roles`` and ACL ``entries`` may ``permission`` on ``topic``."""
    # Checked before the admin shortcut: not even an admin may use a name outside the grammar.
    if not is_permission(permission) or not is_valid_topic(topic):
        return False
    # A bare string would turn the role check into a substring test ("admin" in "nonadmin").
    if isinstance(roles, str):
        roles = (roles,)
    if ADMIN_ROLE in roles:
        return True
    # publish and subscribe are separate rights: no entry of one kind grants the other.
    return any(
        e.permission == permission and pattern_matches(e.topic_pattern, topic) for e in entries
    )
