"""Brute force: per-account lockout, the per-IP limit, and answers that do not reveal users.

Each test logs in from addresses of its own (fresh_api, next_address), so the per-IP counter
only sees that test's failures.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from eventstream.auth.sessions import LOCKOUT_THRESHOLD, LOCKOUT_WINDOW_S
from tests.security.conftest import (
    IP_MAX_FAILURES,
    PASSWORD,
    Api,
    Session,
    assert_problem,
    audit_entries,
)
from tests.support import RunningCloud


def comparable(response: httpx.Response) -> dict[str, Any]:
    """What a client can compare between two answers, without what differs per request."""
    body = {k: v for k, v in response.json().items() if k not in ("request_id", "instance")}
    return {
        "status": response.status_code,
        "content-type": response.headers.get("content-type"),
        "www-authenticate": response.headers.get("www-authenticate"),
        "body": body,
    }


def retry_after(response: httpx.Response) -> int:
    value = int(response.headers["retry-after"])
    assert 0 < value <= LOCKOUT_WINDOW_S
    return value


def test_unknown_user_and_wrong_password_get_the_same_answer(
    fresh_api: Api, api: Api, admin: Session
) -> None:
    user = api.new_user(admin)
    wrong_password = fresh_api.login(user.username, "not the password at all")
    unknown_user = fresh_api.login(f"nobody-{uuid.uuid4().hex[:8]}", "not the password at all")
    assert wrong_password.status_code == 401
    assert comparable(wrong_password) == comparable(unknown_user)


def test_five_failures_lock_the_account_and_the_lockout_is_audited(
    fresh_api: Api, api: Api, admin: Session
) -> None:
    user = api.new_user(admin)
    answers = [fresh_api.login(user.username, f"wrong-{i}") for i in range(LOCKOUT_THRESHOLD)]
    assert [a.status_code for a in answers] == [401] * LOCKOUT_THRESHOLD
    assert len({str(comparable(a)) for a in answers}) == 1

    # Locked: even the right password is refused now, from anywhere.
    locked = api.login(user.username, PASSWORD)
    body = assert_problem(locked, 429)
    assert "locked" in body["detail"]
    retry_after(locked)
    assert api.login(user.username.upper(), PASSWORD).status_code == 429  # same counter

    lockouts = audit_entries(api, admin, user=user.user_id, action="lockout")
    assert len(lockouts) == 1
    assert lockouts[0]["details"] == {"username": user.username, "failures": LOCKOUT_THRESHOLD}
    assert lockouts[0]["source_ip"] == fresh_api.address
    failures = audit_entries(api, admin, user=user.user_id, action="login")
    assert sum(e["outcome"] == "failure" for e in failures) == LOCKOUT_THRESHOLD
    refused = audit_entries(api, admin, action="login_locked")
    assert any(e["details"].get("username") == user.username for e in refused)


def test_an_unknown_username_locks_the_same_way(
    fresh_api: Api, api: Api, admin: Session, cloud: RunningCloud
) -> None:
    known = api.new_user(admin)
    unknown = f"ghost-{uuid.uuid4().hex[:8]}"
    known_api = Api(cloud, fresh_api.address.replace("127.0.0.", "127.0.1."))
    try:
        known_answers = [known_api.login(known.username, "wrong") for _ in range(6)]
    finally:
        known_api.close()
    unknown_answers = [fresh_api.login(unknown, "wrong") for _ in range(6)]
    assert [a.status_code for a in unknown_answers] == [401] * 5 + [429]
    for k, u in zip(known_answers, unknown_answers, strict=True):
        assert comparable(k) == comparable(u)


def test_the_per_ip_limit_stops_an_address_not_the_user(
    fresh_api: Api, api: Api, admin: Session
) -> None:
    # Spread over names so no account reaches its own threshold: only the address adds up.
    for i in range(IP_MAX_FAILURES):
        answer = fresh_api.login(f"spray-{i}-{uuid.uuid4().hex[:6]}", "Winter2026!")
        assert answer.status_code == 401, answer.text
    user = api.new_user(admin)
    limited = fresh_api.login(user.username, PASSWORD)
    assert "address" in assert_problem(limited, 429)["detail"]
    retry_after(limited)
    # The user is not locked: the same login from another address works.
    assert api.login(user.username, PASSWORD).status_code == 200
    limited_entries = audit_entries(api, admin, action="login_rate_limited")
    assert any(e["source_ip"] == fresh_api.address for e in limited_entries)
