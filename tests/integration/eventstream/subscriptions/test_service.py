"""Subscriptions on a real Postgres: create (secret once), list, delete, and who may do what."""

from __future__ import annotations

import pytest
from pg8000.native import Connection

from eventstream.api import Caller, Problem
from eventstream.subscriptions import service
from eventstream.webhooks.ssrf import ALLOW_PRIVATE_ENV
from tests.integration.eventstream.subscriptions.conftest import new_user, publish

URL = "https://hooks.example.com/in"


def test_a_webhook_subscription_shows_its_secret_once(conn: Connection) -> None:
    owner = new_user(conn, ("orders/#", "subscribe"))
    sub = service.create(owner, "orders/#", {"webhook_url": URL})
    assert sub["mode"] == "webhook"
    assert sub["topic_pattern"] == "orders/#"
    assert sub["user_id"] == owner.sub
    assert sub["signing_secret"].startswith("whsec_")
    listed = service.list_subscriptions(owner, cursor=None, limit=10)
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    assert "signing_secret" not in listed["items"][0]
    assert sub["signing_secret"] not in repr(listed)
    # Stored in clear for the core to sign with (the migration says why).
    stored = conn.run(
        "SELECT signing_secret FROM subscriptions WHERE id = CAST(:i AS uuid)", i=sub["id"]
    )
    assert stored == [[sub["signing_secret"]]]


def test_subscribing_needs_subscribe_on_every_matching_topic(conn: Connection) -> None:
    user = new_user(conn, ("orders/eu", "subscribe"), ("orders/#", "publish"))
    assert service.create(user, "orders/eu", {"mode": "pull"})["mode"] == "pull"
    for name in ("orders/us", "orders/*", "#"):
        with pytest.raises(Problem) as refused:
            service.create(user, name, {"mode": "pull"})
        assert refused.value.status == 403
    key = Caller(sub="apikey:123", roles=("service",))
    with pytest.raises(Problem) as by_key:
        service.create(key, "orders/eu", {"mode": "pull"})
    assert by_key.value.status == 403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"mode": "push"},
        {"mode": "pull", "webhook_url": URL},
        {"mode": "webhook"},
        {"webhook_url": None},
        {"webhook_url": 5},
        {"webhook_url": "ftp://example.com/"},
        {"webhook_url": "http://127.0.0.1:8080/"},
        {"webhook_url": "http://169.254.169.254/latest/meta-data/"},
        {"webhook_url": URL, "extra": 1},
    ],
)
def test_bad_bodies_are_a_422(conn: Connection, body: dict) -> None:
    user = new_user(conn, ("a/#", "subscribe"))
    with pytest.raises(Problem) as bad:
        service.create(user, "a/b", body)
    assert bad.value.status == 422
    assert conn.run("SELECT count(*) FROM subscriptions") == [[0]]


def test_local_development_may_use_a_loopback_receiver(
    conn: Connection, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setenv(ALLOW_PRIVATE_ENV, "1")
    user = new_user(conn, ("a/#", "subscribe"))
    assert service.create(user, "a/b", {"webhook_url": "http://127.0.0.1:9/x"})["webhook_url"]


def test_an_invalid_topic_is_a_422(conn: Connection) -> None:
    user = new_user(conn, admin=True)
    with pytest.raises(Problem) as bad:
        service.create(user, "Orders", {"mode": "pull"})
    assert bad.value.status == 422


def test_lists_are_the_callers_own_an_admins_all_and_paginated(conn: Connection) -> None:
    alice = new_user(conn, ("a/#", "subscribe"))
    bob = new_user(conn, ("a/#", "subscribe"))
    admin = new_user(conn, admin=True)
    mine = [service.create(alice, f"a/{i}", {"mode": "pull"})["id"] for i in range(5)]
    theirs = service.create(bob, "a/x", {"webhook_url": URL})["id"]

    seen: list[str] = []
    page = None
    while True:
        answer = service.list_subscriptions(alice, cursor=page, limit=2)
        seen += [s["id"] for s in answer["items"]]
        page = answer["next_cursor"]
        if page is None:
            break
    assert seen == mine
    everyone = service.list_subscriptions(admin, cursor=None, limit=100)
    assert {s["id"] for s in everyone["items"]} == {*mine, theirs}
    with pytest.raises(Problem):
        service.list_subscriptions(alice, cursor="garbage", limit=2)
    with pytest.raises(Problem):
        service.list_subscriptions(alice, cursor=None, limit=0)


def test_delete_is_the_owners_or_an_admins_and_fails_open_deliveries(conn: Connection) -> None:
    alice = new_user(conn, ("a/#", "subscribe"))
    bob = new_user(conn, ("a/#", "subscribe"))
    admin = new_user(conn, admin=True)
    sub = service.create(alice, "a/#", {"webhook_url": URL})
    publish(conn, ("a/1", {}), ("a/2", {}))
    assert conn.run("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == [[2]]

    for caller, sub_id in ((bob, sub["id"]), (alice, "not-a-uuid"), (alice, bob.sub)):
        with pytest.raises(Problem) as missing:
            service.delete(caller, sub_id)
        assert missing.value.status == 404  # bob does not learn that it exists

    service.delete(alice, sub["id"])
    assert service.list_subscriptions(alice, cursor=None, limit=10)["items"] == []
    rows = conn.run("SELECT status, last_error FROM webhook_deliveries")
    assert rows == [["failed", "subscription deleted"]] * 2
    assert conn.run("SELECT signing_secret FROM subscriptions") == [[None]]  # erased
    publish(conn, ("a/3", {}))
    assert conn.run("SELECT count(*) FROM webhook_deliveries") == [[2]]  # no new ones
    with pytest.raises(Problem):
        service.delete(alice, sub["id"])  # already gone

    other = service.create(bob, "a/#", {"mode": "pull"})
    service.delete(admin, other["id"])


def test_fan_out_and_topic_counts_happen_with_the_events(conn: Connection) -> None:
    user = new_user(conn, ("#", "subscribe"))
    exact = service.create(user, "a/b", {"webhook_url": URL})
    wide = service.create(user, "a/#", {"webhook_url": URL})
    service.create(user, "a/*", {"mode": "pull"})  # pull: no deliveries
    publish(conn, ("a/b", 1), ("a/c/d", 2), ("b", 3), ("a/b", 4))
    rows = conn.run(
        "SELECT CAST(subscription_id AS text), topic, count(*) FROM webhook_deliveries"
        " GROUP BY 1, 2 ORDER BY 2, 3"
    )
    by_sub = {(r[0], r[1]): r[2] for r in rows}
    assert by_sub == {(exact["id"], "a/b"): 2, (wide["id"], "a/b"): 2, (wide["id"], "a/c/d"): 1}
    counts = conn.run("SELECT topic, event_count FROM topic_stats ORDER BY topic")
    assert counts == [["a/b", 2], ["a/c/d", 1], ["b", 1]]
    publish(conn, ("b", 5))
    assert conn.run("SELECT event_count FROM topic_stats WHERE topic = 'b'") == [[2]]


def test_a_user_has_a_bounded_number_of_subscriptions(
    conn: Connection, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setattr(service, "MAX_PER_USER", 3)
    user = new_user(conn, ("a/#", "subscribe"))
    subs = [service.create(user, "a/b", {"mode": "pull"}) for _ in range(3)]
    with pytest.raises(Problem) as full:
        service.create(user, "a/b", {"mode": "pull"})
    assert full.value.status == 409
    service.delete(user, subs[0]["id"])  # a deleted one no longer counts
    service.create(user, "a/b", {"mode": "pull"})
