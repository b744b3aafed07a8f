"""When to try a failed delivery again: Svix's schedule, with jitter so retries do not align."""

from __future__ import annotations

import random
from collections.abc import Sequence

# Seconds before attempt 1, 2, ...: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SVIX_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # each wait is drawn from [w * (1 - JITTER), w * (1 + JITTER)]


class ScheduleError(ValueError):
    """A retry schedule setting that is not a comma-separated list of non-negative seconds."""


def parse_schedule(raw: str | None) -> tuple[float, ...]:
    """WEBHOOK_RETRY_SCHEDULE ("0,5,300,..."), or Svix's schedule when unset."""
    if raw is None or not raw.strip():
        return SVIX_SCHEDULE
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ScheduleError(f"retry schedule {raw!r} is not comma-separated seconds") from None
    if not values or any(v < 0 or v != v for v in values):
        raise ScheduleError(f"retry schedule {raw!r} must list non-negative seconds")
    return values


def next_delay(
    schedule: Sequence[float], attempts_made: int, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait after `attempts_made` failed attempts, or None: that was the last."""
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    draw = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return base * draw
