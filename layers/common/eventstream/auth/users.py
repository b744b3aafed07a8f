"""User management: create, list, read, change and delete users, with who-may-do-what."""

from __future__ import annotations

from typing import Any

from eventstream.api.problems import Problem, conflict, forbidden, not_found
from eventstream.api.request import Caller
from eventstream.api.validation import Fields
from eventstream.auth import audit, passwords, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.models import EMAIL_RE, ROLES, USERNAME_HINT, USERNAME_RE, User, is_uuid
from eventstream.db.connection import transaction

MAX_PAGE = 100


def _new_password(fields: Fields, name: str, value: str | None, context: list[str]) -> str | None:
    if value is None:
        return None
    try:
        passwords.validate_new_password(value, context=context)
    except passwords.PasswordPolicyError as e:
        fields.error(name, str(e))
        return None
    return passwords.hash_password(value)


def create_user(body: dict[str, Any], ctx: AuditContext) -> User:
    fields = Fields(body, allowed={"username", "password", "email", "roles"})
    raw_username = fields.string("username", max_len=64)
    username = raw_username.lower() if raw_username else None
    if username is not None and not USERNAME_RE.fullmatch(username):
        fields.error("username", USERNAME_HINT)
        username = None
    email = fields.string("email", required=False, pattern=EMAIL_RE, hint="is not an email address")
    roles = fields.string_list("roles", choices=ROLES) or ["user"]
    password = fields.string("password", max_len=passwords.MAX_PASSWORD_BYTES)
    password_hash = _new_password(fields, "password", password, [w for w in (username, email) if w])
    fields.done()
    assert username is not None
    with transaction() as conn:
        try:
            user = store.insert_user(
                conn,
                username=username,
                password_hash=password_hash,
                email=email,
                roles=roles,
                email_verified=True,  # an admin set it
            )
        except store.DuplicateError:
            raise conflict(f"username {username!r} is taken") from None
        audit.record(
            conn,
            ctx,
            "user_created",
            target_type="user",
            target_id=user.id,
            details={"username": username, "roles": roles},
        )
    return user


def _may_see(caller: Caller, user_id: str) -> None:
    if not (caller.is_admin or caller.sub == user_id):
        raise forbidden("only an admin or the user themself may do this")


def get_user(caller: Caller, user_id: str) -> User:
    _may_see(caller, user_id)
    if not is_uuid(user_id):
        raise not_found("user")
    with transaction() as conn:
        user = store.get_user(conn, user_id)
    if user is None:
        raise not_found("user")
    return user


def list_users(after: str | None, limit: int) -> tuple[list[User], str | None]:
    with transaction() as conn:
        users = store.list_users(conn, after=after, limit=min(limit, MAX_PAGE) + 1)
    more = len(users) > limit
    users = users[:limit]
    return users, (users[-1].username if more and users else None)


def update_user(caller: Caller, user_id: str, body: dict[str, Any], ctx: AuditContext) -> User:
    _may_see(caller, user_id)
    if not is_uuid(user_id):
        raise not_found("user")
    self_edit = caller.sub == user_id
    fields = Fields(
        body,
        allowed={
            "email",
            "password",
            "current_password",
            "roles",
            "disabled",
            "rate_limit_per_minute",
        },
    )
    changes: dict[str, Any] = {}
    if "email" in body:
        changes["email"] = fields.string(
            "email", required=False, pattern=EMAIL_RE, hint="is not an email address"
        )
        # Only an admin vouches for an address; one users set themselves links no OAuth login.
        changes["email_verified"] = caller.is_admin and not self_edit
    roles = fields.string_list("roles", choices=ROLES)
    disabled = fields.boolean("disabled")
    password = fields.string("password", required=False, max_len=passwords.MAX_PASSWORD_BYTES)
    current = fields.string(
        "current_password", required=False, max_len=passwords.MAX_PASSWORD_BYTES
    )
    limit = body.get("rate_limit_per_minute")
    if "rate_limit_per_minute" in body:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1_000_000
        ):
            fields.error("rate_limit_per_minute", "must be null or an integer from 1 to 1000000")
        changes["rate_limit_per_minute"] = limit
    admin_only = roles is not None or disabled is not None or "rate_limit_per_minute" in body
    if admin_only and not caller.is_admin:
        raise forbidden("only an admin may change roles, limits or disable a user")
    if self_edit and (disabled or (roles is not None and "admin" not in roles)) and caller.is_admin:
        raise conflict("an admin cannot disable or demote themself")
    fields.done()
    with transaction() as conn:
        user = store.get_user(conn, user_id)
        if user is None:
            raise not_found("user")
        if password is not None:
            # Self-service needs the current password: a stolen access token alone can't take over.
            if self_edit or not caller.is_admin:
                ok = (
                    current is not None
                    and user.password_hash is not None
                    and (passwords.verify_password(user.password_hash, current).ok)
                )
                if not ok:
                    raise Problem(403, "current_password is wrong or missing")
            new_hash = _new_password(
                fields, "password", password, [user.username, user.email or ""]
            )
            fields.done()
            changes["password_hash"] = new_hash
        if roles is not None:
            changes["roles"] = roles
        if disabled is not None:
            changes["disabled"] = disabled
        updated = store.update_user(conn, user_id, changes)
        assert updated is not None
        if "password_hash" in changes or disabled:
            # A new password or a disabled account ends every session it had.
            store.revoke_user_families(conn, user_id)
        audit.record(
            conn,
            ctx,
            "user_changed",
            target_type="user",
            target_id=user_id,
            details={"fields": sorted(k if k != "password_hash" else "password" for k in changes)},
        )
    return updated


def delete_user(caller: Caller, user_id: str, ctx: AuditContext) -> None:
    if caller.sub == user_id:
        raise conflict("an admin cannot delete themself")
    if not is_uuid(user_id):
        raise not_found("user")
    with transaction() as conn:
        user = store.get_user(conn, user_id)
        if user is None or not store.delete_user(conn, user_id):
            raise not_found("user")
        audit.record(
            conn,
            ctx,
            "user_deleted",
            target_type="user",
            target_id=user_id,
            details={"username": user.username},
        )
