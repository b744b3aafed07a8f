"""Node stats over a fake clock: per-second slots, the minute window, quantiles, topic cap."""

from __future__ import annotations

from eventstream_core import stats as node_stats
from eventstream_core.stats import NodeStats

QUEUE = {"depth": 0}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rates_count_the_last_second_and_the_last_minute() -> None:
    clock = Clock()
    stats = NodeStats("n1", writers=2, clock=clock)
    clock.now = 1010.2
    stats.record_batch(["a"] * 300, [1.0] * 300, stored=300, duplicates=0, busy_s=0.5)
    clock.now = 1011.5
    stats.record_batch(["b"] * 100, [3.0] * 100, stored=100, duplicates=2, busy_s=0.25)
    snap = stats.snapshot(QUEUE, connections=3)
    assert snap["events_per_second"] == {"1s": 300, "1m": round(400 / 11.5, 3)}
    assert snap["worker_utilization"]["1s"] == 0.25  # 0.5 s of 2 writers' second
    assert snap["events_total"] == 400
    assert snap["duplicates_total"] == 2
    assert snap["topics"] == {"a": 300, "b": 100}
    assert snap["latency_ms"]["p50"] == 1.0
    assert snap["latency_ms"]["p99"] == 3.0
    clock.now = 1080.0  # a minute later the window is empty; totals remain
    later = stats.snapshot(QUEUE, connections=0)
    assert later["events_per_second"] == {"1s": 0, "1m": 0.0}
    assert later["events_total"] == 400


def test_topics_beyond_the_cap_are_summed(monkeypatch) -> None:
    monkeypatch.setattr(node_stats, "MAX_TOPICS", 2)
    stats = NodeStats("n1", writers=1, clock=Clock())
    stats.record_batch(["a", "b", "c", "d", "a"], [], stored=5, duplicates=0, busy_s=0.0)
    assert stats.snapshot(QUEUE, 0)["topics"] == {"a": 2, "b": 1, "(other)": 2}


def test_errors_are_counted_by_kind() -> None:
    stats = NodeStats("n1", writers=1, clock=Clock())
    stats.record_error("busy", 3)
    stats.record_error("invalid")
    assert stats.snapshot(QUEUE, 0)["errors"] == {"busy": 3, "invalid": 1}
    assert stats.snapshot(QUEUE, 0)["latency_ms"]["p50"] is None
