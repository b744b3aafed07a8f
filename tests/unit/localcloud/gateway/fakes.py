"""Test doubles for the gateway: a canned Invoker, template builders, a running server."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from localcloud.gateway.handler import MAX_BODY_BYTES, GatewayHandler
from localcloud.gateway.http_server import HttpServer
from localcloud.gateway.server import GatewayServer
from localcloud.invoke import InvokeResult, ResultCallback
from localcloud.spec import (
    ApiEvent,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    RouteAuth,
    TemplateSpec,
    ThrottleSpec,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"

Handler = Callable[[dict[str, Any]], "InvokeResult | dict[str, Any] | Awaitable[Any]"]


def ok(document: Any) -> InvokeResult:
    return InvokeResult("ok", json.dumps(document).encode(), str(uuid.uuid4()), 1.0)


def raw_ok(payload: bytes) -> InvokeResult:
    return InvokeResult("ok", payload, str(uuid.uuid4()), 1.0)


def failed(message: str = "boom", error_type: str = "RuntimeError") -> InvokeResult:
    doc = {"errorMessage": message, "errorType": error_type, "stackTrace": []}
    return InvokeResult("error", json.dumps(doc).encode(), str(uuid.uuid4()), 1.0)


def timed_out() -> InvokeResult:
    doc = {"errorMessage": "Task timed out after 2.00 seconds", "errorType": "Sandbox.Timedout"}
    return InvokeResult("timeout", json.dumps(doc).encode(), str(uuid.uuid4()), 2000.0)


def echo(event: dict[str, Any]) -> dict[str, Any]:
    """A proxy function answering with the event it received."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"event": event}),
    }


@dataclass
class Call:
    function_id: str
    event: dict[str, Any]
    trace_header: str | None


@dataclass
class FakeInvoker:
    """Answers per function id with a handler: a dict is a proxy response, or an InvokeResult."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    default: Handler = echo
    calls: list[Call] = field(default_factory=list)
    early: bool = True  # hand the result to on_result, as the emulator does
    after_result: Callable[[], Awaitable[None]] | None = None  # the invoker's bookkeeping

    async def invoke(
        self,
        function_id: str,
        payload: bytes,
        *,
        trace_header: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> InvokeResult:
        event = json.loads(payload)
        self.calls.append(Call(function_id, event, trace_header))
        out = self.handlers.get(function_id, self.default)(event)
        if inspect.isawaitable(out):
            out = await out
        result = out if isinstance(out, InvokeResult) else ok(out)
        if self.early and on_result is not None:
            on_result(result)
        if self.after_result is not None:
            await self.after_result()
        return result

    def calls_to(self, function_id: str) -> list[Call]:
        return [c for c in self.calls if c.function_id == function_id]


def route(
    path: str,
    method: str = "GET",
    *,
    api: str = "Api",
    authorizer: str | None = None,
    api_key: bool = False,
) -> ApiEvent:
    return ApiEvent(
        api_id=api,
        path=path,
        method=method,
        auth=RouteAuth(authorizer=authorizer, api_key_required=api_key),
    )


def function(logical_id: str, *events: ApiEvent) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        function_name=f"stack-{logical_id}",
        handler="app.handler",
        code_dir=Path("."),
        layer_dirs=(),
        runtime="python3.11",
        timeout_s=3.0,
        memory_mb=128,
        environment={},
        events=events,
    )


def api(
    logical_id: str = "Api",
    *,
    stage: str = "dev",
    authorizers: tuple[AuthorizerSpec, ...] = (),
    cors: CorsSpec | None = None,
    throttle: ThrottleSpec | None = None,
    variables: dict[str, str] | None = None,
    binary: tuple[str, ...] = (),
) -> ApiSpec:
    return ApiSpec(
        logical_id=logical_id,
        stage_name=stage,
        authorizers={a.name: a for a in authorizers},
        cors=cors,
        usage_plan_throttle=throttle,
        variables=variables or {},
        binary_media_types=binary,
    )


def template(functions: list[FunctionSpec], apis: list[ApiSpec] | None = None) -> TemplateSpec:
    apis = apis if apis is not None else [api()]
    return TemplateSpec(
        stack_name="stack",
        region=REGION,
        account_id=ACCOUNT,
        parameters={},
        functions={f.logical_id: f for f in functions},
        apis={a.logical_id: a for a in apis},
        secrets={},
    )


@asynccontextmanager
async def running(
    spec: TemplateSpec, invoker: FakeInvoker, **kwargs: Any
) -> AsyncIterator[tuple[GatewayServer, aiohttp.ClientSession]]:
    """A real gateway on a free port and a client session pointed at it."""
    server = GatewayServer(spec, invoker, port=0, **kwargs)
    await server.start()
    try:
        async with aiohttp.ClientSession(base_url=server.url, auto_decompress=False) as session:
            yield server, session
    finally:
        await server.stop()


async def event_of(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The event an echo function received, from its response."""
    assert resp.status == 200, await resp.text()
    return (await resp.json())["event"]


@asynccontextmanager
async def handler_client(
    spec: TemplateSpec, invoker: FakeInvoker, **handler_kwargs: Any
) -> AsyncIterator[aiohttp.ClientSession]:
    """The bare handler (e.g. with a fake clock) behind the gateway's HTTP server, and a client."""
    handler = GatewayHandler(spec, invoker, **handler_kwargs)
    server = HttpServer(handler.handle, max_body_bytes=MAX_BODY_BYTES)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server.port}") as session:
            yield session
    finally:
        await server.stop()
        await handler.close()


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
