"""Usage-plan throttling: a token bucket per API key (rate per second, burst)."""

from __future__ import annotations

from localcloud.gateway.throttle import TokenBucket, UsagePlanThrottle
from localcloud.spec import ThrottleSpec
from tests.unit.localcloud.gateway.fakes import FakeClock


def test_bucket_starts_full_and_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.25)  # half a token
    assert not bucket.take()
    clock.advance(0.25)
    assert bucket.take()
    assert not bucket.take()


def test_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100.0, burst=2, clock=clock)
    clock.advance(3600)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_zero_burst_throttles_everything() -> None:
    bucket = TokenBucket(rate=10.0, burst=0, clock=FakeClock())
    assert not bucket.take()


def test_each_api_key_has_its_own_bucket() -> None:
    clock = FakeClock()
    plan = UsagePlanThrottle(ThrottleSpec(rate_limit=1.0, burst_limit=1), clock)
    assert plan.allow("key-a")
    assert not plan.allow("key-a")
    assert plan.allow("key-b")
    clock.advance(1.0)
    assert plan.allow("key-a")
