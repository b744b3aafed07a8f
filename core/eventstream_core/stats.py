"""Live statistics of one node, kept in per-second slots over the last minute.

Writers record each committed batch; the event loop records refusals. Everything is under one
lock held for a few microseconds per batch, never per event.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

WINDOW_S = 60
LATENCY_SAMPLES = 10_000  # the most recent events' ingest-to-durable latencies
MAX_TOPICS = 10_000  # topics counted by name; the rest are summed under OTHER_TOPICS
OTHER_TOPICS = "(other)"
# Upper bounds (seconds) of the ingest-to-durable histogram, dense around the 20 ms P99 alert.
LATENCY_BUCKETS_S = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


_BOUNDS_MS = tuple(b * 1000 for b in LATENCY_BUCKETS_S)


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class NodeStats:
    def __init__(self, node_id: str, writers: int, clock: Any = time.monotonic) -> None:
        self.node_id = node_id
        self.writers = writers
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._slot_second = [-1] * WINDOW_S
        self._slot_events = [0] * WINDOW_S
        self._slot_busy_s = [0.0] * WINDOW_S
        self._latencies_ms: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.events_total = 0
        self.duplicates_total = 0
        self.batches_total = 0
        self.errors: Counter[str] = Counter()
        self.topics: Counter[str] = Counter()
        # Prometheus histogram: per-bucket (not cumulative) counts, the last one is +Inf.
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self._latency_sum_s = 0.0
        self._latency_count = 0

    def _slot(self, second: int) -> int:
        i = second % WINDOW_S
        if self._slot_second[i] != second:
            self._slot_second[i] = second
            self._slot_events[i] = 0
            self._slot_busy_s[i] = 0.0
        return i

    def record_batch(
        self,
        topics: Iterable[str],
        latencies_ms: Iterable[float],
        stored: int,
        duplicates: int,
        busy_s: float,
    ) -> None:
        counts = Counter(topics)
        latencies_ms = list(latencies_ms)
        bounds_ms = _BOUNDS_MS
        buckets = Counter(bisect_left(bounds_ms, ms) for ms in latencies_ms)
        total_ms = sum(latencies_ms)
        with self._lock:
            for b, n in buckets.items():
                self._bucket_counts[b] += n
            self._latency_sum_s += total_ms / 1000
            self._latency_count += len(latencies_ms)
            i = self._slot(int(self._clock()))
            self._slot_events[i] += stored
            self._slot_busy_s[i] += busy_s
            self._latencies_ms.extend(latencies_ms)
            self.events_total += stored
            self.duplicates_total += duplicates
            self.batches_total += 1
            for topic, n in counts.items():
                if topic in self.topics or len(self.topics) < MAX_TOPICS:
                    self.topics[topic] += n
                else:
                    self.topics[OTHER_TOPICS] += n

    def recent_rate(self) -> float:
        """Events stored in the last complete second."""
        second = int(self._clock()) - 1
        with self._lock:
            i = second % WINDOW_S
            return float(self._slot_events[i]) if self._slot_second[i] == second else 0.0

    def record_busy(self, busy_s: float) -> None:
        """Writer time that committed nothing (a failed batch) still counts as work."""
        with self._lock:
            self._slot_busy_s[self._slot(int(self._clock()))] += busy_s

    def utilization(self) -> float:
        """The writers' busy share of the last complete second (0..1)."""
        second = int(self._clock()) - 1
        with self._lock:
            i = second % WINDOW_S
            busy = self._slot_busy_s[i] if self._slot_second[i] == second else 0.0
        return min(1.0, busy / self.writers)

    def counters(self) -> tuple[int, dict[str, int], list[int], float, int]:
        """Events total, errors by type, cumulative latency bucket counts (the last is +Inf),
        latency sum (s) and count: what the Prometheus metrics read, in one consistent take."""
        with self._lock:
            per_bucket = list(self._bucket_counts)
            totals = (self.events_total, dict(self.errors), self._latency_sum_s)
            count = self._latency_count
        cumulative, running = [], 0
        for n in per_bucket:
            running += n
            cumulative.append(running)
        return totals[0], totals[1], cumulative, totals[2], count

    def record_error(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.errors[kind] += n

    def snapshot(self, queue: dict[str, Any], connections: int) -> dict[str, Any]:
        now = self._clock()
        second = int(now)
        uptime = now - self._started
        with self._lock:
            last_second = second - 1  # the last complete second
            per_second = {
                s: (e, b)
                for s, e, b in zip(
                    self._slot_second, self._slot_events, self._slot_busy_s, strict=True
                )
                if second - WINDOW_S < s <= second  # the minute includes the current second
            }
            latencies = sorted(self._latencies_ms)
            errors = dict(self.errors)
            topics = dict(self.topics)
            totals = (self.events_total, self.duplicates_total, self.batches_total)
        minute_span = max(1.0, min(float(WINDOW_S), uptime))
        events_1s, busy_1s = per_second.get(last_second, (0, 0.0))
        events_1m = sum(e for e, _ in per_second.values())
        busy_1m = sum(b for _, b in per_second.values())
        return {
            "node_id": self.node_id,
            "uptime_s": round(uptime, 3),
            "connections": connections,
            "events_total": totals[0],
            "duplicates_total": totals[1],
            "batches_total": totals[2],
            "events_per_second": {"1s": events_1s, "1m": round(events_1m / minute_span, 3)},
            "latency_ms": {
                "p50": _quantile(latencies, 0.50),
                "p95": _quantile(latencies, 0.95),
                "p99": _quantile(latencies, 0.99),
                "samples": len(latencies),
            },
            "queue": queue,
            "worker_utilization": {
                "writers": self.writers,
                "1s": round(min(1.0, busy_1s / self.writers), 4),
                "1m": round(min(1.0, busy_1m / (minute_span * self.writers)), 4),
            },
            "errors": errors,
            "topics": topics,
        }
