"""The Lambda service: one pool of execution environments per function of the template."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field

from localcloud.invoke import InvokeResult, ResultCallback
from localcloud.runtime.lambda_python import HIDDEN_MODULES_ENV
from localcloud.runtime.logs import LogRouter
from localcloud.runtime.packages import LambdaPackages
from localcloud.runtime.runtime_api import error_document
from localcloud.runtime.tracing import LambdaTrace, SegmentSender, unsampled_header
from localcloud.runtime.worker import Report, Worker
from localcloud.sampling import Sampler
from localcloud.spec import FunctionSpec, TemplateSpec

INIT_TIMEOUT_S = 10.0  # Lambda's limit on the init phase of an on-demand function
DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True)
class AwsContext:
    """What every function's environment learns about the (local) AWS around it."""

    region: str
    endpoint_url: str | None  # None: real AWS, credentials from the usual chain
    xray_daemon: str | None = None  # host:port of the X-Ray daemon listener
    credentials: dict[str, str] = field(
        default_factory=lambda: {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
    )


@dataclass(frozen=True)
class Invocation:
    result: InvokeResult
    report: asyncio.Future[Report] | None  # None when the function never initialised
    log_lines: list[str]  # complete once `report` is done

    async def finished(self) -> Invocation:
        """Wait for END and REPORT too (they follow the result by one loop turn)."""
        if self.report is not None:
            await self.report
        return self


def function_arn(spec: TemplateSpec, fn: FunctionSpec) -> str:
    return f"arn:aws:lambda:{spec.region}:{spec.account_id}:function:{fn.function_name}"


def function_environment(
    fn: FunctionSpec, aws: AwsContext, hidden_modules: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The environment Lambda gives a function: its own variables, then the reserved ones
    (and, for `lambda_python` alone, the modules the function would not have on AWS)."""
    env = dict(fn.environment)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(str(p) for p in (fn.code_dir, *fn.layer_dirs)),
            "LAMBDA_TASK_ROOT": str(fn.code_dir),
            "_HANDLER": fn.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": aws.region,
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    if aws.endpoint_url:
        env["AWS_ENDPOINT_URL"] = aws.endpoint_url
        env.update(aws.credentials)
    if aws.xray_daemon:
        host, port = aws.xray_daemon.rsplit(":", 1)
        env["AWS_XRAY_DAEMON_ADDRESS"] = aws.xray_daemon
        env["_AWS_XRAY_DAEMON_ADDRESS"] = host
        env["_AWS_XRAY_DAEMON_PORT"] = port
    if hidden_modules:
        env[HIDDEN_MODULES_ENV] = ",".join(sorted(hidden_modules))
    return env


def missing_module_hint(message: str, env: dict[str, str]) -> str:
    """What to do when an init error names a module this machine has but the function may not."""
    match = re.search(r"No module named '([^'.]+)", message)
    if match and match.group(1) in env.get(HIDDEN_MODULES_ENV, "").split(","):
        return (
            f"; {match.group(1)!r} is installed beside the local cloud, but neither Lambda's "
            "runtime nor this function's deployment provides it: add it to pyproject.toml's "
            "dependencies or a requirements.txt"
        )
    return ""


class FunctionPool:
    """Warm environments of one function, grown on demand up to its concurrency limit.

    Invocations beyond the limit wait for a free environment instead of failing, so a burst
    from tests or a browser is served; AWS would throttle it with a 429 once reserved
    concurrency is exhausted.
    """

    def __init__(
        self,
        fn: FunctionSpec,
        arn: str,
        env: dict[str, str],
        logs: LogRouter,
        concurrency: int,
        sampler: Sampler | None = None,
    ) -> None:
        self.fn = fn
        self.sampler = sampler  # for invocations whose caller made no sampling decision
        self.arn = arn
        self.env = env
        self.logs = logs
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._idle: list[Worker] = []  # most recently used last: reuse the warmest
        self.workers: set[Worker] = set()
        self.cold_starts = 0
        self.invocations = 0
        self.peak_workers = 0
        self.busy = 0
        daemon = env.get("AWS_XRAY_DAEMON_ADDRESS")
        self._segments = SegmentSender(daemon) if fn.tracing_active and daemon else None

    def stats(self) -> dict[str, object]:
        return {
            "function_name": self.fn.function_name,
            "concurrency_limit": self.concurrency,
            "workers": len(self.workers),
            "idle": len(self._idle),
            "busy": self.busy,
            "peak_workers": self.peak_workers,
            "cold_starts": self.cold_starts,
            "invocations": self.invocations,
            "worker_pids": sorted(w.proc.pid for w in self.workers if w.proc),
        }

    async def invoke(
        self, payload: bytes, trace_header: str | None, on_result: ResultCallback | None = None
    ) -> Invocation:
        request_id = str(uuid.uuid4())
        async with self._slots:
            self.busy += 1
            try:
                return await self._invoke(payload, request_id, trace_header, on_result)
            finally:
                self.busy -= 1

    async def _invoke(
        self,
        payload: bytes,
        request_id: str,
        trace_header: str | None,
        on_result: ResultCallback | None,
    ) -> Invocation:
        self.invocations += 1
        trace = (
            LambdaTrace.begin(trace_header, time.time(), self.sampler) if self._segments else None
        )
        init_started = time.time()
        worker = self._idle.pop() if self._idle else None
        init = None
        if worker is None:
            worker, failure = await self._cold_start(request_id)
            if failure is not None:
                return failure
            init = (init_started, time.time())
        started = time.time()
        if trace is not None:
            header: str | None = trace.function_header()
        elif self._segments is not None:  # traced function, invocation not sampled
            header = unsampled_header(trace_header, started)
        else:
            header = trace_header
        result, report, lines = await worker.invoke(payload, request_id, header, on_result)
        if trace is not None and self._segments is not None:
            self._segments.send(
                trace.segments(
                    function_name=self.fn.function_name,
                    function_arn=self.arn,
                    request_id=request_id,
                    started=started,
                    ended=time.time(),
                    ok=result.ok,
                    init=init,
                )
            )
        if worker.alive:
            self._idle.append(worker)
        else:
            await self._retire(worker)
        return Invocation(result=result, report=report, log_lines=lines)

    async def _cold_start(self, request_id: str) -> tuple[Worker, Invocation | None]:
        self.cold_starts += 1
        worker = Worker(self.fn, self.arn, self.env, self.logs)
        self.workers.add(worker)
        self.peak_workers = max(self.peak_workers, len(self.workers))
        started = time.perf_counter()
        await worker.start()
        try:
            init_error = await asyncio.wait_for(worker.wait_ready(), INIT_TIMEOUT_S)
        except TimeoutError:
            init_error_body = error_document(
                f"RequestId: {request_id} Error: Init phase timed out after "
                f"{INIT_TIMEOUT_S:.0f} seconds",
                "Runtime.InitTimeout",
            )
        else:
            if init_error is None:
                return worker, None
            init_error_body = init_error.body
        duration = (time.perf_counter() - started) * 1000
        error = json.loads(init_error_body or b"{}")
        error_type = error.get("errorType", "Runtime.Unknown")
        worker.log(
            f"INIT_REPORT Init Duration: {duration:.2f} ms\tPhase: init\tStatus: error\t"
            f"Error Type: {error_type}"
        )
        # One line that says what to fix, above the runtime's own report.
        worker.log(
            f"error: {self.fn.logical_id} ({self.fn.handler}) failed to start: "
            f"{error.get('errorMessage', 'no message')} [{error_type}]"
            f"{missing_module_hint(error.get('errorMessage', ''), self.env)}"
        )
        self.logs.flush()  # the failed init's lines, now: no REPORT will flush them
        await self._retire(worker)
        result = InvokeResult(
            status="error", payload=init_error_body, request_id=request_id, duration_ms=duration
        )
        return worker, Invocation(result=result, report=None, log_lines=list(worker.invocation_log))

    async def _retire(self, worker: Worker) -> None:
        self.workers.discard(worker)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        await worker.close()

    async def prewarm(self) -> None:
        """Start one environment ahead of the first request (like provisioned concurrency)."""
        if self.workers:
            return
        worker = Worker(self.fn, self.arn, self.env, self.logs)
        self.workers.add(worker)
        await worker.start()
        if await worker.wait_ready() is None:
            self.cold_starts += 1
            self.peak_workers = max(self.peak_workers, 1)
            self._idle.append(worker)
        else:
            await self._retire(worker)

    async def close(self) -> None:
        await asyncio.gather(*(w.close() for w in list(self.workers)), return_exceptions=True)
        self.workers.clear()
        self._idle.clear()


class LambdaEmulator:
    """Implements `Invoker` for the gateway, and backs the Lambda Invoke API."""

    def __init__(
        self,
        spec: TemplateSpec,
        aws: AwsContext,
        logs: LogRouter,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        packages: LambdaPackages | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self.spec = spec
        self.pools: dict[str, FunctionPool] = {}
        self._by_name: dict[str, FunctionPool] = {}
        for logical_id, fn in spec.functions.items():
            arn = function_arn(spec, fn)
            pool = FunctionPool(
                fn,
                arn,
                function_environment(
                    fn,
                    aws,
                    packages.hidden_for((fn.code_dir, *fn.layer_dirs)) if packages else frozenset(),
                ),
                logs,
                fn.reserved_concurrency or default_concurrency,
                sampler,
            )
            self.pools[logical_id] = pool
            for key in (logical_id, fn.function_name, arn):
                self._by_name[key] = pool

    def find(self, name_or_arn: str) -> FunctionPool | None:
        """A function by logical id, name or ARN (qualifier `:$LATEST` allowed)."""
        return self._by_name.get(name_or_arn.removesuffix(":$LATEST"))

    async def invoke(
        self,
        function_id: str,
        payload: bytes,
        *,
        trace_header: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> InvokeResult:
        return (await self.invoke_detailed(function_id, payload, trace_header, on_result)).result

    async def invoke_detailed(
        self,
        function_id: str,
        payload: bytes,
        trace_header: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> Invocation:
        pool = self.find(function_id)
        if pool is None:
            raise KeyError(function_id)
        return await pool.invoke(payload, trace_header, on_result)

    async def prewarm(self) -> None:
        await asyncio.gather(*(p.prewarm() for p in self.pools.values()))

    def stats(self) -> dict[str, dict[str, object]]:
        return {lid: pool.stats() for lid, pool in self.pools.items()}

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.pools.values()))
