"""The first admin: created once, when none exists, by the local cloud or `eventstream users`."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from eventstream.auth import audit, passwords, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.models import User

if TYPE_CHECKING:
    from pg8000.native import Connection

SYSTEM = AuditContext(actor_id="system:bootstrap", source_ip="", user_agent="", request_id="")


def generate_password() -> str:
    return secrets.token_urlsafe(18)  # 144 bits, 24 characters


def create_admin(
    conn: Connection, *, username: str, password: str, email: str | None = None
) -> User:
    passwords.validate_new_password(password, context=[username])
    user = store.insert_user(
        conn,
        username=username,
        password_hash=passwords.hash_password(password),
        email=email,
        roles=["admin", "user"],
        email_verified=True,  # the operator gave it
    )
    audit.record(
        conn,
        SYSTEM,
        "user_created",
        target_type="user",
        target_id=user.id,
        details={"username": username, "roles": ["admin", "user"], "bootstrap": True},
    )
    return user


def ensure_admin(conn: Connection, password: str | None) -> tuple[User, str] | None:
    """Create `admin` if the database has no admin yet: (user, the password used), else None."""
    if store.count_active_admins(conn) > 0 or store.get_user_by_username(conn, "admin"):
        return None
    chosen = password or generate_password()
    return create_admin(conn, username="admin", password=chosen), chosen
