"""SQL injection strings in every field of every auth route: 4xx problem details, never a 500.

Where a field takes free text (an API key's name, a listing cursor, an audit filter) the string
must come back literally or match nothing, which is what a parameterized query does with it.
Afterwards the database is intact: same tables, same users, the admin still logs in.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eventstream.db.credentials import DbCredentials
from tests.security.conftest import (
    PASSWORD,
    Api,
    Session,
    assert_problem,
    next_address,
    query,
)
from tests.support import ADMIN_PASSWORD, RunningCloud

INJECTIONS = [
    "' OR '1'='1",
    "admin'--",
    "'; DROP TABLE users; --",
    "') UNION SELECT password_hash FROM users --",
    "$$; DROP TABLE users; $$",
    "admin\u0000",
    # fullwidth: a careless NFKC would fold it into the first one
    "\uff41\uff44\uff4d\uff49\uff4e' \uff2f\uff32 '1'='1",
]


def assert_refused(response: httpx.Response) -> None:
    """A 4xx RFC 9457 answer (the status depends on which check refused it)."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    if response.status_code not in (401, 403) or response.content:
        body = response.json()
        assert body["status"] == response.status_code


@pytest.fixture(scope="module")
def victim(api: Api, admin: Session) -> Session:
    return api.new_user(admin)


@pytest.fixture(scope="module", autouse=True)
def tables(db_admin: DbCredentials) -> list[str]:
    return [
        r["t"]
        for r in query(
            db_admin,
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        )
    ]


@pytest.fixture
def counts(db_admin: DbCredentials) -> Iterator[None]:
    """Users and ACL entries are the same before and after the test."""
    sql = "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM topic_acl) AS acl"
    before = query(db_admin, sql)
    yield
    assert query(db_admin, sql) == before


@pytest.mark.parametrize("payload", INJECTIONS)
def test_login_fields(cloud: RunningCloud, payload: str) -> None:
    # Each from an address of its own: the per-IP limit is not what this test is about.
    client = Api(cloud, next_address())
    try:
        for body in (
            {"username": payload, "password": PASSWORD},
            {"username": f"inj-{uuid.uuid4().hex[:8]}", "password": payload},
            {"username": payload, "password": payload},
        ):
            response = client.request("POST", "/auth/login", json=body)
            assert_refused(response)
            assert response.status_code in (401, 422), response.text
    finally:
        client.close()


@pytest.mark.parametrize("payload", INJECTIONS)
def test_user_fields(api: Api, admin: Session, victim: Session, counts: None, payload: str) -> None:
    fresh = f"inj-{uuid.uuid4().hex[:8]}"
    bodies: list[dict[str, Any]] = [
        {"username": payload, "password": PASSWORD},
        {"username": fresh, "password": PASSWORD, "email": payload},
        {"username": fresh, "password": PASSWORD, "roles": [payload]},
        {"username": fresh, "password": PASSWORD, payload: "x"},
    ]
    for body in bodies:
        assert_refused(api.request("POST", "/auth/users", json=body, headers=admin.headers))
    for body in ({"email": payload}, {"roles": [payload]}, {"disabled": payload}):
        response = api.request(
            "PATCH", f"/auth/users/{victim.user_id}", json=body, headers=admin.headers
        )
        assert_refused(response)
    # A user's own password change with an injected current password.
    response = api.request(
        "PATCH",
        f"/auth/users/{victim.user_id}",
        json={"password": "another long passphrase 7", "current_password": payload},
        headers=victim.headers,
    )
    assert_problem(response, 422 if "\u0000" in payload else 403)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_path_ids(api: Api, admin: Session, counts: None, payload: str) -> None:
    segment = urllib.parse.quote(payload, safe="")
    for method, template in [
        ("GET", "/auth/users/{}"),
        ("PATCH", "/auth/users/{}"),
        ("DELETE", "/auth/users/{}"),
        ("GET", "/auth/users/{}/permissions"),
        ("DELETE", "/auth/acl/{}"),
        ("DELETE", "/auth/api-keys/{}"),
    ]:
        body = {"email": "a@example.com"} if method == "PATCH" else None
        response = api.request(method, template.format(segment), json=body, headers=admin.headers)
        assert_refused(response)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_acl_grant_fields(
    api: Api, admin: Session, victim: Session, counts: None, payload: str
) -> None:
    good = {"user_id": victim.user_id, "topic_pattern": "sensor/*", "permission": "publish"}
    for name in good:
        body = {**good, name: payload}
        response = api.request("POST", "/auth/acl/grant", json=body, headers=admin.headers)
        assert_problem(response, 422)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_token_fields(api: Api, admin: Session, payload: str) -> None:
    assert_problem(api.refresh(payload), 401 if "\u0000" not in payload else 422)
    assert api.validate(payload) == {"valid": False, "reason": "malformed"}
    response = api.request(
        "POST", "/auth/logout", json={"refresh_token": payload}, headers=admin.headers
    )
    assert_refused(response)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_free_text_is_taken_literally(api: Api, admin: Session, payload: str) -> None:
    # An API key's name: stored and returned as given, NUL refused.
    created = api.request("POST", "/auth/api-keys", json={"name": payload}, headers=admin.headers)
    if "\u0000" in payload:
        assert_problem(created, 422)
    else:
        assert created.status_code == 201, created.text
        assert created.json()["name"] == payload
        revoked = api.request(
            "DELETE", f"/auth/api-keys/{created.json()['id']}", headers=admin.headers
        )
        assert revoked.status_code == 204
    # Listing and audit filters: a payload matches nothing (or is refused), never everything.
    listed = api.request(
        "GET", "/auth/users", params={"cursor": payload, "limit": "100"}, headers=admin.headers
    )
    audit = api.request("GET", "/auth/audit", params={"user": payload}, headers=admin.headers)
    if "\u0000" in payload:  # Postgres text cannot hold NUL: refused before any query
        assert_problem(listed, 400)
        assert_problem(audit, 400)
    else:
        assert listed.status_code == 200, listed.text
        names = [u["username"] for u in listed.json()["items"]]
        assert names == sorted(n for n in names if n > payload)
        assert audit.status_code == 200, audit.text
        assert audit.json()["items"] == []
    refused = 400 if "\u0000" in payload else 422
    for name in ("action", "from", "to", "cursor", "limit"):
        response = api.request("GET", "/auth/audit", params={name: payload}, headers=admin.headers)
        assert_problem(response, refused)
    response = api.request("GET", "/auth/users", params={"limit": payload}, headers=admin.headers)
    assert_problem(response, refused)


