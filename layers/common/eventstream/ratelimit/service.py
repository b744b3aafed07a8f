"""Rate limits per caller: `limit_per_minute` tokens, refilled continuously, burst = the limit.

The limit for a user is, first that applies: the user's own `rate_limit_per_minute`, the
highest of their roles' limits in RATE_LIMIT_ROLES (JSON, e.g. {"admin": 1000}), or
RATE_LIMIT_PER_MINUTE (default 100). Answers carry the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass

from eventstream.api.problems import too_many_requests
from eventstream.api.request import Caller
from eventstream.auth.models import is_uuid
from eventstream.db.connection import autocommit
from eventstream.ratelimit import store

DEFAULT_PER_MINUTE = 100


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the bucket is full again (or a token is back, when limited)

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_s)
        return headers


@functools.cache
def _role_limits() -> dict[str, int]:
    raw = os.environ.get("RATE_LIMIT_ROLES", "").strip()
    if not raw:
        return {}
    doc = json.loads(raw)
    return {str(role): int(limit) for role, limit in doc.items()}


def _default_limit() -> int:
    return int(os.environ.get("RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE))


def limit_for(caller: Caller, own: int | None) -> int:
    if own is not None:
        return own
    by_role = [_role_limits()[r] for r in caller.roles if r in _role_limits()]
    return max(by_role) if by_role else _default_limit()


def check(caller: Caller, action: str) -> Decision:
    """Spend one of the caller's tokens for `action`; a Decision either way (one round trip)."""
    with autocommit() as conn:
        limit, left, have = store.take(
            conn,
            f"{action}:{caller.sub}",
            user_id=caller.sub if is_uuid(caller.sub) else None,
            fallback=limit_for(caller, None),
        )
    rate = limit / 60.0
    if left is None:
        return Decision(False, limit, 0, max(1, math.ceil((1 - have) / rate)))
    return Decision(True, limit, int(left), math.ceil((limit - left) / rate))


def enforce(caller: Caller, action: str) -> Decision:
    """check(), raising the 429 problem (with Retry-After and RateLimit headers) when limited."""
    decision = check(caller, action)
    if not decision.allowed:
        problem = too_many_requests(
            f"rate limit of {decision.limit} requests a minute reached", decision.reset_s
        )
        problem.headers.update(decision.headers())
        raise problem
    return decision
