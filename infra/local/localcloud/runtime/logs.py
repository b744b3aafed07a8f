"""Function output: to the console, prefixed by function, and to CloudWatch Logs as on AWS.

EMF lines (Powertools Metrics) also become CloudWatch metrics, as CloudWatch Logs does on AWS.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from localcloud.runtime.worker import Worker

FLUSH_INTERVAL_S = 0.5
METRIC_DATA_PER_CALL = 1000  # PutMetricData's limit on MetricData items


class CloudWatchShipper:
    """Batches log events into CloudWatch Logs (moto locally) from a process of its own.

    boto3 builds and signs each PutLogEvents call in Python; done in the local cloud's process
    it would hold the GIL for milliseconds at a time and show up in every request's p99. Here
    the event loop only appends to a queue; a thread writes lines to the shipper's pipe.
    """

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "localcloud.runtime.logs", endpoint_url, region],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._feed, name="cloudwatch-logs", daemon=True)
        self._thread.start()

    def put(self, group: str, stream: str, message: str) -> None:
        self._queue.put(json.dumps([group, stream, int(time.time() * 1000), message]))

    def close(self, timeout_s: float = 3.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)
        try:
            self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _feed(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while True:
                item = self._queue.get()
                lines = []
                while item is not None:
                    lines.append(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if lines:
                    stdin.write(("\n".join(lines) + "\n").encode())
                    stdin.flush()
                if item is None:
                    return
        except OSError:
            pass  # the shipper died: logs stay on the console, requests go on
        finally:
            with contextlib.suppress(OSError):
                stdin.close()


def ship(endpoint_url: str, region: str, lines: Iterable[bytes]) -> None:
    """The shipper process: JSON lines on stdin, PutLogEvents (and PutMetricData for EMF lines)
    every FLUSH_INTERVAL_S."""
    from localcloud.aws_endpoint import aws_client
    from localcloud.runtime.emf import metric_data

    client = aws_client("logs", endpoint_url, region)
    cloudwatch = aws_client("cloudwatch", endpoint_url, region)
    known: set[tuple[str, str]] = set()
    batch: dict[tuple[str, str], list[dict[str, Any]]] = {}
    metrics: dict[str, list[dict[str, Any]]] = {}
    incoming: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        for raw in lines:
            incoming.put(raw)
        incoming.put(None)

    threading.Thread(target=read, daemon=True).start()
    done = False
    while not done:
        deadline = time.monotonic() + FLUSH_INTERVAL_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = incoming.get(timeout=left)
            except queue.Empty:
                break
            if raw is None:
                done = True
                break
            group, stream, ts, message = json.loads(raw)
            batch.setdefault((group, stream), []).append({"timestamp": ts, "message": message})
            for namespace, data in metric_data(message, ts).items():
                metrics.setdefault(namespace, []).extend(data)
        for (group, stream), events in batch.items():
            with contextlib.suppress(Exception):  # logs must never take anything down
                if (group, stream) not in known:
                    _ensure(client, group, stream)
                    known.add((group, stream))
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        batch.clear()
        for namespace, data in metrics.items():
            for i in range(0, len(data), METRIC_DATA_PER_CALL):
                with contextlib.suppress(Exception):
                    chunk = data[i : i + METRIC_DATA_PER_CALL]
                    cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
        metrics.clear()


def _ensure(client: Any, group: str, stream: str) -> None:
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_group(logGroupName=group)
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_stream(logGroupName=group, logStreamName=stream)


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


if __name__ == "__main__":
    ship(sys.argv[1], sys.argv[2], sys.stdin.buffer)
