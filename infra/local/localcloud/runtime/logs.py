"""Function output: to the console, prefixed by function, and to CloudWatch Logs as on AWS.

EMF lines (Powertools Metrics) also become CloudWatch metrics, as CloudWatch Logs does on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TYPE_CHECKING, TextIO

from localcloud.runtime.log_delivery import entry

if TYPE_CHECKING:
    from localcloud.runtime.worker import Worker

FLUSH_DELAY_S = 0.05  # at most this late on the console, for lines outside an invocation
SHIPPER_BUFFER_LIMIT = 16 << 20  # bytes queued for the delivery pipe before lines are dropped


class CloudWatchShipper:
    """Hands log lines to CloudWatch Logs: the pipe to moto's delivery thread (`log_delivery`).

    The LogRouter gives it an invocation's lines at once, written without blocking: nothing of
    ours competes with the gateway for the GIL, and a slow reader costs lines, never requests.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd  # the write end; MotoServer owns and closes it
        self._transport: asyncio.WriteTransport | None = None
        self.dropped = 0  # lines not shipped because moto fell behind or is gone

    async def start(self) -> None:
        pipe = open(self._fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 (the transport's)
        self._transport, _ = await asyncio.get_running_loop().connect_write_pipe(
            asyncio.Protocol, pipe
        )

    def send(self, lines: list[str]) -> None:
        """Entries made by `entry`, in one non-blocking write."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self.dropped += len(lines)
            return
        if transport.get_write_buffer_size() > SHIPPER_BUFFER_LIMIT:
            self.dropped += len(lines)  # logs must never hold up requests or fill memory
            return
        transport.write(("\n".join(lines) + "\n").encode())

    async def close(self, timeout_s: float = 3.0) -> None:
        """Let what is buffered reach the pipe (at most `timeout_s`), then let go of it."""
        transport, self._transport = self._transport, None
        if transport is None:
            return
        deadline = time.monotonic() + timeout_s
        while transport.get_write_buffer_size() and not transport.is_closing():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        with contextlib.suppress(OSError):
            transport.close()


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
            self._shipper_pending.append(entry(f"/aws/lambda/{name}", worker.log_stream, message))
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