def test_an_audit_cursor_is_only_one_the_api_made(api: Api, admin: Session) -> None:
    page = api.request("GET", "/auth/audit", params={"limit": "1"}, headers=admin.headers)
    cursor = page.json()["next_cursor"]
    assert (
        api.request(
            "GET", "/auth/audit", params={"cursor": cursor}, headers=admin.headers
        ).status_code
        == 200
    )
    # 21 digits: past BIGINT; and the valid cursor with junk the decoder would skip.
    for forged in ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5", f"{cursor}!", f"'{cursor}'"):
        response = api.request(
            "GET", "/auth/audit", params={"cursor": forged}, headers=admin.headers
        )
        assert_problem(response, 422)


def test_the_database_is_intact(
    api: Api, db_admin: DbCredentials, tables: list[str], victim: Session
) -> None:
    assert "users" in tables
    assert "audit_log" in tables
    now = [
        r["t"]
        for r in query(
            db_admin,
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        )
    ]
    assert now == tables
    assert api.login("admin", ADMIN_PASSWORD).status_code == 200
    assert api.login(victim.username, PASSWORD).status_code == 200
    roles = query(db_admin, "SELECT roles FROM users WHERE username = :u", u=victim.username)
    assert roles == [{"roles": ["user"]}]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ("[" * 100_000, 400),  # deeper than the JSON parser's recursion limit
        ('{"username": "a", "password": "b"' + ', "x": 1' * 10 + "", 400),  # truncated
        ('["admin", "password"]', 422),
        ('{"username": {"$ne": null}, "password": {"$ne": null}}', 422),  # NoSQL-style operators
        ('{"username": ["admin"], "password": true}', 422),
        ("", 400),
    ],
)
def test_hostile_bodies(cloud: RunningCloud, content: str, status: int) -> None:
    client = Api(cloud, next_address())
    try:
        response = client.request(
            "POST", "/auth/login", content=content, headers={"Content-Type": "application/json"}
        )
    finally:
        client.close()
    assert_problem(response, status)


# JSON may carry a lone surrogate (legal there, not in UTF-8): it must not reach a query.
SURROGATE_BODIES = [
    ("POST", "/auth/login", '{"username": "adm\\ud800in", "password": "x"}'),
    ("POST", "/auth/login", '{"username": "admin", "password": "\\udfff"}'),
    ("POST", "/auth/token/refresh", '{"refresh_token": "esr_\\ud800"}'),
    ("POST", "/auth/token/validate", '{"token": "eyJ\\ud800.e.e"}'),
    ("POST", "/auth/logout", '{"refresh_token": "\\ud83d"}'),
    ("POST", "/auth/api-keys", '{"name": "key \\ud800"}'),
    (
        "POST",
        "/auth/users",
        '{"username": "sur", "password": "long enough pass", "email": "a\\ud800@b.co"}',
    ),
    (
        "POST",
        "/auth/acl/grant",
        '{"user_id": "\\ud800", "topic_pattern": "a", "permission": "publish"}',
    ),
]


@pytest.mark.parametrize(("method", "path", "content"), SURROGATE_BODIES)
def test_lone_surrogates_are_refused(
    cloud: RunningCloud, admin: Session, method: str, path: str, content: str
) -> None:
    client = Api(cloud, next_address())
    try:
        response = client.request(
            method,
            path,
            content=content,
            headers={**admin.headers, "Content-Type": "application/json"},
        )
    finally:
        client.close()
    if path == "/auth/token/validate":  # its answer to any bad token
        assert response.json() == {"valid": False, "reason": "malformed"}
    else:
        assert_refused(response)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC
        {"to": "9999-12-31T23:59:59-14:00"},  # after year 9999 in UTC
        {"from": "2026-02-30T00:00:00Z"},
    ],
)
def test_audit_times_out_of_range_are_422(api: Api, admin: Session, params: dict[str, str]) -> None:
    assert_problem(api.request("GET", "/auth/audit", params=params, headers=admin.headers), 422)


@pytest.mark.parametrize("acl_id", ["2147483648", "999999999999", "99999999999999999999"])
def test_acl_ids_past_the_column_are_404(api: Api, admin: Session, acl_id: str) -> None:
    assert_problem(api.request("DELETE", f"/auth/acl/{acl_id}", headers=admin.headers), 404)
