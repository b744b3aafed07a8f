"""OAuth2 login with GitHub and Google: start (redirect to the provider) and callback (tokens).

start: a new state, nonce and PKCE verifier; the state's hash and the verifier are stored for
STATE_TTL_S; the browser gets a redirect to the provider and an HttpOnly cookie holding the
state, so the callback only completes in the browser that started the login (RFC 6749 §10.12).

callback: the cookie must match the query's state; the stored request is deleted as it is read
(single use) and must be for this provider and unexpired; the code is exchanged with the PKCE
verifier outside any database transaction; then, in one transaction, the identity is linked or
a user created, and a token pair is issued. Every refusal after the state check is audited.

Link or create: a known identity signs its user in; else a local user with the same email,
when the provider has verified it, gets the identity linked; else a new user is created
(username from the provider's login or email, made unique; role `user`; no password).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eventstream.api.problems import Problem
from eventstream.auth import audit, oauth_github, oauth_oidc, oauth_store, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.models import User
from eventstream.auth.oauth_config import (
    GitHubConfig,
    GoogleConfig,
    OAuthConfig,
    OAuthConfigError,
    load_config,
)
from eventstream.auth.oauth_http import ProviderError
from eventstream.auth.oauth_identity import ProviderIdentity, username_candidates
from eventstream.auth.oauth_request import (
    STATE_TTL_S,
    AuthorizationRequest,
    hash_state,
    plausible_state,
)
from eventstream.auth.sessions import TokenPair, issue_pair
from eventstream.db.connection import transaction

if TYPE_CHECKING:
    from pg8000.native import Connection

logger = logging.getLogger("eventstream.auth.oauth")

STATE_COOKIE = "es_oauth_state"
MAX_CODE_CHARS = 2048
MAX_USERNAME_TRIES = 16
INVALID_STATE = "the login request is unknown, expired or already used; start again"


@dataclass(frozen=True)
class StartedLogin:
    location: str  # the provider's authorization URL
    set_cookie: str


@dataclass(frozen=True)
class CompletedLogin:
    pair: TokenPair
    user: User
    account: str  # "existing", "linked" or "created"
    clear_cookie: str

    def to_json(self) -> dict[str, Any]:
        return {**self.pair.to_json(), "account": self.account, "user": self.user.to_json()}


def _config() -> OAuthConfig:
    try:
        return load_config()
    except OAuthConfigError as e:
        logger.error("OAuth configuration unusable: %s", e)
        raise Problem(500, "OAuth login is misconfigured") from None


def _cookie(name: str, value: str, *, redirect_uri: str, max_age: int) -> str:
    """The state cookie, sent back only to this provider's callback."""
    parts = urlsplit(redirect_uri)
    cookie = f"{name}={value}; Path={parts.path}; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    return f"{cookie}; Secure" if parts.scheme == "https" else cookie


def _unavailable(e: ProviderError) -> Problem:
    logger.warning("OAuth provider unavailable: %s", e)
    return Problem(502, "the login provider could not be reached", headers={"Retry-After": "5"})


def start(provider: str) -> StartedLogin:
    cfg = _config()
    settings = cfg.provider(provider)
    req = AuthorizationRequest.new()
    redirect_uri = cfg.redirect_uri(provider)
    try:
        if isinstance(settings, GitHubConfig):
            location = oauth_github.authorize_url(settings, redirect_uri, req)
        else:
            location = oauth_oidc.authorize_url(settings, redirect_uri, req)
    except ProviderError as e:
        raise _unavailable(e) from None
    with transaction() as conn:
        oauth_store.purge_expired_states(conn)
        oauth_store.insert_state(
            conn,
            state_hash=req.state_hash,
            provider=provider,
            code_verifier=req.code_verifier,
            redirect_uri=redirect_uri,
            nonce=req.nonce if isinstance(settings, GoogleConfig) else None,
            ttl_s=STATE_TTL_S,
        )
    return StartedLogin(
        location=location,
        set_cookie=_cookie(STATE_COOKIE, req.state, redirect_uri=redirect_uri, max_age=STATE_TTL_S),
    )


