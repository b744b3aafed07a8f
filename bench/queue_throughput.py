"""Throughput and push latency of the C priority queue (eventstream_native) against the stdlib.

Figure: items per second through the queue (push + pop) and p50/p99 of one push, beside
baselines measured in the same run: queue.PriorityQueue (the stdlib's bounded priority queue,
pure Python over heapq and a Condition; items go in as (-priority, sequence, item) to get the
same order) and queue.SimpleQueue (C, unbounded, FIFO only: a floor for any Python-called queue).
Two shapes:
- one thread: push a batch of 1000, then pop it (the C queue also with push_many);
- 4 producer threads + 1 consumer, bounded: the core's shape (request handlers push, one
  writer drains in batches with pop_many).
Throughput loops are untimed; push latency is a separate pass timing each push alone (one
thread), and every 8th push inside the threaded runs.
Usage: python bench/queue_throughput.py [--items N] [--runs N]
"""

from __future__ import annotations

import argparse
import collections
import queue
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from _common import machine, percentile

from eventstream_native import PriorityQueue

BATCH = 1000
CAPACITY = 10_000
PRODUCERS = 4
SAMPLE_EVERY = 8


@dataclass
class Row:
    name: str
    rates: list[float] = field(default_factory=list)
    push_ns: list[int] = field(default_factory=list)


# ---- one thread: throughput ---------------------------------------------------------------------


