"""OAuth state and identity linking on a real Postgres with the project's migrations."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from eventstream.auth import oauth_store, store
from eventstream.auth.audit import AuditContext
from eventstream.auth.oauth import link_or_create
from eventstream.auth.oauth_identity import ProviderIdentity
from eventstream.db.connection import connect, transaction
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import apply_migrations
from tests.support import PROJECT_DIR

CTX = AuditContext(actor_id=None, source_ip="203.0.113.7", user_agent="test", request_id="r-1")


@pytest.fixture
def db(fresh_database: DbCredentials, clean_eventstream: pytest.MonkeyPatch) -> DbCredentials:
    apply_migrations(fresh_database, PROJECT_DIR / "infra" / "migrations")
    clean_eventstream.setenv("DATABASE_URL", fresh_database.to_url())
    return fresh_database


def identity(subject: str = "1001", **kw: Any) -> ProviderIdentity:
    fields: dict[str, Any] = {"email": None, "email_verified": False, "login": "octocat"}
    fields.update(kw)
    return ProviderIdentity("github", subject, **fields)


def put_state(conn: Any, state_hash: str, ttl_s: int = 600, provider: str = "google") -> None:
    oauth_store.insert_state(
        conn,
        state_hash=state_hash,
        provider=provider,
        code_verifier="v" * 43,
        redirect_uri="http://127.0.0.1:3000/auth/oauth/google/callback",
        nonce="n" * 43,
        ttl_s=ttl_s,
    )


def test_a_state_is_taken_once(db: DbCredentials) -> None:
    with transaction() as conn:
        put_state(conn, "a" * 64)
    with transaction() as conn:
        pending = oauth_store.take_state(conn, "a" * 64)
        again = oauth_store.take_state(conn, "a" * 64)
    assert pending is not None
    assert (pending.provider, pending.nonce, pending.expired) == ("google", "n" * 43, False)
    assert again is None


def test_expired_states_are_flagged_and_purged(db: DbCredentials) -> None:
    with transaction() as conn:
        put_state(conn, "b" * 64, ttl_s=0)
        put_state(conn, "c" * 64, ttl_s=600)
        put_state(conn, "d" * 64, ttl_s=0)
    with transaction() as conn:
        expired = oauth_store.take_state(conn, "b" * 64)
        assert expired is not None
        assert expired.expired is True
        assert oauth_store.purge_expired_states(conn) == 1  # d; c is still live
        assert oauth_store.take_state(conn, "c" * 64) is not None


def test_first_login_creates_then_finds_the_same_user(db: DbCredentials) -> None:
    with transaction() as conn:
        user, how = link_or_create(conn, identity(), CTX)
        assert how == "created"
        assert user.username == "octocat"
        assert user.password_hash is None
        assert user.roles == ("user",)
    with transaction() as conn:
        again, how = link_or_create(conn, identity(email="new@example.com"), CTX)
        assert (again.id, how) == (user.id, "existing")
        assert oauth_store.identities_of(conn, user.id)[0]["email"] == "new@example.com"
        actions = conn.run("SELECT action FROM audit_log WHERE target_id = :id", id=user.id)
    assert [a[0] for a in actions] == ["user_created"]


def test_a_taken_username_gets_a_suffix(db: DbCredentials) -> None:
    with transaction() as conn:
        store.insert_user(conn, username="octocat", password_hash=None, email=None, roles=["user"])
        store.insert_user(
            conn, username="octocat-2", password_hash=None, email=None, roles=["user"]
        )
        user, how = link_or_create(conn, identity(), CTX)
    assert (user.username, how) == ("octocat-3", "created")


def test_a_verified_email_links_the_one_local_user_who_has_it(db: DbCredentials) -> None:
    with transaction() as conn:
        local = store.insert_user(
            conn,
            username="jane",
            password_hash="x",
            email="Jane@Example.com",
            roles=["user"],
            email_verified=True,
        )
        user, how = link_or_create(
            conn, identity(email="jane@example.com", email_verified=True), CTX
        )
        assert (user.id, how) == (local.id, "linked")
        audit = conn.run(
            "SELECT action, actor_id FROM audit_log WHERE target_id = :id", id=local.id
        )
    assert [list(a) for a in audit] == [["oauth_linked", local.id]]


def test_an_email_the_local_user_set_themself_links_nobody(db: DbCredentials) -> None:
    # Someone who types another person's address into their own profile must not receive that
    # person's OAuth login.
    with transaction() as conn:
        squatter = store.insert_user(
            conn, username="mallory", password_hash="x", email="jane@example.com", roles=["user"]
        )
        user, how = link_or_create(
            conn, identity(email="jane@example.com", email_verified=True), CTX
        )
    assert how == "created"
    assert user.id != squatter.id


def test_an_unverified_or_ambiguous_email_links_nobody(db: DbCredentials) -> None:
    with transaction() as conn:
        for name in ("jane", "jane2"):
            store.insert_user(
                conn,
                username=name,
                password_hash="x",
                email="jane@example.com",
                roles=["user"],
                email_verified=True,
            )
        store.insert_user(
            conn,
            username="solo",
            password_hash="x",
            email="solo@example.com",
            roles=["user"],
            email_verified=True,
        )
        ambiguous, how_a = link_or_create(
            conn, identity("1", email="jane@example.com", email_verified=True, login="j"), CTX
        )
        unverified, how_u = link_or_create(
            conn, identity("2", email="solo@example.com", email_verified=False, login="s"), CTX
        )
    assert (how_a, how_u) == ("created", "created")
    assert ambiguous.username == "j-github"
    assert ambiguous.email == "jane@example.com"  # verified: kept on the new user
    assert unverified.email is None


def test_a_disabled_local_user_is_found_but_not_linked(db: DbCredentials) -> None:
    with transaction() as conn:
        local = store.insert_user(
            conn,
            username="jane",
            password_hash="x",
            email="jane@example.com",
            roles=["user"],
            email_verified=True,
        )
        store.update_user(conn, local.id, {"disabled": True})
        user, how = link_or_create(
            conn, identity(email="jane@example.com", email_verified=True), CTX
        )
        assert (user.id, user.disabled, how) == (local.id, True, "linked")
        assert oauth_store.identities_of(conn, local.id) == []


def test_two_first_logins_at_once_make_one_user(db: DbCredentials) -> None:
    """The second waits on the identity's lock, then finds what the first created."""
    first, second = connect(db), connect(db)
    results: dict[str, Any] = {}

    def login_second() -> None:
        second.run("START TRANSACTION")
        results["second"] = link_or_create(second, identity(), CTX)
        second.run("COMMIT")

    try:
        first.run("START TRANSACTION")
        created, _ = link_or_create(first, identity(), CTX)
        thread = threading.Thread(target=login_second)
        thread.start()
        deadline = time.monotonic() + 10
        while not first.run(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )[0][0]:
            assert time.monotonic() < deadline, "the second login never waited"
            time.sleep(0.01)
        first.run("COMMIT")
        thread.join(10)
        user, how = results["second"]
        assert (user.id, how) == (created.id, "existing")
        assert first.run("SELECT count(*) FROM users")[0][0] == 1
    finally:
        first.close()
        second.close()
