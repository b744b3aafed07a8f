"""Topics, subscriptions and their delivery through the local cloud: a pull reader and a signed
webhook receiver, end to end (gateway, authorizer, functions, core, Postgres, delivery loop)."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.openapi_check import conforms
from tests.support import ADMIN_PASSWORD


@pytest.fixture(scope="module")
def admin(cloud) -> dict[str, str]:
    with httpx.Client(base_url=cloud.api_url, timeout=60.0) as api:
        r = api.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def topic() -> str:
    return f"e2e/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue]]:
    """A webhook receiver on 127.0.0.1 that records each request's headers and body."""
    got: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def _publish(api: httpx.Client, headers: dict[str, str], topic: str, payload: object) -> str:
    r = api.post("/v1/events", headers=headers, json={"topic": topic, "payload": payload})
    assert r.status_code == 201, r.text
    return r.json()["event_id"]


def test_pull_reads_in_order_from_the_subscription_cursor(
    api: httpx.Client, admin: dict[str, str], topic: str
) -> None:
    encoded = topic.replace("/", "%2F")
    before = _publish(api, admin, topic, "before")
    sub = api.post(f"/v1/topics/{encoded}/subscribe", headers=admin, json={"mode": "pull"})
    assert sub.status_code == 201, sub.text
    conforms(sub.json(), "NewSubscription")
    ids = [_publish(api, admin, topic, i) for i in range(5)]
    seen: list[str] = []
    cursor = sub.json()["cursor"]
    for _ in range(10):
        page = api.get(
            f"/v1/topics/{encoded}/events", headers=admin, params={"after": cursor, "limit": 2}
        )
        assert page.status_code == 200, page.text
        conforms(page.json(), "PulledEvents")
        seen += [e["event_id"] for e in page.json()["events"]]
        cursor = page.json()["next_cursor"]
        if not page.json()["has_more"] and len(seen) >= len(ids):
            break
    assert seen == ids  # in order, none twice, and not the one from before the subscription
    assert before not in seen


def test_topics_lists_counts(api: httpx.Client, admin: dict[str, str], topic: str) -> None:
    for i in range(3):
        _publish(api, admin, topic, i)
    items: list[dict] = []
    cursor = None
    for _ in range(50):
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/topics", headers=admin, params=params)
        assert page.status_code == 200, page.text
        conforms(page.json(), "TopicPage")
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    mine = [t for t in items if t["topic"] == topic]
    assert len(mine) == 1
    assert mine[0]["event_count"] == 3


def test_a_webhook_gets_each_event_signed_once(
    api: httpx.Client, admin: dict[str, str], topic: str, receiver: tuple[str, queue.Queue]
) -> None:
    url, got = receiver
    encoded = topic.replace("/", "%2F")
    sub = api.post(f"/v1/topics/{encoded}/subscribe", headers=admin, json={"webhook_url": url})
    assert sub.status_code == 201, sub.text
    secret = sub.json()["signing_secret"]
    listed = api.get("/v1/subscriptions", headers=admin, params={"limit": "100"}).json()
    assert "signing_secret" not in json.dumps(listed)  # shown once, never again
    ids = [_publish(api, admin, topic, {"n": i}) for i in range(3)]
    delivered = []
    deadline = time.monotonic() + 30
    while len(delivered) < len(ids) and time.monotonic() < deadline:
        try:
            headers, body = got.get(timeout=1)
        except queue.Empty:
            continue
        # The official Standard Webhooks library verifies what the core signed.
        message = Webhook(secret).verify(body, headers)
        delivered.append(message["data"]["event_id"])
    assert delivered == ids
    assert api.delete(f"/v1/subscriptions/{sub.json()['id']}", headers=admin).status_code == 204
    _publish(api, admin, topic, "after delete")
    with pytest.raises(queue.Empty):
        got.get(timeout=3)


def test_subscribing_needs_the_acl(api: httpx.Client, admin: dict[str, str]) -> None:
    name = f"s{uuid.uuid4().hex[:10]}"
    password = f"{name}-long-passphrase"
    assert (
        api.post(
            "/auth/users", headers=admin, json={"username": name, "password": password}
        ).status_code
        == 201
    )
    token = api.post("/auth/login", json={"username": name, "password": password}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    r = api.post("/v1/topics/secret%2Fx/subscribe", headers=headers, json={"mode": "pull"})
    assert r.status_code == 403
    assert api.get("/v1/topics/secret%2Fx/events", headers=headers).status_code == 403
    assert api.get("/v1/topics", headers=headers).json()["items"] == []
