"""Busy-polling the event loop while Lambda invocations are in flight.

A request crosses several processes (gateway, worker, Postgres). On virtual machines a CPU that
goes idle between those hops can take hundreds of microseconds to wake again, which tripled the
warm latency of GET /v1/health here. Polling without sleeping for a moment while an
invocation is outstanding keeps the loop's CPU awake: the same trick as Linux's `busy_poll`.
It costs CPU only while a request is in flight, and at most `window_s` per wait — and only
while exactly one is: under concurrent load the loop is rarely idle anyway, and a spinning
gateway would take the CPU the functions need (measured: 25% of the cloud process's samples).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import time
from collections.abc import Iterator

DEFAULT_WINDOW_S = 0.002


class BusyPollSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self.in_flight = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self.in_flight == 1 and (timeout is None or timeout > 0):
            deadline = time.perf_counter() + self.window_s
            while time.perf_counter() < deadline:
                ready = super().select(0)
                if ready:
                    return ready
        return super().select(timeout)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A loop that busy-polls while invocations are in flight (EVENTSTREAM_BUSY_POLL=0: off)."""
    if os.environ.get("EVENTSTREAM_BUSY_POLL", "1") == "0":
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(BusyPollSelector())


@contextlib.contextmanager
def in_flight() -> Iterator[None]:
    """Mark an invocation outstanding on the running loop's selector, if it busy-polls."""
    selector = getattr(asyncio.get_running_loop(), "_selector", None)
    if not isinstance(selector, BusyPollSelector):
        yield
        return
    selector.in_flight += 1
    try:
        yield
    finally:
        selector.in_flight -= 1
