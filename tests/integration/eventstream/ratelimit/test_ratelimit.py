"""Token buckets on a real Postgres: the limit holds across concurrent workers (processes)."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

from eventstream.api import Caller, Problem
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import apply_migrations
from eventstream.ratelimit import service

MIGRATIONS = Path(__file__).resolve().parents[4] / "infra" / "migrations"


@pytest.fixture
def db(fresh_database: DbCredentials, clean_eventstream: pytest.MonkeyPatch) -> DbCredentials:
    apply_migrations(fresh_database, MIGRATIONS)
    clean_eventstream.setenv("DATABASE_URL", fresh_database.to_url())
    service._role_limits.cache_clear()
    return fresh_database


def _caller(*roles: str) -> Caller:
    return Caller(sub=str(uuid.uuid4()), roles=roles or ("user",))


def test_the_limit_allows_a_burst_then_refuses_with_headers(
    db: DbCredentials, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setenv("RATE_LIMIT_PER_MINUTE", "5")
    caller = _caller()
    decisions = [service.check(caller, "publish") for _ in range(5)]
    assert all(d.allowed for d in decisions)
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    with pytest.raises(Problem) as refused:
        service.enforce(caller, "publish")
    assert refused.value.status == 429
    headers = refused.value.headers
    assert headers["RateLimit-Limit"] == "5"
    assert headers["RateLimit-Remaining"] == "0"
    # 5 a minute is one token every 12 s
    assert 1 <= int(headers["Retry-After"]) <= 12
    # another caller and another action have buckets of their own
    assert service.check(_caller(), "publish").allowed
    assert service.check(caller, "subscribe").allowed


def test_roles_and_users_override_the_default(
    db: DbCredentials, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setenv("RATE_LIMIT_PER_MINUTE", "2")
    clean_eventstream.setenv("RATE_LIMIT_ROLES", '{"admin": 7}')
    service._role_limits.cache_clear()
    assert service.check(_caller("user"), "publish").limit == 2
    assert service.check(_caller("user", "admin"), "publish").limit == 7
    assert service.limit_for(_caller("admin"), own=3) == 3


def _spend(url: str, sub: str, n: int, out: multiprocessing.Queue) -> None:
    import os

    os.environ["DATABASE_URL"] = url
    os.environ["RATE_LIMIT_PER_MINUTE"] = "30"
    caller = Caller(sub=sub, roles=("user",))
    out.put(sum(service.check(caller, "publish").allowed for _ in range(n)))


def test_the_limit_holds_across_processes(db: DbCredentials) -> None:
    sub = str(uuid.uuid4())
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    workers = [ctx.Process(target=_spend, args=(db.to_url(), sub, 20, out)) for _ in range(4)]
    for w in workers:
        w.start()
    allowed = sum(out.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(10)
    # 80 attempts, a bucket of 30: a few more may refill while they run (0.5 token a second)
    assert 30 <= allowed <= 33


def test_only_the_spend_itself_skips_waiting_for_the_wal_flush(db: DbCredentials) -> None:
    from eventstream.db.connection import autocommit

    assert service.check(_caller(), "publish").allowed
    with autocommit() as conn:  # the same process connection, next statement
        assert conn.run("SHOW synchronous_commit") == [["on"]]