def single_c(total: int, pop_size: int) -> float:
    q: PriorityQueue = PriorityQueue(CAPACITY)
    push, pop_many = q.push, q.pop_many
    start = time.perf_counter()
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            push(i, i % 10)
        for _ in range(BATCH // pop_size):
            pop_many(pop_size, 0)
    return total / (time.perf_counter() - start)


def single_c_batch(total: int) -> float:
    q: PriorityQueue = PriorityQueue(CAPACITY)
    start = time.perf_counter()
    for base in range(0, total, BATCH):
        q.push_many([(i % 10, i) for i in range(base, base + BATCH)])
        q.pop_many(BATCH, 0)
    return total / (time.perf_counter() - start)


def single_stdlib_priority(total: int) -> float:
    q: queue.PriorityQueue = queue.PriorityQueue(CAPACITY)
    put, get = q.put_nowait, q.get_nowait
    start = time.perf_counter()
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            put((-(i % 10), i, i))
        for _ in range(BATCH):
            get()
    return total / (time.perf_counter() - start)


def single_fifo(put: Callable[[int], object], get: Callable[[], object], total: int) -> float:
    """A FIFO baseline: the queue's own bound methods, called exactly as the C queue's are."""
    start = time.perf_counter()
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            put(i)
        for _ in range(BATCH):
            get()
    return total / (time.perf_counter() - start)


def single_stdlib_queue(total: int) -> float:
    q: queue.Queue = queue.Queue(CAPACITY)
    return single_fifo(q.put_nowait, q.get_nowait, total)


def single_deque(total: int) -> float:
    # No lock, no bound, no priority: the cheapest container Python has, not a queue.
    q: collections.deque = collections.deque()
    return single_fifo(q.append, q.popleft, total)


def single_stdlib_simple(total: int) -> float:
    q: queue.SimpleQueue = queue.SimpleQueue()
    return single_fifo(q.put, q.get_nowait, total)


# ---- one thread: latency of one push (the queue emptied between batches, untimed) ---------------


def latency_c(total: int) -> list[int]:
    q: PriorityQueue = PriorityQueue(CAPACITY)
    push, clock, samples = q.push, time.perf_counter_ns, []
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            start = clock()
            push(i, i % 10)
            samples.append(clock() - start)
        q.drain()
    return samples


def latency_stdlib_priority(total: int) -> list[int]:
    q: queue.PriorityQueue = queue.PriorityQueue(CAPACITY)
    put, clock, samples = q.put_nowait, time.perf_counter_ns, []
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            start = clock()
            put((-(i % 10), i, i))
            samples.append(clock() - start)
        with q.mutex:
            q.queue.clear()
    return samples


def latency_stdlib_simple(total: int) -> list[int]:
    q: queue.SimpleQueue = queue.SimpleQueue()
    put, clock, samples = q.put, time.perf_counter_ns, []
    for base in range(0, total, BATCH):
        for i in range(base, base + BATCH):
            start = clock()
            put(i)
            samples.append(clock() - start)
        while not q.empty():
            q.get_nowait()
    return samples


# ---- 4 producers, 1 consumer --------------------------------------------------------------------


def run_threads(
    total: int,
    produce: Callable[[range, list[int]], None],
    consume: Callable[[], int],
    after_producers: Callable[[], None],
) -> tuple[float, list[int]]:
    per = total // PRODUCERS
    samples: list[list[int]] = [[] for _ in range(PRODUCERS)]
    producers = [
        threading.Thread(target=produce, args=(range(p * per, (p + 1) * per), samples[p]))
        for p in range(PRODUCERS)
    ]
    received: list[int] = []
    consumer = threading.Thread(target=lambda: received.append(consume()))
    start = time.perf_counter()
    consumer.start()
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    after_producers()
    consumer.join()
    elapsed = time.perf_counter() - start
    assert received == [per * PRODUCERS], received
    return per * PRODUCERS / elapsed, [ns for s in samples for ns in s]


def threads_c(total: int) -> tuple[float, list[int]]:
    q: PriorityQueue = PriorityQueue(CAPACITY)

    def produce(items: range, samples: list[int]) -> None:
        push, clock = q.push, time.perf_counter_ns
        for i in items:
            if i % SAMPLE_EVERY:
                push(i, i % 10, 10.0)
            else:
                start = clock()
                push(i, i % 10, 10.0)
                samples.append(clock() - start)

    def consume() -> int:
        count = 0
        while batch := q.pop_many(256):
            count += len(batch)
        return count

    return run_threads(total, produce, consume, q.close)


def threads_stdlib_priority(total: int) -> tuple[float, list[int]]:
    q: queue.PriorityQueue = queue.PriorityQueue(CAPACITY)
    done = object()

    def produce(items: range, samples: list[int]) -> None:
        put, clock = q.put, time.perf_counter_ns
        for i in items:
            if i % SAMPLE_EVERY:
                put((-(i % 10), i, i))
            else:
                start = clock()
                put((-(i % 10), i, i))
                samples.append(clock() - start)

    def consume() -> int:
        count, get = 0, q.get
        while get()[2] is not done:
            count += 1
        return count

    # The end marker sorts after every item (priority below all of them).
    return run_threads(total, produce, consume, lambda: q.put((1, 0, done)))


def threads_stdlib_simple(total: int) -> tuple[float, list[int]]:
    q: queue.SimpleQueue = queue.SimpleQueue()
    done = object()

    def produce(items: range, samples: list[int]) -> None:
        put, clock = q.put, time.perf_counter_ns
        for i in items:
            if i % SAMPLE_EVERY:
                put(i)
            else:
                start = clock()
                put(i)
                samples.append(clock() - start)

    def consume() -> int:
        count, get = 0, q.get
        while get() is not done:
            count += 1
        return count

    return run_threads(total, produce, consume, lambda: q.put(done))


# ---- report -------------------------------------------------------------------------------------


def report(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(f"{'queue':38} {'items/s: median (each run)':>34} {'C ÷ this':>9}  push p50 / p99 (µs)")
    reference = statistics.median(rows[0].rates)
    for row in rows:
        median = statistics.median(row.rates)
        runs = ", ".join(f"{rate / 1e3:.0f}k" for rate in row.rates)
        latency = "—"
        if row.push_ns:
            p50, p99 = percentile(row.push_ns, 50), percentile(row.push_ns, 99)
            latency = f"{p50 / 1000:.2f} / {p99 / 1000:.2f}"
        print(f"{row.name:38} {median:>12,.0f} ({runs:>19}) {reference / median:>8.2f}x  {latency}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    total = args.items
    print(f"machine: {machine()}")
    print(f"items per run: {total:,}; batch {BATCH}; capacity {CAPACITY:,}; runs {args.runs}")
    print("'C ÷ this' = first row's items/s ÷ this row's (above 1: the C queue is faster)")

    single = [
        Row("C PriorityQueue push + pop_many(1000)"),
        Row("C PriorityQueue push + pop_many(1)"),
        Row("C PriorityQueue push_many + pop_many"),
        Row("queue.PriorityQueue put + get"),
        Row("queue.SimpleQueue put + get"),
        Row("queue.Queue put + get (FIFO, bounded)"),
        Row("collections.deque append + popleft"),
    ]
    runners = [
        lambda total: single_c(total, BATCH),
        lambda total: single_c(total, 1),
        single_c_batch,
        single_stdlib_priority,
        single_stdlib_simple,
        single_stdlib_queue,
        single_deque,
    ]
    latency = {0: latency_c, 3: latency_stdlib_priority, 4: latency_stdlib_simple}
    for _ in range(args.runs):
        for index, (row, run) in enumerate(zip(single, runners, strict=True)):
            row.rates.append(run(total))
            if index in latency:
                row.push_ns.extend(latency[index](total))
    report("One thread: push a batch of 1000, then pop it", single)

    threaded = [
        Row("C PriorityQueue push / pop_many(256)"),
        Row("queue.PriorityQueue put / get"),
        Row("queue.SimpleQueue put / get"),
    ]
    for _ in range(args.runs):
        for row, run in zip(
            threaded, [threads_c, threads_stdlib_priority, threads_stdlib_simple], strict=True
        ):
            rate, samples = run(total)
            row.rates.append(rate)
            row.push_ns.extend(samples)
    report(f"{PRODUCERS} producer threads + 1 consumer thread, bounded at {CAPACITY:,}", threaded)

    # The targets, from the rows above.
    c_rate = statistics.median(single[0].rates)
    stdlib_queue = statistics.median(single[5].rates)
    batch_rate = statistics.median(single[2].rates)
    push_p99_us = percentile([float(n) for n in single[0].push_ns], 99) / 1000
    print("\ntargets:")
    print(
        f"  C push+pop_many vs queue.Queue: {c_rate / stdlib_queue:.1f}x (target >= 10x: "
        f"{'met' if c_rate >= 10 * stdlib_queue else 'NOT met'})"
    )
    print(
        f"  batches (push_many + pop_many): {batch_rate:,.0f} events/s (target >= 8.5M: "
        f"{'met' if batch_rate >= 8.5e6 else 'NOT met'})"
    )
    print(
        f"  single push p99: {push_p99_us:.2f} us (target <= 3.8 us: "
        f"{'met' if push_p99_us <= 3.8 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
