"""Function output: to the console, prefixed by function, and to CloudWatch Logs as on AWS.

EMF lines (Powertools Metrics) also become CloudWatch metrics, as CloudWatch Logs does on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from localcloud.priority import BACKGROUND_NICENESS, lower_priority

if TYPE_CHECKING:
    from localcloud.runtime.worker import Worker

FLUSH_INTERVAL_S = 0.5
FLUSH_DELAY_S = 0.05  # at most this late on the console, for lines outside an invocation
METRIC_DATA_PER_CALL = 1000  # PutMetricData's limit on MetricData items
SHIPPER_BUFFER_LIMIT = 16 << 20  # bytes queued for the shipper's pipe before lines are dropped


class CloudWatchShipper:
    """Batches log events into CloudWatch Logs (moto locally) from a process of its own.

    boto3 builds and signs each PutLogEvents call in Python; done in the local cloud's process
    it would hold the GIL for milliseconds at a time and show up in every request's p99. Here
    the LogRouter hands over a loop turn's lines at once, written to the shipper's pipe without
    blocking: no thread of ours competes with the gateway for the GIL.
    """

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._proc: asyncio.subprocess.Process | None = None
        self.dropped = 0  # lines not shipped because the shipper fell behind or died

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "localcloud.runtime.logs",
            self.endpoint_url,
            self.region,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    @staticmethod
    def entry(group: str, stream: str, message: str) -> str:
        """One log event as the shipper reads it: a JSON line."""
        return json.dumps([group, stream, int(time.time() * 1000), message])

    def send(self, lines: list[str]) -> None:
        """Entries made by `entry`, in one non-blocking write."""
        stdin = self._proc.stdin if self._proc else None
        if stdin is None or stdin.is_closing():
            self.dropped += len(lines)
            return
        if stdin.transport.get_write_buffer_size() > SHIPPER_BUFFER_LIMIT:
            self.dropped += len(lines)  # logs must never hold up requests or fill memory
            return
        stdin.write(("\n".join(lines) + "\n").encode())

    async def close(self, timeout_s: float = 3.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
            await asyncio.wait_for(proc.stdin.wait_closed(), timeout_s)
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def ship(endpoint_url: str, region: str, fd: int) -> None:
    """The shipper process: JSON lines on `fd`, PutLogEvents (and PutMetricData for EMF lines)
    every FLUSH_INTERVAL_S, until EOF."""
    from localcloud.aws_endpoint import aws_client
    from localcloud.runtime.emf import aggregate, metric_data

    client = aws_client("logs", endpoint_url, region, validate=False)
    cloudwatch = aws_client("cloudwatch", endpoint_url, region, validate=False)
    known: set[tuple[str, str]] = set()
    batch: dict[tuple[str, str], list[dict[str, Any]]] = {}
    metrics: dict[str, list[dict[str, Any]]] = {}
    pending = b""  # a line not yet complete
    done = False
    while not done:
        # Read what arrives until the flush is due: whole chunks, no thread or queue per line.
        deadline = time.monotonic() + FLUSH_INTERVAL_S
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                break
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                done = True
                break
            *complete, pending = (pending + chunk).split(b"\n")
            for raw in complete:
                group, stream, ts, message = json.loads(raw)
                if not message:
                    continue  # PutLogEvents refuses an empty event, and with it the batch
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
            packed = aggregate(data)
            for i in range(0, len(packed), METRIC_DATA_PER_CALL):
                with contextlib.suppress(Exception):
                    chunk_data = packed[i : i + METRIC_DATA_PER_CALL]
                    cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk_data)
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
        # Lines wait for the invocation's REPORT (Worker flushes then, after the client has its
        # answer) or FLUSH_DELAY_S for lines outside an invocation: one console write and one
        # shipper write per invocation, none of them on the request's critical path.
        self._console_pending: list[str] = []
        self._shipper_pending: list[str] = []
        self._flush_timer: asyncio.TimerHandle | None = None

    def write(self, worker: Worker, message: str) -> None:
        name = worker.fn.function_name
        # The runtime joins a multi-line record (a traceback) with \r so it stays one event.
        message = message.replace("\r", "\n")
        if self.console is not None:
            prefix = f"[{name}] "
            self._console_pending.append(prefix + message.replace("\n", "\n" + prefix) + "\n")
        if self.shipper is not None:
            entry = self.shipper.entry(f"/aws/lambda/{name}", worker.log_stream, message)
            self._shipper_pending.append(entry)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        text, self._console_pending = "".join(self._console_pending), []
        if self.console is not None and text:
            self.console.write(text)
            self.console.flush()
        lines, self._shipper_pending = self._shipper_pending, []
        if self.shipper is not None and lines:
            self.shipper.send(lines)


if __name__ == "__main__":
    lower_priority(BACKGROUND_NICENESS)
    ship(sys.argv[1], sys.argv[2], sys.stdin.fileno())