def _cookie_state(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(STATE_COOKIE)
    return morsel.value if morsel is not None else None


def _refuse(
    ctx: AuditContext,
    provider: str,
    reason: str,
    problem: Problem,
    *,
    user_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Problem:
    """Audit a refused login in its own transaction; the caller raises the problem it returns."""
    with transaction() as conn:
        audit.record(
            conn,
            ctx.as_actor(user_id) if user_id else ctx,
            "oauth_login",
            outcome="failure",
            target_type="user" if user_id else None,
            target_id=user_id,
            details={"provider": provider, "reason": reason, **(details or {})},
        )
    return problem


def _fetch_identity(
    settings: GitHubConfig | GoogleConfig, code: str, pending: oauth_store.PendingLogin
) -> ProviderIdentity:
    if isinstance(settings, GitHubConfig):
        return oauth_github.fetch_identity(
            settings, code, pending.code_verifier, pending.redirect_uri
        )
    assert pending.nonce is not None  # start stores one for every OIDC request
    return oauth_oidc.fetch_identity(
        settings, code, pending.code_verifier, pending.redirect_uri, pending.nonce
    )


def callback(
    provider: str, query: dict[str, str], cookie_header: str | None, ctx: AuditContext
) -> CompletedLogin:
    cfg = _config()
    settings = cfg.provider(provider)
    state = query.get("state")
    if not plausible_state(state):
        raise Problem(400, "the state parameter is missing")
    assert state is not None
    cookie = _cookie_state(cookie_header)
    if cookie is None or not hmac.compare_digest(cookie.encode(), state.encode()):
        raise _refuse(
            ctx,
            provider,
            "state_cookie_mismatch",
            Problem(400, "this login was not started in this browser; start again"),
        )
    with transaction() as conn:
        pending = oauth_store.take_state(conn, hash_state(state))
    if pending is None or pending.expired or pending.provider != provider:
        reason = (
            "unknown_state"
            if pending is None
            else ("expired_state" if pending.expired else "wrong_provider")
        )
        raise _refuse(ctx, provider, reason, Problem(400, INVALID_STATE))
    error = query.get("error")
    if error:
        # The user declined, or the provider refused the request (RFC 6749 §4.1.2.1).
        code_name = error[:64] if error.isascii() else "invalid"
        raise _refuse(
            ctx,
            provider,
            "provider_error",
            Problem(401, f"the provider did not sign you in ({code_name})"),
            details={"error": code_name},
        )
    returned_iss = query.get("iss")
    if isinstance(settings, GoogleConfig) and returned_iss and returned_iss != settings.issuer:
        # RFC 9207: the answer names another issuer than we sent the user to (a mix-up attack).
        raise _refuse(
            ctx, provider, "issuer_mismatch", Problem(400, "the answer came from another issuer")
        )
    code = query.get("code")
    if not code or len(code) > MAX_CODE_CHARS:
        raise _refuse(ctx, provider, "missing_code", Problem(400, "the code parameter is missing"))
    try:
        identity = _fetch_identity(settings, code, pending)
    except ProviderError as e:
        if e.unavailable:
            raise _refuse(ctx, provider, "provider_unavailable", _unavailable(e)) from None
        raise _refuse(
            ctx,
            provider,
            "exchange_failed",
            Problem(401, "the provider did not confirm this login"),
            details={"error": e.error},
        ) from None
    return _complete(identity, cfg.redirect_uri(provider), ctx)


def _complete(identity: ProviderIdentity, redirect_uri: str, ctx: AuditContext) -> CompletedLogin:
    with transaction() as conn:
        user, account = link_or_create(conn, identity, ctx)
        if not user.disabled:
            pair = issue_pair(conn, user)
            audit.record(
                conn,
                ctx.as_actor(user.id),
                "oauth_login",
                target_type="user",
                target_id=user.id,
                details={
                    "provider": identity.provider,
                    "subject": identity.subject,
                    "account": account,
                },
            )
            return CompletedLogin(
                pair=pair,
                user=user,
                account=account,
                clear_cookie=_cookie(STATE_COOKIE, "", redirect_uri=redirect_uri, max_age=0),
            )
    raise _refuse(
        ctx,
        identity.provider,
        "user_disabled",
        Problem(403, "this account is disabled"),
        user_id=user.id,
    )


def link_or_create(
    conn: Connection, identity: ProviderIdentity, ctx: AuditContext
) -> tuple[User, str]:
    """The local user for `identity`, and how it was found: existing, linked or created."""
    oauth_store.lock_identity(conn, identity.provider, identity.subject)
    user = oauth_store.identity_user(conn, identity.provider, identity.subject)
    if user is not None:
        oauth_store.update_identity_email(conn, identity.provider, identity.subject, identity.email)
        return user, "existing"
    email = identity.verified_email
    if email is not None:
        matches = oauth_store.users_with_email(conn, email)
        # Two local users with this address: which one is meant is not ours to guess.
        if len(matches) == 1:
            user = matches[0]
            if not user.disabled:
                _link(conn, identity, user, ctx, "oauth_linked", {"subject": identity.subject})
            return user, "linked"
    user = _create_user(conn, identity, email)
    _link(conn, identity, user, ctx, "user_created", {"username": user.username, "roles": ["user"]})
    return user, "created"


def _link(
    conn: Connection,
    identity: ProviderIdentity,
    user: User,
    ctx: AuditContext,
    action: str,
    details: dict[str, Any],
) -> None:
    """Attach the identity to the user and audit why (`oauth_linked` or `user_created`)."""
    oauth_store.insert_identity(
        conn,
        provider=identity.provider,
        subject=identity.subject,
        user_id=user.id,
        email=identity.email,
    )
    audit.record(
        conn,
        ctx.as_actor(user.id),
        action,
        target_type="user",
        target_id=user.id,
        details={"provider": identity.provider, **details},
    )


def _create_user(conn: Connection, identity: ProviderIdentity, email: str | None) -> User:
    for tries, username in enumerate(username_candidates(identity), start=1):
        try:
            # No password: this user signs in through the provider until one is set.
            return store.insert_user(
                conn,
                username=username,
                password_hash=None,
                email=email,
                roles=["user"],
                email_verified=email is not None,  # only the provider's verified email comes here
            )
        except store.DuplicateError:
            if tries >= MAX_USERNAME_TRIES:
                break
    raise Problem(409, "could not find a free username for this account")
