"""The C priority queue: ordering, bounds, batches, close, threads, GIL, references, GC."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

import eventstream_native
from eventstream_native import Closed, Full, PriorityQueue

# Long enough never to fire on a healthy run; only a hang (a bug) reaches it.
JOIN_S = 10.0
# Blocked calls get a finite timeout longer than JOIN_S: a bug that holds the GIL through a wait
# then fails the test instead of hanging the whole run (nothing in Python can interrupt it).
WAIT_S = 3 * JOIN_S


def wait_until(condition: Callable[[], bool]) -> None:
    """Polls until condition holds (a thread reached its wait); fails only if it never does."""
    deadline = time.monotonic() + JOIN_S
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


def start(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def join(thread: threading.Thread) -> None:
    thread.join(JOIN_S)
    assert not thread.is_alive(), "thread did not finish"


@pytest.fixture
def queue() -> Iterator[PriorityQueue]:
    q: PriorityQueue = PriorityQueue(8)
    yield q
    q.close()


def test_the_package_exports_the_c_types() -> None:
    assert eventstream_native.PriorityQueue is eventstream_native._queue.PriorityQueue
    assert eventstream_native._queue.__file__.endswith(".so")
    assert issubclass(Full, Exception)
    assert issubclass(Closed, Exception)
    assert not issubclass(Full, Closed)
    assert not issubclass(Closed, Full)


def test_pops_the_most_urgent_lane_first_and_fifo_within_a_lane(queue: PriorityQueue) -> None:
    for item, priority in [("a0", 0), ("b5", 5), ("c9", 9), ("d5", 5), ("e0", 0), ("f9", 9)]:
        queue.push(item, priority)

    assert queue.pop_many(3) == ["c9", "f9", "b5"]
    assert queue.pop_many(10) == ["d5", "a0", "e0"]


def test_default_priority_is_the_middle_lane(queue: PriorityQueue) -> None:
    queue.push("low", priority=4)
    queue.push("default")
    queue.push("high", priority=6)

    assert queue.stats()["depth_by_lane"][5] == 1
    assert queue.pop_many(3) == ["high", "default", "low"]


def test_lanes_sets_the_priority_range() -> None:
    q: PriorityQueue = PriorityQueue(4, lanes=3)
    q.push("mid")
    q.push("top", 2)

    assert q.stats()["depth_by_lane"] == [0, 1, 1]
    assert q.pop_many(2) == ["top", "mid"]
    with pytest.raises(ValueError, match=r"0\.\.2"):
        q.push("x", 3)


@pytest.mark.parametrize("timeout", [None, 0, 0.0])
def test_push_to_a_full_queue_raises_full_at_once(timeout: float | None) -> None:
    q: PriorityQueue = PriorityQueue(2)
    q.push(1)
    q.push(2)

    with pytest.raises(Full, match="depth 2 of 2"):
        q.push(3, 9, timeout=timeout)

    assert len(q) == 2
    assert q.stats()["rejected_full"] == 1
    assert q.pop_many(5) == [1, 2]


def test_push_with_a_timeout_gives_up_with_full_when_no_room_appears() -> None:
    q: PriorityQueue = PriorityQueue(1)
    q.push("kept")

    with pytest.raises(Full):
        q.push("late", timeout=0.02)

    assert q.pop_many(5) == ["kept"]
    assert q.stats()["rejected_full"] == 1


def test_push_with_a_timeout_waits_for_room_made_by_a_consumer() -> None:
    q: PriorityQueue = PriorityQueue(1)
    q.push("first")
    pushed: list[str] = []

    def producer() -> None:
        q.push("second", timeout=WAIT_S)
        pushed.append("second")

    thread = start(producer)
    wait_until(lambda: q.stats()["waiting_producers"] == 1)
    assert q.pop_many(1) == ["first"]
    join(thread)

    assert pushed == ["second"]
    assert q.pop_many(1) == ["second"]
    assert q.stats()["rejected_full"] == 0


def test_a_large_capacity_costs_memory_only_as_items_arrive() -> None:
    page = os.sysconf("SC_PAGE_SIZE")

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    before = resident()
    q: PriorityQueue = PriorityQueue(20_000_000)  # 320 MB of slots if they were all touched
    q.push_many([(i % 10, i) for i in range(1000)])

    assert resident() - before < 64 * 2**20
    assert q.pop_many(1000) == sorted(range(1000), key=lambda i: -(i % 10))


def test_push_many_is_all_or_nothing() -> None:
    q: PriorityQueue = PriorityQueue(5)
    q.push("a", 1)
    q.push("b", 2)
    q.push("c", 3)

    with pytest.raises(Full, match="3 item"):
        q.push_many([(9, "x"), (9, "y"), (9, "z")])

    stats = q.stats()
    assert stats["depth"] == 3
    assert stats["rejected_full"] == 3
    assert stats["pushed"] == 3
    assert q.push_many([(9, "x"), (0, "y")]) == 5
    assert q.pop_many(10) == ["x", "c", "b", "a", "y"]


def test_push_many_accepts_an_empty_batch_and_any_sequence(queue: PriorityQueue) -> None:
    assert queue.push_many([]) == 0
    assert queue.push_many(((1, "t1"), (2, "t2"))) == 2
    assert queue.pop_many(2) == ["t2", "t1"]


def test_push_many_larger_than_capacity_is_always_full() -> None:
    q: PriorityQueue = PriorityQueue(2)

    with pytest.raises(Full):
        q.push_many([(1, i) for i in range(3)])

    assert len(q) == 0


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        ([(1, "ok"), (10, "bad")], ValueError),
        ([(1, "ok"), ["1", "list"]], TypeError),
        ([(1, "ok"), (1,)], TypeError),
        ([(1, "ok"), ("1", "str")], TypeError),
    ],
)
def test_a_bad_pair_anywhere_in_push_many_pushes_nothing(
    queue: PriorityQueue, batch: list, error: type[Exception]
) -> None:
    with pytest.raises(error):
        queue.push_many(batch)

    assert len(queue) == 0
    assert queue.stats()["pushed"] == 0


def test_pop_many_returns_an_empty_list_on_timeout(queue: PriorityQueue) -> None:
    assert queue.pop_many(10, timeout=0) == []
    assert queue.pop_many(10, timeout=0.02) == []


def test_pop_many_takes_at_most_max_items(queue: PriorityQueue) -> None:
    queue.push_many([(5, i) for i in range(6)])

    assert queue.pop_many(4) == [0, 1, 2, 3]
    assert queue.pop_many(10**18, timeout=0) == [4, 5]


def test_pop_many_without_a_timeout_waits_until_an_item_arrives(queue: PriorityQueue) -> None:
    received: list[list[object]] = []
    thread = start(lambda: received.append(queue.pop_many(10, timeout=None)))
    wait_until(lambda: queue.stats()["waiting_consumers"] == 1)

    queue.push("hello")
    join(thread)

    assert received == [["hello"]]


def test_a_batch_wakes_enough_consumers_for_all_of_it() -> None:
    q: PriorityQueue = PriorityQueue(16)
    received: list[list[object]] = []
    threads = [start(lambda: received.append(q.pop_many(2, timeout=WAIT_S))) for _ in range(3)]
    wait_until(lambda: q.stats()["waiting_consumers"] == 3)

    q.push_many([(5, i) for i in range(6)])
    for thread in threads:
        join(thread)

    assert sorted(i for batch in received for i in batch) == list(range(6))


def test_close_refuses_pushes_and_lets_pops_finish(queue: PriorityQueue) -> None:
    queue.push("left", 1)
    queue.push("urgent", 9)
    queue.close()
    queue.close()  # closing twice is harmless

    assert queue.closed
    with pytest.raises(Closed):
        queue.push("late")
    with pytest.raises(Closed):
        queue.push_many([(1, "late")])
    assert queue.pop_many(1) == ["urgent"]
    assert queue.pop_many(1) == ["left"]
    assert queue.pop_many(1) == []  # closed and empty: at once, even with no timeout


def test_close_wakes_every_blocked_consumer(queue: PriorityQueue) -> None:
    results: list[list[object]] = []
    threads = [start(lambda: results.append(queue.pop_many(5, WAIT_S))) for _ in range(3)]
    wait_until(lambda: queue.stats()["waiting_consumers"] == 3)

    queue.close()
    for thread in threads:
        join(thread)

    assert results == [[], [], []]


def test_close_wakes_a_blocked_producer_with_closed() -> None:
    q: PriorityQueue = PriorityQueue(1)
    q.push("full")
    errors: list[BaseException] = []

    def producer() -> None:
        try:
            q.push("blocked", timeout=WAIT_S)
        except Closed as error:
            errors.append(error)

    thread = start(producer)
    wait_until(lambda: q.stats()["waiting_producers"] == 1)
    q.close()
    join(thread)

    assert len(errors) == 1
    assert q.drain() == ["full"]


def test_drain_takes_everything_in_priority_order(queue: PriorityQueue) -> None:
    queue.push_many([(0, "z"), (7, "b"), (9, "a"), (7, "c")])

    assert queue.drain() == ["a", "b", "c", "z"]
    assert queue.drain() == []
    assert queue.stats()["popped"] == 4


def test_counters() -> None:
    q: PriorityQueue = PriorityQueue(4)
    q.push_many([(0, "a"), (9, "b"), (9, "c")])
    q.pop_many(2)
    q.push("d", 3)
    with pytest.raises(Full):
        q.push_many([(1, "x"), (1, "y"), (1, "z")])

    assert q.stats() == {
        "depth": 2,
        "depth_by_lane": [1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        "high_water_mark": 3,
        "capacity": 4,
        "pushed": 4,
        "popped": 2,
        "rejected_full": 3,
        "waiting_consumers": 0,
        "waiting_producers": 0,
    }
    assert len(q) == 2
    assert repr(q) == "<PriorityQueue depth=2 capacity=4 lanes=10>"


@pytest.mark.timeout(120)
def test_many_producers_and_consumers_deliver_every_item_exactly_once() -> None:
    producers, per_producer, consumers = 4, 3000, 3
    q: PriorityQueue = PriorityQueue(64)  # small, so producers keep hitting a full queue
    received: list[list[tuple[int, int]]] = [[] for _ in range(consumers)]

    def produce(producer: int) -> None:
        for n in range(0, per_producer, 10):
            if n % 20 == 0:
                batch = [((producer + i) % 10, (producer, n + i)) for i in range(10)]
                while True:
                    try:
                        q.push_many(batch)
                        break
                    except Full:
                        time.sleep(0)
            else:
                for i in range(10):
                    q.push((producer, n + i), (producer + i) % 10, timeout=WAIT_S)

    def consume(index: int) -> None:
        while batch := q.pop_many(16, timeout=WAIT_S):
            received[index].extend(batch)

    consumer_threads = [start(lambda i=i: consume(i)) for i in range(consumers)]
    producer_threads = [start(lambda p=p: produce(p)) for p in range(producers)]
    for thread in producer_threads:
        join(thread)
    q.close()
    for thread in consumer_threads:
        join(thread)

    counts = Counter(item for batch in received for item in batch)
    expected = {(p, n) for p in range(producers) for n in range(per_producer)}
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    stats = q.stats()
    assert stats["pushed"] == stats["popped"] == producers * per_producer
    assert stats["high_water_mark"] <= 64
    assert stats["depth"] == 0


def test_one_consumer_sees_each_producers_lane_in_order() -> None:
    q: PriorityQueue = PriorityQueue(32)
    received: list[tuple[int, int, int]] = []

    def produce(producer: int) -> None:
        for n in range(2000):
            q.push((producer, n % 3, n), n % 3, timeout=WAIT_S)

    def consume() -> None:
        while batch := q.pop_many(8, timeout=WAIT_S):
            received.extend(batch)

    consumer = start(consume)
    producer_threads = [start(lambda p=p: produce(p)) for p in range(3)]
    for thread in producer_threads:
        join(thread)
    q.close()
    join(consumer)

    assert len(received) == 6000
    for producer in range(3):
        for lane in range(3):
            sequence = [n for p, ln, n in received if p == producer and ln == lane]
            assert sequence == sorted(sequence)


@pytest.mark.timeout(60)
def test_pop_many_releases_the_gil_while_it_waits(queue: PriorityQueue) -> None:
    consumer = start(lambda: queue.pop_many(1, timeout=WAIT_S))
    wait_until(lambda: queue.stats()["waiting_consumers"] == 1)

    # 2000 hand-offs between two Python threads while the consumer waits: with the GIL held
    # through its waits each hand-off would stall for a wait slice, and this would not finish.
    ping, pong = threading.Event(), threading.Event()
    rounds = 2000

    def responder() -> None:
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            pong.set()

    other = start(responder)
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    join(other)

    assert consumer.is_alive()  # still blocked in C the whole time
    queue.push("done")
    join(consumer)


def test_a_signal_interrupts_a_blocked_pop_many_in_the_main_thread(queue: PriorityQueue) -> None:
    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, handler)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        with pytest.raises(Interrupted):
            queue.pop_many(1)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)


def test_references_are_released_on_every_path() -> None:
    item = object()
    before = sys.getrefcount(item)
    q: PriorityQueue = PriorityQueue(3)

    for _ in range(100):
        q.push(item, 1)
        q.push_many([(2, item), (3, item)])
        with pytest.raises(Full):
            q.push(item)
        with pytest.raises(Full):
            q.push(item, timeout=0.0001)
        with pytest.raises(Full):
            q.push_many([(1, item)])
        assert q.pop_many(2) == [item, item]
        assert q.drain() == [item]
    assert sys.getrefcount(item) == before

    q.push_many([(1, item), (2, item)])
    assert sys.getrefcount(item) == before + 2
    q.close()
    with pytest.raises(Closed):
        q.push(item)
    del q  # a queue dropped with items in it releases them
    assert sys.getrefcount(item) == before


def test_a_push_pop_loop_does_not_grow_memory() -> None:
    q: PriorityQueue = PriorityQueue(1024)
    payload = "x" * 100

    def cycle() -> None:
        for _ in range(200):
            q.push_many([(i % 10, payload) for i in range(50)])
            q.pop_many(1000)

    cycle()
    tracemalloc.start()
    try:
        cycle()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(5):
            cycle()
        last, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last - first < 64 * 1024


def test_the_gc_collects_a_queue_that_holds_a_cycle_through_itself() -> None:
    class Holder:
        queue: PriorityQueue

    q: PriorityQueue = PriorityQueue(4)
    holder = Holder()
    holder.queue = q
    q.push(holder)
    queue_ref, holder_ref = weakref.ref(q), weakref.ref(holder)
    del q, holder

    gc.collect()

    assert queue_ref() is None
    assert holder_ref() is None


def test_the_gc_sees_items_held_by_the_queue() -> None:
    q: PriorityQueue = PriorityQueue(4)
    item: list[object] = []
    q.push(item)

    assert item in gc.get_referents(q)


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((0,), {}, ValueError),
        ((-1,), {}, ValueError),
        (("8",), {}, TypeError),
        ((8.0,), {}, TypeError),
        ((8,), {"lanes": 0}, ValueError),
        ((8,), {"lanes": 65}, ValueError),
        ((), {}, TypeError),
        ((8,), {"size": 3}, TypeError),
    ],
)
def test_bad_constructor_arguments(args: tuple, kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        PriorityQueue(*args, **kwargs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda q: q.push("x", 10), ValueError),
        (lambda q: q.push("x", -1), ValueError),
        (lambda q: q.push("x", 2**100), ValueError),
        (lambda q: q.push("x", "1"), TypeError),
        (lambda q: q.push("x", 1.0), TypeError),
        (lambda q: q.push("x", timeout=-1), ValueError),
        (lambda q: q.push("x", timeout=float("nan")), ValueError),
        (lambda q: q.push("x", timeout="1"), TypeError),
        (lambda q: q.push(), TypeError),
        (lambda q: q.push("x", 1, 1, 1), TypeError),
        (lambda q: q.push("x", urgency=1), TypeError),
        (lambda q: q.push("x", 1, priority=1), TypeError),
        (lambda q: q.push_many(5), TypeError),
        (lambda q: q.push_many([1]), TypeError),
        (lambda q: q.pop_many(0), ValueError),
        (lambda q: q.pop_many(1.5), TypeError),
        (lambda q: q.pop_many(), TypeError),
        (lambda q: q.pop_many(1, timeout=-0.5), ValueError),
    ],
)
def test_bad_arguments(queue: PriorityQueue, call: Callable, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(queue)
    assert len(queue) == 0


def test_keyword_arguments(queue: PriorityQueue) -> None:
    queue.push(item="a", priority=2, timeout=None)
    queue.push("b", timeout=0, priority=3)

    assert queue.pop_many(max_items=5, timeout=0) == ["b", "a"]


def test_queues_are_generic_and_weakly_referenceable(queue: PriorityQueue) -> None:
    assert PriorityQueue[int].__origin__ is PriorityQueue
    assert weakref.ref(queue)() is queue
