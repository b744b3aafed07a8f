"""Who may do what: admin routes refuse users, users cannot reach each other, self-service limits.

Every refusal has a control: the same request by someone allowed gets past the check, so a 403
here is the check's answer and not a broken request.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.security.conftest import ISSUED_SECRETS, PASSWORD, Api, Session, assert_problem

NEW_PASSWORD = "a different long passphrase 42"
ISSUED_SECRETS.add(NEW_PASSWORD)


@pytest.fixture(scope="module")
def alice(api: Api, admin: Session) -> Session:
    return api.new_user(admin)


@pytest.fixture(scope="module")
def bob(api: Api, admin: Session) -> Session:
    return api.new_user(admin)


@pytest.fixture(scope="module")
def acl_id(api: Api, admin: Session, bob: Session) -> int:
    response = api.request(
        "POST",
        "/auth/acl/grant",
        json={"user_id": bob.user_id, "topic_pattern": "sensor/*", "permission": "subscribe"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def admin_routes(bob: Session, acl_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, JSON body) of every admin-only operation, aimed at real objects."""
    return [
        ("POST", "/auth/users", {"username": f"x-{uuid.uuid4().hex[:8]}", "password": PASSWORD}),
        ("GET", "/auth/users", None),
        ("PATCH", f"/auth/users/{bob.user_id}", {"roles": ["user", "admin"]}),
        ("PATCH", f"/auth/users/{bob.user_id}", {"disabled": True}),
        ("DELETE", f"/auth/users/{bob.user_id}", None),
        (
            "POST",
            "/auth/acl/grant",
            {"user_id": bob.user_id, "topic_pattern": "#", "permission": "publish"},
        ),
        ("DELETE", f"/auth/acl/{acl_id}", None),
        ("POST", "/auth/api-keys", {"name": "stolen"}),
        ("GET", "/auth/api-keys", None),
        ("DELETE", f"/auth/api-keys/{uuid.uuid4()}", None),
        ("GET", "/auth/audit", None),
    ]


def test_a_user_gets_403_on_every_admin_route(
    api: Api, alice: Session, bob: Session, acl_id: int
) -> None:
    for method, path, body in admin_routes(bob, acl_id):
        response = api.request(method, path, json=body, headers=alice.headers)
        assert_problem(response, 403)
    # Nothing happened: bob is still a plain, enabled user with his one entry.
    permissions = api.request("GET", f"/auth/users/{bob.user_id}/permissions", headers=bob.headers)
    assert permissions.status_code == 200, permissions.text
    assert permissions.json()["roles"] == ["user"]
    assert [e["id"] for e in permissions.json()["acl"]] == [acl_id]


def test_the_admin_gets_past_the_same_checks(
    api: Api, admin: Session, bob: Session, acl_id: int
) -> None:
    # Read-only ones only, so bob survives for the other tests; each answers other than 403.
    for method, path in [("GET", "/auth/users"), ("GET", "/auth/api-keys"), ("GET", "/auth/audit")]:
        assert api.request(method, path, headers=admin.headers).status_code == 200
    other = api.request("GET", f"/auth/users/{bob.user_id}/permissions", headers=admin.headers)
    assert other.status_code == 200


def test_no_token_is_401_on_every_protected_route(api: Api, bob: Session, acl_id: int) -> None:
    for method, path, body in admin_routes(bob, acl_id):
        assert api.request(method, path, json=body).status_code == 401
    for path in (f"/auth/users/{bob.user_id}", f"/auth/users/{bob.user_id}/permissions"):
        assert api.request("GET", path).status_code == 401
    assert api.request("POST", "/auth/logout", json={}).status_code == 401


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "/permissions", None),
        ("GET", "", None),
        ("PATCH", "", {"email": "taken@example.com"}),
        ("PATCH", "", {"password": NEW_PASSWORD, "current_password": PASSWORD}),
    ],
)
def test_a_user_cannot_read_or_change_another_user(
    api: Api,
    alice: Session,
    bob: Session,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    response = api.request(
        method, f"/auth/users/{bob.user_id}{suffix}", json=body, headers=alice.headers
    )
    assert_problem(response, 403)
    # Control: the same on herself is allowed (the password change is left out: it would stick).
    if body is None or "email" in body:
        own = api.request(
            method, f"/auth/users/{alice.user_id}{suffix}", json=body, headers=alice.headers
        )
        assert own.status_code == 200, own.text


def test_a_user_cannot_make_themself_admin_or_enable_themself(api: Api, alice: Session) -> None:
    for body in ({"roles": ["user", "admin"]}, {"disabled": False}):
        response = api.request(
            "PATCH", f"/auth/users/{alice.user_id}", json=body, headers=alice.headers
        )
        assert_problem(response, 403)
    check = api.validate(alice.access_token)
    assert check["roles"] == ["user"]


def test_changing_the_own_password_needs_the_current_one(api: Api, admin: Session) -> None:
    carol = api.new_user(admin)
    path = f"/auth/users/{carol.user_id}"
    missing = api.request("PATCH", path, json={"password": NEW_PASSWORD}, headers=carol.headers)
    assert_problem(missing, 403)
    wrong = api.request(
        "PATCH",
        path,
        json={"password": NEW_PASSWORD, "current_password": "not my password"},
        headers=carol.headers,
    )
    assert_problem(wrong, 403)
    assert api.login(carol.username, NEW_PASSWORD).status_code == 401  # nothing changed

    right = api.request(
        "PATCH",
        path,
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=carol.headers,
    )
    assert right.status_code == 200, right.text
    assert api.login(carol.username, NEW_PASSWORD).status_code == 200
    assert api.login(carol.username, PASSWORD).status_code == 401
    # A new password ends the sessions the old one started.
    assert_problem(api.refresh(carol.refresh_token), 401)


def test_an_api_key_is_not_a_bearer_token(api: Api, admin: Session, bob: Session) -> None:
    created = api.request("POST", "/auth/api-keys", json={"name": "probe"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-Api-Key": key}):
        response = api.request("GET", f"/auth/users/{bob.user_id}", headers=headers)
        assert response.status_code == 401, response.text


def test_a_demoted_or_disabled_admins_token_loses_admin_routes_at_once(
    api: Api, admin: Session
) -> None:
    """Access tokens live 15 minutes; admin routes re-read the account instead of trusting one."""
    for change in ({"roles": ["user"]}, {"disabled": True}):
        other = api.new_user(admin, roles=["admin", "user"])
        assert api.request("GET", "/auth/users", headers=other.headers).status_code == 200
        changed = api.request(
            "PATCH", f"/auth/users/{other.user_id}", json=change, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
        refused = api.request("GET", "/auth/users", headers=other.headers)
        assert refused.status_code == 403, refused.text
