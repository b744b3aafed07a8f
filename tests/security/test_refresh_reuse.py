"""Refresh tokens: single use, rotation families, reuse detection; disabled and deleted users."""

from __future__ import annotations

from eventstream.db.credentials import DbCredentials
from tests.security.conftest import (
    PASSWORD,
    Api,
    Session,
    assert_problem,
    audit_entries,
    query,
)


def test_rotation_then_reuse_revokes_the_whole_family_and_is_audited(
    api: Api, admin: Session, db_admin: DbCredentials
) -> None:
    user = api.new_user(admin)
    first = user.refresh_token
    second = api.refresh(first)
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    r2 = second.json()["refresh_token"]
    assert r2 != first
    third = api.refresh(r2)
    assert third.status_code == 200, third.text
    r3 = third.json()["refresh_token"]

    # The spent first token comes back: someone holds a copy.
    reused = api.refresh(first)
    assert "already used" in assert_problem(reused, 401)["detail"]
    # The newest token of the family, never used, dies with it.
    assert_problem(api.refresh(r3), 401)
    # And a second login (another family) is untouched.
    other = api.session(user.username)
    assert api.refresh(other.refresh_token).status_code == 200

    rows = query(
        db_admin,
        "SELECT count(*) AS n, count(revoked_at) AS revoked FROM refresh_tokens"
        " WHERE family_id = (SELECT family_id FROM refresh_tokens t JOIN users u"
        " ON u.id = t.user_id WHERE u.username = :name ORDER BY issued_at LIMIT 1)",
        name=user.username,
    )
    assert rows == [{"n": 3, "revoked": 3}]

    reuse = audit_entries(api, admin, user=user.user_id, action="refresh_reuse_detected")
    assert len(reuse) == 1
    assert reuse[0]["outcome"] == "failure"
    assert reuse[0]["details"]["revoked"] >= 1
    assert reuse[0]["source_ip"] == api.address


def test_a_refresh_token_works_once(api: Api, admin: Session) -> None:
    user = api.new_user(admin)
    assert api.refresh(user.refresh_token).status_code == 200
    assert_problem(api.refresh(user.refresh_token), 401)


def test_garbage_and_access_tokens_are_not_refresh_tokens(api: Api, admin: Session) -> None:
    user = api.new_user(admin)
    assert_problem(api.refresh("esr_" + "A" * 43), 401)
    assert_problem(api.refresh(user.access_token), 422)  # longer than any refresh token
    assert_problem(api.refresh(""), 422)


def test_logout_revokes_the_family(api: Api, admin: Session) -> None:
    user = api.new_user(admin)
    response = api.request(
        "POST", "/auth/logout", json={"refresh_token": user.refresh_token}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["revoked_tokens"] == 1
    assert_problem(api.refresh(user.refresh_token), 401)


def test_logout_cannot_revoke_someone_elses_family(api: Api, admin: Session) -> None:
    victim = api.new_user(admin)
    attacker = api.new_user(admin)
    response = api.request(
        "POST",
        "/auth/logout",
        json={"refresh_token": victim.refresh_token},
        headers=attacker.headers,
    )
    assert_problem(response, 401)
    assert api.refresh(victim.refresh_token).status_code == 200


def test_a_disabled_user_cannot_refresh_or_log_in_but_the_access_token_lives_on(
    api: Api, admin: Session
) -> None:
    """Documented behaviour: access tokens are verified without a database lookup, so one
    issued before the account was disabled keeps working until it expires (15 minutes, and
    the gateway caches the decision for up to 60 s). Refresh and login stop at once."""
    user = api.new_user(admin)
    disabled = api.request(
        "PATCH", f"/auth/users/{user.user_id}", json={"disabled": True}, headers=admin.headers
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True

    assert_problem(api.refresh(user.refresh_token), 401)
    refused = api.login(user.username, PASSWORD)
    assert assert_problem(refused, 401)["detail"] == "invalid username or password"

    still = api.request("GET", f"/auth/users/{user.user_id}", headers=user.headers)
    assert still.status_code == 200, still.text
    assert still.json()["disabled"] is True
    assert api.validate(user.access_token)["valid"] is True


def test_a_deleted_user_cannot_refresh_or_log_in(api: Api, admin: Session) -> None:
    """The access token still verifies until it expires (no lookup), but finds nothing: 404."""
    user = api.new_user(admin)
    deleted = api.request("DELETE", f"/auth/users/{user.user_id}", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text

    assert_problem(api.refresh(user.refresh_token), 401)
    assert_problem(api.login(user.username, PASSWORD), 401)
    gone = api.request("GET", f"/auth/users/{user.user_id}", headers=user.headers)
    assert_problem(gone, 404)
