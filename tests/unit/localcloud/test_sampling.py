"""X-Ray's default sampling rule, as API Gateway and Lambda apply it without a caller's decision."""

from __future__ import annotations

import pytest

from localcloud.sampling import Sampler, with_decision


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_request_each_second_then_the_fixed_rate() -> None:
    clock = Clock()
    draws = iter([0.5, 0.01, 0.049, 0.05, 0.9])
    sampler = Sampler(clock=clock, draw=lambda: next(draws))
    assert sampler.sample()  # the reservoir's one for this second, no draw
    assert [sampler.sample() for _ in range(5)] == [False, True, True, False, False]
    clock.now += 1.0
    assert sampler.sample()  # a new second refills the reservoir


def test_the_rate_holds_over_many_requests() -> None:
    clock = Clock()
    sampler = Sampler(clock=clock)
    picked = sum(sampler.sample() for _ in range(20_001)) - 1  # less the reservoir's one
    assert 800 < picked < 1200  # 5 % of 20,000 is 1,000; this is > 6 standard deviations


def test_all_samples_every_request() -> None:
    sampler = Sampler("all", clock=Clock(), draw=lambda: 1.0)
    assert all(sampler.sample() for _ in range(100))


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="default, all"):
        Sampler("some")  # type: ignore[arg-type]


def test_a_callers_decision_stands_and_a_missing_one_is_made() -> None:
    never = Sampler(clock=Clock(), per_second=0, draw=lambda: 1.0)
    root = "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f3f6"
    assert with_decision(f"{root};Sampled=0", None) == f"{root};Sampled=0"
    assert with_decision(f"{root}; Sampled=1", never) == f"{root}; Sampled=1"
    assert with_decision(f"{root};Sampled=1", never) == f"{root};Sampled=1"
    assert with_decision(root, never) == f"{root};Sampled=0"
    assert with_decision(root, None) == f"{root};Sampled=1"
