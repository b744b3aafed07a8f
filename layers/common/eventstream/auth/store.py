"""Data access for the auth service: every SQL statement it runs, parameterized, in one place.

Functions take the connection (inside the caller's transaction) and return records or rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventstream.auth.acl import AclEntry
from eventstream.auth.models import User
from eventstream.db.connection import UNIQUE_VIOLATION, sqlstate
from eventstream.db.rows import fetch_all, fetch_one

if TYPE_CHECKING:
    from pg8000.native import Connection

FOREIGN_KEY_VIOLATION = "23503"
_USER_COLUMNS = (
    "id, username, email, roles, disabled, created_at, updated_at, password_hash,"
    " rate_limit_per_minute"
)
# The columns update_user may set: the SET list is built from these names only, never input.
_UPDATABLE = (
    "email",
    "email_verified",
    "password_hash",
    "roles",
    "disabled",
    "rate_limit_per_minute",
)


class DuplicateError(Exception):
    """A row with the same unique key exists (a taken username, a second identity link)."""


# --- users -------------------------------------------------------------------------------


def insert_user(
    conn: Connection,
    *,
    username: str,
    password_hash: str | None,
    email: str | None,
    roles: list[str],
    email_verified: bool = False,
) -> User:
    from pg8000.native import DatabaseError

    try:
        conn.run("SAVEPOINT insert_user")
        row = fetch_one(
            conn,
            f"INSERT INTO users (username, password_hash, email, roles, email_verified)"
            f" VALUES (:username, :password_hash, :email, CAST(:roles AS TEXT[]), :verified)"
            f" RETURNING {_USER_COLUMNS}",
            username=username,
            password_hash=password_hash,
            email=email,
            roles=roles,
            verified=bool(email and email_verified),
        )
        conn.run("RELEASE SAVEPOINT insert_user")
    except DatabaseError as e:
        if sqlstate(e) != UNIQUE_VIOLATION:
            raise
        conn.run("ROLLBACK TO SAVEPOINT insert_user")
        raise DuplicateError("username is taken") from None
    assert row is not None
    return User.from_row(row)


def get_user(conn: Connection, user_id: str) -> User | None:
    row = fetch_one(
        conn, f"SELECT {_USER_COLUMNS} FROM users WHERE id = CAST(:id AS UUID)", id=user_id
    )
    return User.from_row(row) if row else None


def get_user_by_username(conn: Connection, username: str) -> User | None:
    row = fetch_one(
        conn, f"SELECT {_USER_COLUMNS} FROM users WHERE username = :username", username=username
    )
    return User.from_row(row) if row else None


def list_users(conn: Connection, *, after: str | None, limit: int) -> list[User]:
    """Users ordered by username, after the cursor `after` (a username): keyset pagination."""
    rows = fetch_all(
        conn,
        f"SELECT {_USER_COLUMNS} FROM users"
        " WHERE (CAST(:after AS TEXT) IS NULL OR username > :after)"
        " ORDER BY username LIMIT :limit",
        after=after,
        limit=limit,
    )
    return [User.from_row(r) for r in rows]


def update_user(conn: Connection, user_id: str, changes: dict[str, Any]) -> User | None:
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if not changes:
        return get_user(conn, user_id)
    sets = ", ".join(
        f"{name} = CAST(:{name} AS TEXT[])" if name == "roles" else f"{name} = :{name}"
        for name in _UPDATABLE
        if name in changes
    )
    row = fetch_one(
        conn,
        f"UPDATE users SET {sets}, updated_at = now() WHERE id = CAST(:id AS UUID)"
        f" RETURNING {_USER_COLUMNS}",
        id=user_id,
        **changes,
    )
    return User.from_row(row) if row else None


def delete_user(conn: Connection, user_id: str) -> bool:
    rows = conn.run("DELETE FROM users WHERE id = CAST(:id AS UUID) RETURNING id", id=user_id)
    return bool(rows)


def count_active_admins(conn: Connection) -> int:
    rows = conn.run("SELECT count(*) FROM users WHERE 'admin' = ANY(roles) AND NOT disabled")
    return int(rows[0][0])


# --- topic ACL ---------------------------------------------------------------------------

_ACL_COLUMNS = "id, user_id, topic_pattern, permission, created_at"


def _acl(row: dict[str, Any]) -> AclEntry:
    return AclEntry(
        id=int(row["id"]),
        user_id=str(row["user_id"]),
        topic_pattern=row["topic_pattern"],
        permission=row["permission"],
    )


def acl_entries(conn: Connection, user_id: str) -> list[AclEntry]:
    rows = fetch_all(
        conn,
        f"SELECT {_ACL_COLUMNS} FROM topic_acl WHERE user_id = CAST(:user_id AS UUID) ORDER BY id",
        user_id=user_id,
    )
    return [_acl(r) for r in rows]


def insert_acl(
    conn: Connection, *, user_id: str, topic_pattern: str, permission: str
) -> tuple[AclEntry, bool]:
    """(the entry, whether it is new); granting what is already granted returns the existing one."""
    row = fetch_one(
        conn,
        f"INSERT INTO topic_acl (user_id, topic_pattern, permission)"
        f" VALUES (CAST(:user_id AS UUID), :pattern, :permission)"
        f" ON CONFLICT (user_id, topic_pattern, permission) DO NOTHING RETURNING {_ACL_COLUMNS}",
        user_id=user_id,
        pattern=topic_pattern,
        permission=permission,
    )
    if row is not None:
        return _acl(row), True
    row = fetch_one(
        conn,
        f"SELECT {_ACL_COLUMNS} FROM topic_acl WHERE user_id = CAST(:user_id AS UUID)"
        " AND topic_pattern = :pattern AND permission = :permission",
        user_id=user_id,
        pattern=topic_pattern,
        permission=permission,
    )
    assert row is not None
    return _acl(row), False


def delete_acl(conn: Connection, acl_id: int) -> AclEntry | None:
    row = fetch_one(
        conn, f"DELETE FROM topic_acl WHERE id = :id RETURNING {_ACL_COLUMNS}", id=acl_id
    )
    return _acl(row) if row else None


# --- refresh tokens ----------------------------------------------------------------------


def insert_refresh_token(
    conn: Connection, *, family_id: str, user_id: str, token_hash: str, ttl_s: int
) -> None:
    conn.run(
        "INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at)"
        " VALUES (CAST(:family AS UUID), CAST(:user_id AS UUID), :hash,"
        " now() + make_interval(secs => :ttl))",
        family=family_id,
        user_id=user_id,
        hash=token_hash,
        ttl=ttl_s,
    )


def spend_refresh_token(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """Mark a live token used and return it; None if it is unknown, spent, revoked or expired.

    One UPDATE: two concurrent refreshes with the same token cannot both succeed.
    """
    return fetch_one(
        conn,
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = :hash"
        " AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()"
        " RETURNING CAST(family_id AS TEXT) AS family_id, CAST(user_id AS TEXT) AS user_id",
        hash=token_hash,
    )


def find_refresh_token(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    return fetch_one(
        conn,
        "SELECT CAST(family_id AS TEXT) AS family_id, CAST(user_id AS TEXT) AS user_id,"
        " used_at, revoked_at, expires_at <= now() AS expired"
        " FROM refresh_tokens WHERE token_hash = :hash",
        hash=token_hash,
    )


def revoke_family(conn: Connection, family_id: str) -> int:
    rows = conn.run(
        "UPDATE refresh_tokens SET revoked_at = now()"
        " WHERE family_id = CAST(:family AS UUID) AND revoked_at IS NULL RETURNING id",
        family=family_id,
    )
    return len(rows or [])


def revoke_user_families(conn: Connection, user_id: str) -> int:
    rows = conn.run(
        "UPDATE refresh_tokens SET revoked_at = now()"
        " WHERE user_id = CAST(:user_id AS UUID) AND revoked_at IS NULL RETURNING id",
        user_id=user_id,
    )
    return len(rows or [])


# --- login failures (lockout) ------------------------------------------------------------


def recent_failures(
    conn: Connection, *, column: str, value: str, window_s: int
) -> tuple[int, float]:
    """(failures of this username or IP in the window, seconds since the latest of them)."""
    if column not in ("username", "source_ip"):
        raise ValueError(column)
    rows = conn.run(
        f"SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - max(failed_at)), 0)"
        f" FROM login_failures WHERE {column} = :value"
        f" AND failed_at > now() - make_interval(secs => :window)",
        value=value,
        window=window_s,
    )
    return int(rows[0][0]), float(rows[0][1])


def record_failure(conn: Connection, *, username: str, source_ip: str) -> None:
    conn.run(
        "INSERT INTO login_failures (username, source_ip) VALUES (:username, :ip)",
        username=username,
        ip=source_ip,
    )


def clear_failures(conn: Connection, username: str) -> None:
    conn.run("DELETE FROM login_failures WHERE username = :username", username=username)


# --- API keys ----------------------------------------------------------------------------

_API_KEY_COLUMNS = (
    "id, name, prefix, CAST(created_by AS TEXT) AS created_by, created_at, last_used_at, revoked_at"
)


def insert_api_key(
    conn: Connection, *, name: str, prefix: str, key_hash: str, created_by: str | None
) -> dict[str, Any]:
    row = fetch_one(
        conn,
        f"INSERT INTO api_keys (name, prefix, key_hash, created_by)"
        # NULL when the creator is gone (a deleted admin's token lives out its 15 minutes)
        f" VALUES (:name, :prefix, :hash,"
        f" (SELECT id FROM users WHERE id = CAST(:created_by AS UUID)))"
        f" RETURNING {_API_KEY_COLUMNS}",
        name=name,
        prefix=prefix,
        hash=key_hash,
        created_by=created_by,
    )
    assert row is not None
    return row


def list_api_keys(conn: Connection, *, include_revoked: bool) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys"
        " WHERE :all OR revoked_at IS NULL ORDER BY created_at, id",
        all=include_revoked,
    )


def revoke_api_key(conn: Connection, key_id: str) -> dict[str, Any] | None:
    return fetch_one(
        conn,
        f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())"
        f" WHERE id = CAST(:id AS UUID) RETURNING {_API_KEY_COLUMNS}",
        id=key_id,
    )


def active_api_key(conn: Connection, prefix: str) -> dict[str, Any] | None:
    """The live key with this prefix, with its hash."""
    return fetch_one(
        conn,
        "SELECT CAST(id AS TEXT) AS id, key_hash FROM api_keys"
        " WHERE prefix = :prefix AND revoked_at IS NULL",
        prefix=prefix,
    )


def touch_api_key(conn: Connection, key_id: str) -> None:
    conn.run("UPDATE api_keys SET last_used_at = now() WHERE id = CAST(:id AS UUID)", id=key_id)


def is_active_admin(user_id: str) -> bool:
    """One autocommit read: the admin routes re-check what a token up to 15 minutes old says."""
    from eventstream.auth.models import is_uuid
    from eventstream.db.connection import autocommit

    if not is_uuid(user_id):
        return False
    with autocommit() as conn:
        rows = conn.run(
            "SELECT 1 FROM users WHERE id = CAST(:id AS UUID) AND NOT disabled"
            " AND 'admin' = ANY(roles)",
            id=user_id,
        )
    return bool(rows)
