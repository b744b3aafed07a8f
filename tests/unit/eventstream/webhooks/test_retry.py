"""The retry schedule: Svix's waits, jitter within bounds, the last attempt ends it."""

from __future__ import annotations

import random

import pytest

from eventstream.webhooks import retry


def test_the_default_is_svix_schedule() -> None:
    assert retry.parse_schedule(None) == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert retry.parse_schedule("  ") == retry.SVIX_SCHEDULE
    assert retry.parse_schedule("0,0.05,0.1") == (0, 0.05, 0.1)


@pytest.mark.parametrize("raw", ["a,b", "1,-2", "1,,2", "nan"])
def test_a_bad_schedule_is_refused(raw: str) -> None:
    with pytest.raises(retry.ScheduleError):
        retry.parse_schedule(raw)


def test_waits_follow_the_schedule_within_the_jitter_bounds() -> None:
    rng = random.Random(7)
    schedule = retry.SVIX_SCHEDULE
    for made in range(1, len(schedule)):
        draws = [retry.next_delay(schedule, made, rng) for _ in range(500)]
        base = schedule[made]
        assert all(d is not None for d in draws)
        lo, hi = base * (1 - retry.JITTER), base * (1 + retry.JITTER)
        assert all(lo <= d <= hi for d in draws if d is not None)
        # jittered: not all the same, and spread over most of the band
        values = [d for d in draws if d is not None]
        assert max(values) - min(values) > 0.8 * (hi - lo)


def test_after_the_last_attempt_there_is_no_wait() -> None:
    schedule = (0, 1, 2)
    assert retry.next_delay(schedule, 2) is not None
    assert retry.next_delay(schedule, 3) is None
    assert retry.next_delay(retry.SVIX_SCHEDULE, 8) is None
