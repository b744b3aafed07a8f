"""Data access for OAuth login: authorization requests in flight and linked provider identities.

Same style as store.py: the caller's connection and transaction, `:name` parameters only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventstream.auth.models import User
from eventstream.db.rows import fetch_all, fetch_one

if TYPE_CHECKING:
    from pg8000.native import Connection


@dataclass(frozen=True)
class PendingLogin:
    """An authorization request as `start` stored it, read back once by the callback."""

    provider: str
    code_verifier: str
    redirect_uri: str
    nonce: str | None
    expired: bool


# --- authorization requests (state) ------------------------------------------------------


def insert_state(
    conn: Connection,
    *,
    state_hash: str,
    provider: str,
    code_verifier: str,
    redirect_uri: str,
    nonce: str | None,
    ttl_s: int,
) -> None:
    conn.run(
        "INSERT INTO oauth_states (state_hash, provider, code_verifier, redirect_uri, nonce,"
        " expires_at) VALUES (:hash, :provider, :verifier, :redirect_uri, :nonce,"
        " now() + make_interval(secs => :ttl))",
        hash=state_hash,
        provider=provider,
        verifier=code_verifier,
        redirect_uri=redirect_uri,
        nonce=nonce,
        ttl=ttl_s,
    )


def take_state(conn: Connection, state_hash: str) -> PendingLogin | None:
    """Delete and return the request: a state works once, whatever happens next."""
    row = fetch_one(
        conn,
        "DELETE FROM oauth_states WHERE state_hash = :hash"
        " RETURNING provider, code_verifier, redirect_uri, nonce, expires_at <= now() AS expired",
        hash=state_hash,
    )
    if row is None:
        return None
    return PendingLogin(
        provider=row["provider"],
        code_verifier=row["code_verifier"],
        redirect_uri=row["redirect_uri"],
        nonce=row["nonce"],
        expired=bool(row["expired"]),
    )


def purge_expired_states(conn: Connection) -> int:
    """Abandoned logins (the user never came back) would otherwise stay for ever."""
    rows = conn.run("DELETE FROM oauth_states WHERE expires_at <= now() RETURNING 1")
    return len(rows or [])


# --- identities --------------------------------------------------------------------------


def lock_identity(conn: Connection, provider: str, subject: str) -> None:
    """Serialise concurrent first logins of one identity (two tabs): one creates, one finds."""
    conn.run(
        "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))", key=f"oauth:{provider}:{subject}"
    )


def identity_user(conn: Connection, provider: str, subject: str) -> User | None:
    row = fetch_one(
        conn,
        "SELECT u.id, u.username, u.email, u.roles, u.disabled, u.created_at, u.updated_at"
        " FROM oauth_identities i JOIN users u ON u.id = i.user_id"
        " WHERE i.provider = :provider AND i.subject = :subject",
        provider=provider,
        subject=subject,
    )
    return User.from_row(row) if row else None


def users_with_email(conn: Connection, email: str, *, limit: int = 2) -> list[User]:
    """Local users whose verified email matches, case-insensitively (the domain part is; we
    fold all). A self-set, unverified email never matches: otherwise anyone could claim another
    person's address before that person's first OAuth login and have it linked to their account."""
    rows = fetch_all(
        conn,
        "SELECT id, username, email, roles, disabled, created_at, updated_at FROM users"
        " WHERE lower(email) = lower(:email) AND email_verified"
        " ORDER BY created_at LIMIT :limit",
        email=email,
        limit=limit,
    )
    return [User.from_row(r) for r in rows]


def insert_identity(
    conn: Connection, *, provider: str, subject: str, user_id: str, email: str | None
) -> None:
    conn.run(
        "INSERT INTO oauth_identities (provider, subject, user_id, email)"
        " VALUES (:provider, :subject, CAST(:user_id AS UUID), :email)",
        provider=provider,
        subject=subject,
        user_id=user_id,
        email=email,
    )


def update_identity_email(conn: Connection, provider: str, subject: str, email: str | None) -> None:
    conn.run(
        "UPDATE oauth_identities SET email = :email"
        " WHERE provider = :provider AND subject = :subject AND email IS DISTINCT FROM :email",
        provider=provider,
        subject=subject,
        email=email,
    )


def identities_of(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        "SELECT provider, subject, email, created_at FROM oauth_identities"
        " WHERE user_id = CAST(:user_id AS UUID) ORDER BY created_at",
        user_id=user_id,
    )
