"""One execution environment: a process running AWS's `awslambdaric` against our Runtime API."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from eventstream.observability.trace_header import parse_trace_header
from localcloud.invoke import InvokeResult, ResultCallback
from localcloud.runtime.logs import LogRouter
from localcloud.runtime.runtime_api import InitError, Invocation, RuntimeApi, error_document
from localcloud.spec import FunctionSpec

MEMORY_POLL_S = 0.02  # how often a running invocation's RSS is checked against MemorySize
OUTPUT_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None
    trace_id: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        # Since August 2025 AWS bills the init phase of on-demand functions too, per 1 ms.
        return math.ceil(self.duration_ms + (self.init_duration_ms or 0.0))

    def line(self) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            parts.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        line = "\t".join(parts)
        if self.trace_id:
            line += f"\t\nXRAY TraceId: {self.trace_id}\tSampled: true"
        return line


class Worker:
    """Started on a cold start, reused while warm, killed on timeout, OOM or crash."""

    def __init__(
        self, fn: FunctionSpec, function_arn: str, env: dict[str, str], logs: LogRouter
    ) -> None:
        self.fn = fn
        self.function_arn = function_arn
        self.env = env
        self.logs = logs
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.proc: asyncio.subprocess.Process | None = None
        self.api = RuntimeApi(self._on_ready, self._on_init_error)
        self._ready: asyncio.Future[InitError | None] | None = None
        self._spawned_at = 0.0
        self.init_duration_ms: float | None = None
        self._reported_init = False
        self._current: Invocation | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._memory_check: asyncio.TimerHandle | None = None
        self._death: str | None = None  # why the process is gone, in Lambda's words
        self.invocation_log: list[str] = []  # this invocation's lines, for `LogType: Tail`

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self._death is None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        await self.api.start()
        env = {**self.env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.api.port}"}
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream
        self._spawned_at = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "localcloud.runtime.lambda_python",  # awslambdaric, with Lambda's set of packages
            self.fn.handler,
            cwd=self.fn.code_dir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # so a kill takes the handler's own children too
            limit=OUTPUT_LINE_LIMIT,
        )
        self._tasks = [
            asyncio.create_task(self._pump_output()),
            asyncio.create_task(self._watch_exit()),
        ]

    async def wait_ready(self) -> InitError | None:
        """Until the runtime asks for its first event (init done) or reports an init error."""
        assert self._ready is not None
        return await self._ready

    def _on_ready(self) -> None:
        self.init_duration_ms = (time.perf_counter() - self._spawned_at) * 1000
        if self._ready and not self._ready.done():
            self._ready.set_result(None)

    def _on_init_error(self, error: InitError) -> None:
        self.init_duration_ms = (time.perf_counter() - self._spawned_at) * 1000
        if self._ready and not self._ready.done():
            self._ready.set_result(error)

    async def invoke(
        self,
        payload: bytes,
        request_id: str,
        trace_header: str | None,
        on_result: ResultCallback | None = None,
    ) -> tuple[InvokeResult, asyncio.Future[Report], list[str]]:
        """Run one invocation; returns its result, its REPORT (settled just after) and log lines.

        The result goes to `on_result` at once. The runtime's 202 and END and REPORT follow on
        the next loop turn, so a caller woken by `on_result` answers its client first: the
        runtime's next /next, reading /proc and logging stay off the request's critical path.
        """
        fn = self.fn
        started = time.perf_counter()
        inv = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int((time.time() + fn.timeout_s) * 1000),
            function_arn=self.function_arn,
            trace_header=trace_header,
        )
        self._current = inv
        lines = self.invocation_log = []
        self.api.submit(inv)
        # After the submit, so the worker starts sooner; still before any line the function
        # prints, which can only arrive through the output pipe on a later loop turn.
        self.log(f"START RequestId: {request_id} Version: $LATEST")
        # A timer, not a task: most invocations end before its first look.
        self._memory_check = asyncio.get_running_loop().call_later(
            MEMORY_POLL_S, self._check_memory, inv
        )
        peak_mb: int | None = None
        try:
            async with asyncio.timeout(fn.timeout_s):
                ok, body = await inv.outcome
            status = "ok" if ok else "error"
        except TimeoutError:
            status = "timeout"
            peak_mb = self.max_memory_used_mb()  # read before the kill takes /proc with it
            message = f"Task timed out after {fn.timeout_s:.2f} seconds"
            self.log(f"{_iso_now()} {request_id} {message}")
            body = error_document(f"RequestId: {request_id} Error: {message}", "Sandbox.Timedout")
            self._death = "timeout"
            await self.kill()
        finally:
            if self._memory_check is not None:
                self._memory_check.cancel()
            self._current = None
        duration_ms = (time.perf_counter() - started) * 1000
        if self._death == "oom":
            peak_mb = fn.memory_mb
        init = None
        if not self._reported_init:
            init, self._reported_init = self.init_duration_ms, True
        result = InvokeResult(
            status=status,  # type: ignore[arg-type]
            payload=body,
            request_id=request_id,
            duration_ms=duration_ms,
        )
        if on_result is not None:
            on_result(result)
        loop = asyncio.get_running_loop()
        report: asyncio.Future[Report] = loop.create_future()
        loop.call_soon(self.api.acknowledge)
        loop.call_soon(
            self._report, report, lines, request_id, duration_ms, peak_mb, init, trace_header
        )
        return result, report, lines

    def _report(
        self,
        report: asyncio.Future[Report],
        lines: list[str],
        request_id: str,
        duration_ms: float,
        peak_mb: int | None,
        init_duration_ms: float | None,
        trace_header: str | None,
    ) -> None:
        traced = self.fn.tracing_active
        done = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            memory_size_mb=self.fn.memory_mb,
            max_memory_used_mb=self.max_memory_used_mb() if peak_mb is None else peak_mb,
            init_duration_ms=init_duration_ms,
            trace_id=parse_trace_header(trace_header).get("Root") if traced else None,
        )
        for message in (f"END RequestId: {request_id}", done.line()):
            lines.append(message)
            self.logs.write(self, message)
        self.logs.flush()  # the invocation's lines in one write each to console and shipper
        report.set_result(done)

    def log(self, message: str) -> None:
        self.invocation_log.append(message)
        self.logs.write(self, message)

    def max_memory_used_mb(self) -> int:
        """Peak resident memory of the environment, as Lambda reports it."""
        kb = _proc_status_kb(self.proc.pid if self.proc else 0, "VmHWM")
        return max(1, round(kb / 1024)) if kb else 0

    def _check_memory(self, inv: Invocation) -> None:
        if inv.outcome.done() or self.proc is None:
            return
        if _proc_status_kb(self.proc.pid, "VmRSS") <= self.fn.memory_mb * 1024:
            self._memory_check = asyncio.get_running_loop().call_later(
                MEMORY_POLL_S, self._check_memory, inv
            )
            return
        self._death = "oom"
        # Settle the outcome first: the exit watcher would call it a plain crash.
        message = f"RequestId: {inv.request_id} Error: Runtime exited with error: signal: killed"
        inv.outcome.set_result((False, error_document(message, "Runtime.OutOfMemory")))
        self._tasks.append(asyncio.get_running_loop().create_task(self.kill()))

    async def _pump_output(self) -> None:
        """The function's output, line by line, read in whatever chunks arrive: one wake-up for
        the lines an invocation writes together, not one per line."""
        assert self.proc
        assert self.proc.stdout
        pending = b""
        while True:
            chunk = await self.proc.stdout.read(OUTPUT_LINE_LIMIT)
            if not chunk:
                if pending:
                    self.log(pending.decode(errors="replace"))
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                # A line can end past the limit when its start waited in `pending`.
                while len(line) > OUTPUT_LINE_LIMIT:
                    self.log(line[:OUTPUT_LINE_LIMIT].decode(errors="replace"))
                    line = line[OUTPUT_LINE_LIMIT:]
                self.log(line.decode(errors="replace"))
            while len(pending) >= OUTPUT_LINE_LIMIT:  # a line that long is taken in pieces
                self.log(pending[:OUTPUT_LINE_LIMIT].decode(errors="replace"))
                pending = pending[OUTPUT_LINE_LIMIT:]

    async def _watch_exit(self) -> None:
        assert self.proc
        code = await self.proc.wait()
        reason = f"signal: {_signal_text(-code)}" if code < 0 else f"exit status {code}"
        if self._ready and not self._ready.done():
            # Died before asking for work and without an init error: report it as Lambda does.
            self._ready.set_result(
                InitError(
                    body=error_document(
                        f"Runtime exited with error: {reason}", "Runtime.ExitError"
                    ),
                    error_type="Runtime.ExitError",
                )
            )
        inv = self._current
        if inv is not None and not inv.outcome.done():
            inv.outcome.set_result(
                (
                    False,
                    error_document(
                        f"RequestId: {inv.request_id} Error: Runtime exited with error: {reason}",
                        "Runtime.ExitError",
                    ),
                )
            )

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    async def close(self) -> None:
        await self.kill()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 1.0)
        await self.api.stop()


def _signal_text(signum: int) -> str:
    """Signal names as Lambda's Go runtime prints them ("signal: killed")."""
    known = {
        signal.SIGKILL: "killed",
        signal.SIGSEGV: "segmentation fault",
        signal.SIGTERM: "terminated",
        signal.SIGABRT: "aborted",
    }
    return known.get(signum, f"signal {signum}")


def _proc_status_kb(pid: int, field: str) -> int:
    """One field (kB) of /proc/<pid>/status; read as bytes, since it is read at every REPORT."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        try:
            status = os.read(fd, 8192)
        finally:
            os.close(fd)
        start = status.index(field.encode() + b":") + len(field) + 1
        return int(status[start : status.index(b"kB", start)])
    except (OSError, ValueError):
        return 0


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
