"""Every auth route through the local cloud: gateway, authorizer, function, Postgres, moto."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.openapi_check import conforms
from tests.support import ADMIN_PASSWORD


def _login(api: httpx.Client, username: str, password: str) -> dict:
    r = api.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(api: httpx.Client) -> dict[str, str]:
    return _auth(_login(api, "admin", ADMIN_PASSWORD)["access_token"])


@pytest.fixture
def user(api: httpx.Client, admin: dict[str, str]) -> dict:
    name = f"u{uuid.uuid4().hex[:10]}"
    password = f"{name}-a-long-passphrase"
    r = api.post(
        "/auth/users",
        headers=admin,
        json={"username": name, "password": password, "email": f"{name}@example.com"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    tokens = _login(api, name, password)
    return {**body, "password": password, "headers": _auth(tokens["access_token"]), **tokens}


def test_login_answers_a_bearer_pair(api: httpx.Client) -> None:
    body = _login(api, "admin", ADMIN_PASSWORD)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("esr_")
    assert body["access_token"].count(".") == 2


def test_validate_says_whose_token_it_is(api: httpx.Client, user: dict) -> None:
    by_body = api.post("/auth/token/validate", json={"token": user["access_token"]}).json()
    by_header = api.post("/auth/token/validate", headers=user["headers"]).json()
    assert by_body == by_header
    assert by_body["valid"] is True
    assert by_body["sub"] == user["id"]
    assert by_body["roles"] == ["user"]
    invalid = api.post("/auth/token/validate", json={"token": "not-a-token"})
    assert invalid.status_code == 200
    assert invalid.json() == {"valid": False, "reason": "malformed"}


def test_refresh_rotates_and_logout_revokes(api: httpx.Client, user: dict) -> None:
    first = api.post("/auth/token/refresh", json={"refresh_token": user["refresh_token"]})
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != user["refresh_token"]
    out = api.post(
        "/auth/logout", headers=user["headers"], json={"refresh_token": pair["refresh_token"]}
    )
    assert out.status_code == 200, out.text
    assert out.json()["revoked_tokens"] >= 1
    again = api.post("/auth/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401
    assert again.headers["content-type"] == "application/problem+json"


def test_users_crud(api: httpx.Client, admin: dict[str, str], user: dict) -> None:
    uid = user["id"]
    assert api.get(f"/auth/users/{uid}", headers=admin).json()["username"] == user["username"]
    assert api.get(f"/auth/users/{uid}", headers=user["headers"]).status_code == 200
    changed = api.patch(f"/auth/users/{uid}", headers=user["headers"], json={"email": "n@ex.org"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "n@ex.org"
    new_password = "another-long-passphrase-2"
    pw = api.patch(
        f"/auth/users/{uid}",
        headers=user["headers"],
        json={"password": new_password, "current_password": user["password"]},
    )
    assert pw.status_code == 200, pw.text
    _login(api, user["username"], new_password)
    # a password change ends the sessions it had
    old = api.post("/auth/token/refresh", json={"refresh_token": user["refresh_token"]})
    assert old.status_code == 401
    assert api.delete(f"/auth/users/{uid}", headers=admin).status_code == 204
    assert api.get(f"/auth/users/{uid}", headers=admin).status_code == 404


def test_users_list_is_paginated(api: httpx.Client, admin: dict[str, str], user: dict) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.get("/auth/users", headers=admin, params=params).json()
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert {"admin", user["username"]} <= set(seen)
    assert api.get("/auth/users", headers=admin, params={"limit": "0"}).status_code == 422


def test_acl_grant_permissions_revoke(api: httpx.Client, admin: dict[str, str], user: dict) -> None:
    grant = {"user_id": user["id"], "topic_pattern": "sensor/*", "permission": "publish"}
    first = api.post("/auth/acl/grant", headers=admin, json=grant)
    assert first.status_code == 201, first.text
    again = api.post("/auth/acl/grant", headers=admin, json=grant)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    perms = api.get(f"/auth/users/{user['id']}/permissions", headers=user["headers"]).json()
    assert perms["acl"] == [first.json()]
    bad = api.post("/auth/acl/grant", headers=admin, json={**grant, "topic_pattern": "a//b"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "topic_pattern"
    assert api.delete(f"/auth/acl/{first.json()['id']}", headers=admin).status_code == 204
    assert api.delete(f"/auth/acl/{first.json()['id']}", headers=admin).status_code == 404
    perms = api.get(f"/auth/users/{user['id']}/permissions", headers=admin).json()
    assert perms["acl"] == []


def test_api_keys_are_shown_once(api: httpx.Client, admin: dict[str, str]) -> None:
    created = api.post("/auth/api-keys", headers=admin, json={"name": "dash"})
    assert created.status_code == 201, created.text
    key = created.json()
    conforms(key, "NewApiKey")
    assert key["key"].startswith(key["prefix"] + "_")
    listed = api.get("/auth/api-keys", headers=admin).json()["items"]
    mine = [k for k in listed if k["id"] == key["id"]]
    assert len(mine) == 1
    assert "key" not in mine[0]
    assert "key_hash" not in mine[0]
    assert api.delete(f"/auth/api-keys/{key['id']}", headers=admin).status_code == 204
    listed = api.get("/auth/api-keys", headers=admin).json()["items"]
    assert key["id"] not in {k["id"] for k in listed}


def test_audit_filters(api: httpx.Client, admin: dict[str, str], user: dict) -> None:
    r = api.get("/auth/audit", headers=admin, params={"user": user["id"], "action": "login"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    assert all(i["action"] == "login" for i in items)
    assert all(user["id"] in (i["actor_id"], i["target_id"]) for i in items)
    future = api.get("/auth/audit", headers=admin, params={"from": "2999-01-01T00:00:00Z"})
    assert future.json()["items"] == []
    assert api.get("/auth/audit", headers=admin, params={"action": "nope"}).status_code == 422


def test_jwks_is_public_and_has_the_signing_key(api: httpx.Client, user: dict) -> None:
    import jwt

    jwks = api.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(user["access_token"])["kid"]
    assert kid in {k["kid"] for k in jwks["keys"]}
    assert all(set(k) == {"kty", "n", "e", "kid", "alg", "use"} for k in jwks["keys"])


def test_protected_routes_need_a_token(api: httpx.Client) -> None:
    assert api.get("/auth/users").status_code == 401
    assert api.get("/auth/users", headers=_auth("a.b.c")).status_code == 401
