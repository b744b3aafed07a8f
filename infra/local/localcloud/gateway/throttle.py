"""Usage-plan throttling: one token bucket per API key, refilled at the plan's rate."""

from __future__ import annotations

import time
from collections.abc import Callable

from localcloud.spec import ThrottleSpec

Clock = Callable[[], float]


class TokenBucket:
    """Holds up to `burst` requests; refills `rate` per second; starts full, as AWS does."""

    __slots__ = ("_clock", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class UsagePlanThrottle:
    """The Throttle of one API's usage plan, applied per API key."""

    __slots__ = ("_buckets", "_clock", "_spec")

    def __init__(self, spec: ThrottleSpec, clock: Clock = time.monotonic) -> None:
        self._spec = spec
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, api_key: str) -> bool:
        bucket = self._buckets.get(api_key)
        if bucket is None:
            bucket = TokenBucket(self._spec.rate_limit, self._spec.burst_limit, self._clock)
            self._buckets[api_key] = bucket
        return bucket.take()
