"""Function output: to the console, prefixed by function, and to CloudWatch Logs as on AWS."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from localcloud.runtime.worker import Worker

FLUSH_INTERVAL_S = 0.5


class CloudWatchShipper:
    """Batches log events into CloudWatch Logs (moto locally) from a thread of its own.

    The event loop only appends to a queue, so a slow or absent endpoint never delays a request.
    """

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._queue: queue.Queue[tuple[str, str, int, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-logs", daemon=True)
        self._known_groups: set[str] = set()
        self._known_streams: set[tuple[str, str]] = set()
        self.errors = 0
        self._thread.start()

    def put(self, group: str, stream: str, message: str) -> None:
        self._queue.put((group, stream, int(time.time() * 1000), message))

    def close(self, timeout_s: float = 2.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        client = self._client_factory()
        done = False
        while not done:
            batch: dict[tuple[str, str], list[dict[str, Any]]] = {}
            deadline = time.monotonic() + FLUSH_INTERVAL_S
            while time.monotonic() < deadline:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                group, stream, ts, message = item
                batch.setdefault((group, stream), []).append({"timestamp": ts, "message": message})
            for (group, stream), events in batch.items():
                try:
                    self._ensure(client, group, stream)
                    client.put_log_events(
                        logGroupName=group, logStreamName=stream, logEvents=events
                    )
                except Exception:
                    self.errors += 1

    def _ensure(self, client: Any, group: str, stream: str) -> None:
        if group not in self._known_groups:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=group)
            self._known_groups.add(group)
        if (group, stream) not in self._known_streams:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known_streams.add((group, stream))


class LogRouter:
    """Where every line a worker prints goes."""

    def __init__(
        self, console: TextIO | None = sys.stdout, shipper: CloudWatchShipper | None = None
    ) -> None:
        self.console = console
        self.shipper = shipper

    def write(self, worker: Worker, message: str) -> None:
        name = worker.fn.function_name
        # The runtime joins a multi-line record (a traceback) with \r so it stays one event.
        message = message.replace("\r", "\n")
        if self.console is not None:
            prefix = f"[{name}] "
            self.console.write(prefix + message.replace("\n", "\n" + prefix) + "\n")
            self.console.flush()
        if self.shipper is not None:
            self.shipper.put(f"/aws/lambda/{name}", worker.log_stream, message)
