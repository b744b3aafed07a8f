"""Login, refresh with rotation and reuse detection, logout, and token validation.

Lockout: LOCKOUT_THRESHOLD failures for one username within LOCKOUT_WINDOW_S lock it for
LOCKOUT_WINDOW_S (counted by the name tried, so an unknown name locks the same way and the answer
reveals nothing); IP_MAX_FAILURES failures from one source IP in the window stop that IP too.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventstream.api.problems import Problem, too_many_requests, unauthorized
from eventstream.auth import audit, passwords, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.keys import ACCESS_TOKEN_TTL_S
from eventstream.auth.models import User
from eventstream.auth.tokens import TokenError, hash_refresh_token, new_refresh_token
from eventstream.auth.verifier import issue_access, verifier
from eventstream.db.connection import transaction

if TYPE_CHECKING:
    from pg8000.native import Connection

LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW_S = 15 * 60
REFRESH_TOKEN_TTL_S = 30 * 24 * 3600
BAD_CREDENTIALS = "invalid username or password"


def ip_max_failures() -> int:
    return int(os.environ.get("LOGIN_IP_MAX_FAILURES", "50"))


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def issue_pair(conn: Connection, user: User, *, family_id: str | None = None) -> TokenPair:
    """A new access token and the next refresh token of `family_id` (a new family if None)."""
    refresh, refresh_hash = new_refresh_token()
    store.insert_refresh_token(
        conn,
        family_id=family_id or str(uuid.uuid4()),
        user_id=user.id,
        token_hash=refresh_hash,
        ttl_s=REFRESH_TOKEN_TTL_S,
    )
    access = issue_access(user.id, user.roles)
    return TokenPair(access.token, refresh, ACCESS_TOKEN_TTL_S)


def _lock_check(conn: Connection, username: str, ctx: AuditContext) -> Problem | None:
    count, since_last = store.recent_failures(
        conn, column="source_ip", value=ctx.source_ip, window_s=LOCKOUT_WINDOW_S
    )
    if count >= ip_max_failures():
        audit.record(
            conn, ctx, "login_rate_limited", outcome="failure", details={"username": username}
        )
        return too_many_requests(
            "too many failed logins from this address", LOCKOUT_WINDOW_S - int(since_last)
        )
    count, since_last = store.recent_failures(
        conn, column="username", value=username, window_s=LOCKOUT_WINDOW_S
    )
    if count >= LOCKOUT_THRESHOLD:
        audit.record(conn, ctx, "login_locked", outcome="failure", details={"username": username})
        return too_many_requests(
            "account temporarily locked after failed logins", LOCKOUT_WINDOW_S - int(since_last)
        )
    return None


def _fail(conn: Connection, username: str, user: User | None, ctx: AuditContext) -> None:
    store.record_failure(conn, username=username, source_ip=ctx.source_ip)
    target = user.id if user else None
    audit.record(
        conn,
        ctx,
        "login",
        outcome="failure",
        target_type="user",
        target_id=target,
        details={"username": username},
    )
    count, _ = store.recent_failures(
        conn, column="username", value=username, window_s=LOCKOUT_WINDOW_S
    )
    if count == LOCKOUT_THRESHOLD:
        audit.record(
            conn,
            ctx,
            "lockout",
            outcome="failure",
            target_type="user",
            target_id=target,
            details={"username": username, "failures": count},
        )


def login(username: str, password: str, ctx: AuditContext) -> TokenPair:
    # Names are stored lower-case; folding here makes 'Admin' and 'admin' one lockout counter.
    username = username.lower()
    refusal: Problem | None = None
    pair: TokenPair | None = None
    with transaction() as conn:
        refusal = _lock_check(conn, username, ctx)
        if refusal is None:
            user = store.get_user_by_username(conn, username)
            if user is None or user.password_hash is None:
                passwords.verify_unknown_user(password)
                ok = False
            else:
                check = passwords.verify_password(user.password_hash, password)
                ok = check.ok and not user.disabled
                if ok and check.needs_rehash:
                    store.update_user(
                        conn, user.id, {"password_hash": passwords.hash_password(password)}
                    )
            if not ok:
                _fail(conn, username, user, ctx)
                refusal = unauthorized(BAD_CREDENTIALS)
            else:
                assert user is not None
                store.clear_failures(conn, username)
                pair = issue_pair(conn, user)
                audit.record(
                    conn, ctx.as_actor(user.id), "login", target_type="user", target_id=user.id
                )
    # Raised after the commit: the failure and its audit entry must be kept.
    if refusal is not None:
        raise refusal
    assert pair is not None
    return pair


def refresh(refresh_token: str, ctx: AuditContext) -> TokenPair:
    token_hash = hash_refresh_token(refresh_token)
    refusal: Problem | None = None
    pair: TokenPair | None = None
    with transaction() as conn:
        spent = store.spend_refresh_token(conn, token_hash)
        if spent is None:
            refusal = _refused_refresh(conn, token_hash, ctx)
        else:
            user = store.get_user(conn, spent["user_id"])
            if user is None or user.disabled:
                store.revoke_family(conn, spent["family_id"])
                audit.record(
                    conn,
                    ctx.as_actor(spent["user_id"]),
                    "refresh",
                    outcome="failure",
                    target_type="user",
                    target_id=spent["user_id"],
                    details={"reason": "user disabled"},
                )
                refusal = unauthorized("refresh token is no longer valid")
            else:
                pair = issue_pair(conn, user, family_id=spent["family_id"])
                audit.record(
                    conn, ctx.as_actor(user.id), "refresh", target_type="user", target_id=user.id
                )
    if refusal is not None:
        raise refusal
    assert pair is not None
    return pair


def _refused_refresh(conn: Connection, token_hash: str, ctx: AuditContext) -> Problem:
    known = store.find_refresh_token(conn, token_hash)
    if known is None:
        return unauthorized("refresh token is not valid")
    actor = ctx.as_actor(known["user_id"])
    if known["used_at"] is not None and known["revoked_at"] is None:
        # A spent token came back: whoever holds the family may have stolen it. Revoke it all.
        revoked = store.revoke_family(conn, known["family_id"])
        audit.record(
            conn,
            actor,
            "refresh_reuse_detected",
            outcome="failure",
            target_type="user",
            target_id=known["user_id"],
            details={"family_id": known["family_id"], "revoked": revoked},
        )
        return unauthorized("refresh token was already used; the session has been revoked")
    reason = "expired" if known["expired"] else "revoked"
    audit.record(
        conn,
        actor,
        "refresh",
        outcome="failure",
        target_type="user",
        target_id=known["user_id"],
        details={"reason": reason},
    )
    return unauthorized(f"refresh token is {reason}")


def logout(user_id: str, refresh_token: str | None, ctx: AuditContext) -> int:
    """Revoke the family of `refresh_token` (it must be the caller's), or all of the caller's."""
    with transaction() as conn:
        if refresh_token is None:
            revoked = store.revoke_user_families(conn, user_id)
            scope = "all"
        else:
            known = store.find_refresh_token(conn, hash_refresh_token(refresh_token))
            if known is None or known["user_id"] != user_id:
                raise unauthorized("refresh token is not valid")
            revoked = store.revoke_family(conn, known["family_id"])
            scope = "session"
        audit.record(
            conn,
            ctx,
            "logout",
            target_type="user",
            target_id=user_id,
            details={"scope": scope, "revoked": revoked},
        )
    return revoked


def validate(token: str) -> dict[str, Any]:
    """The validate route's answer: never raises for a bad token, says why instead."""
    try:
        claims = verifier().verify(token)
    except TokenError as e:
        return {"valid": False, "reason": e.reason}
    return {"valid": True, "sub": claims.sub, "roles": list(claims.roles), "exp": claims.exp}
