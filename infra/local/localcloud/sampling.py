"""X-Ray sampling decisions, as API Gateway and Lambda make them for a request without one.

AWS applies the account's sampling rules, and the default rule records the first request each
second and 5 % of the rest. A caller's decision (`Sampled=1` or `Sampled=0` in its
`X-Amzn-Trace-Id`) is always honoured. `all` records every request: for watching each trace of
a short session, or for measuring what tracing costs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Literal

from eventstream.observability.trace_header import parse_trace_header

SamplingMode = Literal["default", "all"]
MODES: tuple[SamplingMode, ...] = ("default", "all")
RESERVOIR_PER_S = 1  # X-Ray's default rule
FIXED_RATE = 0.05


class Sampler:
    """The default rule: a reservoir of `per_second` requests each second, then `rate`."""

    def __init__(
        self,
        mode: SamplingMode = "default",
        *,
        per_second: int = RESERVOIR_PER_S,
        rate: float = FIXED_RATE,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"X-Ray sampling must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.per_second = per_second
        self.rate = rate
        self._clock = clock
        self._draw = draw
        self._second = -1
        self._taken = 0

    def sample(self) -> bool:
        if self.mode == "all":
            return True
        second = int(self._clock())
        if second != self._second:
            self._second, self._taken = second, 0
        if self._taken < self.per_second:
            self._taken += 1
            return True
        return self._draw() < self.rate


def is_sampled(fields: Mapping[str, str], sampler: Sampler | None) -> bool:
    """The decision for a parsed trace header: the caller's `Sampled=`, else the sampler's (no
    sampler: sampled). The gateway and the Lambda service both decide this way."""
    decision = fields.get("Sampled")
    if decision is None:
        return sampler.sample() if sampler is not None else True
    return decision != "0"


def with_decision(header: str, sampler: Sampler | None) -> str:
    """`header` as passed on: its own decision, or the sampler's (none: sampled) appended."""
    fields = parse_trace_header(header)
    if "Sampled" in fields:
        return header
    return f"{header};Sampled={int(is_sampled(fields, sampler))}"
