"""The /v1 event routes through the local cloud: authorizer, ACL, rate limit, the core, Postgres."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.openapi_check import conforms
from tests.support import ADMIN_PASSWORD


def _token(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = api.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def admin(cloud) -> dict[str, str]:
    with httpx.Client(base_url=cloud.api_url, timeout=60.0) as api:
        return _token(api, "admin", ADMIN_PASSWORD)


@pytest.fixture
def publisher(api: httpx.Client, admin: dict[str, str]) -> dict:
    name = f"p{uuid.uuid4().hex[:10]}"
    password = f"{name}-long-passphrase"
    user = api.post("/auth/users", headers=admin, json={"username": name, "password": password})
    assert user.status_code == 201, user.text
    uid = user.json()["id"]
    for permission, pattern in (("publish", "sensor/*"), ("subscribe", "sensor/#")):
        grant = {"user_id": uid, "topic_pattern": pattern, "permission": permission}
        assert api.post("/auth/acl/grant", headers=admin, json=grant).status_code == 201
    return {"id": uid, "headers": _token(api, name, password)}


def test_publish_then_read_back(api: httpx.Client, publisher: dict) -> None:
    body = {"topic": "sensor/temp", "payload": {"celsius": 21.5, "tags": ["a"]}, "priority": 7}
    r = api.post("/v1/events", headers=publisher["headers"], json=body)
    assert r.status_code == 201, r.text
    conforms(r.json(), "Accepted")
    assert r.headers["Location"] == f"/v1/events/{r.json()['event_id']}"
    assert int(r.headers["RateLimit-Remaining"]) < int(r.headers["RateLimit-Limit"])
    got = api.get(r.headers["Location"], headers=publisher["headers"])
    assert got.status_code == 200, got.text
    conforms(got.json(), "Event")
    assert got.json()["payload"] == body["payload"]
    assert got.json()["priority"] == 7
    assert got.json()["topic"] == "sensor/temp"


def test_publish_needs_the_acl(api: httpx.Client, publisher: dict) -> None:
    r = api.post("/v1/events", headers=publisher["headers"], json={"topic": "other", "payload": 1})
    assert r.status_code == 403
    conforms(r.json(), "Problem")
    # sensor/a/b is under subscribe's sensor/# but not publish's sensor/*
    deep = {"topic": "sensor/a/b", "payload": 1}
    assert api.post("/v1/events", headers=publisher["headers"], json=deep).status_code == 403


def test_reading_needs_subscribe_and_looks_like_not_found(
    api: httpx.Client, admin: dict[str, str], publisher: dict
) -> None:
    secret = api.post("/v1/events", headers=admin, json={"topic": "private/x", "payload": 1})
    assert secret.status_code == 201
    hidden = api.get(f"/v1/events/{secret.json()['event_id']}", headers=publisher["headers"])
    missing = api.get("/v1/events/evt_01M87HCAZD72TXDKH8QY630G1S", headers=publisher["headers"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]


def test_idempotency_key_returns_the_first_event(api: httpx.Client, publisher: dict) -> None:
    headers = {**publisher["headers"], "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = api.post("/v1/events", headers=headers, json={"topic": "sensor/a", "payload": 1})
    again = api.post("/v1/events", headers=headers, json={"topic": "sensor/a", "payload": 2})
    assert first.status_code == again.status_code == 201
    assert first.json()["event_id"] == again.json()["event_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    stored = api.get(f"/v1/events/{first.json()['event_id']}", headers=publisher["headers"])
    assert stored.json()["payload"] == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"topic": "Sensor/a", "payload": 1}, 422, "topic"),
        ({"topic": "sensor/a", "payload": 1, "priority": 10}, 422, "priority"),
        ({"topic": "sensor/a", "payload": 1, "priority": True}, 422, "priority"),
        ({"topic": "sensor/a"}, 422, "payload"),
        ({"topic": "sensor/a", "payload": "x" * (256 * 1024)}, 413, None),
    ],
)
def test_bad_bodies(
    api: httpx.Client, publisher: dict, body: dict, status: int, field: str | None
) -> None:
    r = api.post("/v1/events", headers=publisher["headers"], json=body)
    assert r.status_code == status, r.text
    conforms(r.json(), "Problem")
    if field:
        assert [e["field"] for e in r.json()["errors"]] == [field]


def test_the_rate_limit_answers_429_with_headers(
    api: httpx.Client, admin: dict[str, str], publisher: dict
) -> None:
    limited = api.patch(
        f"/auth/users/{publisher['id']}", headers=admin, json={"rate_limit_per_minute": 3}
    )
    assert limited.status_code == 200, limited.text
    answers = [
        api.post(
            "/v1/events", headers=publisher["headers"], json={"topic": "sensor/r", "payload": i}
        )
        for i in range(4)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20


def test_stats_take_an_api_key_only(api: httpx.Client, admin: dict[str, str]) -> None:
    key = api.post("/auth/api-keys", headers=admin, json={"name": "stats"}).json()["key"]
    r = api.get("/v1/stats/realtime", headers={"X-Api-Key": key})
    assert r.status_code == 200, r.text
    conforms(r.json(), "Stats")
    assert r.json()["summary"]["nodes_up"] == r.json()["summary"]["nodes_total"] >= 1
    assert api.get("/v1/stats/realtime", headers=admin).status_code == 401
    assert api.get("/v1/stats/realtime", headers={"X-Api-Key": key + "x"}).status_code in (401, 403)
    # a key opens the stats, nothing else
    assert api.get("/auth/users", headers={"X-Api-Key": key}).status_code == 401


def test_health_reports_each_core_node(api: httpx.Client) -> None:
    r = api.get("/v1/health")
    assert r.status_code == 200
    conforms(r.json(), "Health")
    assert r.json()["checks"]["core.0"] == "ok"


def test_the_openapi_document_is_served(api: httpx.Client) -> None:
    r = api.get("/v1/openapi.json")
    assert r.status_code == 200
    assert r.json()["openapi"] == "3.1.0"
    assert "/v1/events" in r.json()["paths"]
