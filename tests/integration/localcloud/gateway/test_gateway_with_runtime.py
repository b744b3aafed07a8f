"""The gateway in front of the real Lambda runtime emulator (awslambdaric workers), in-process."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Awaitable, Callable

import aiohttp
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from localcloud.gateway.server import GatewayServer
from localcloud.runtime.emulator import AwsContext, LambdaEmulator
from localcloud.runtime.logs import LogRouter
from localcloud.spec import (
    ApiEvent,
    ApiSpec,
    AuthorizerSpec,
    FunctionSpec,
    RouteAuth,
    TemplateSpec,
)
from tests.support import FIXTURES


def fn(logical_id: str, code: str, *events: ApiEvent) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        function_name=f"test-{logical_id}",
        handler="app.handler",
        code_dir=FIXTURES / "functions" / code,
        layer_dirs=(),
        runtime="python3.11",
        timeout_s=5.0,
        memory_mb=256,
        environment={},
        events=events,
    )


def get(path: str, method: str = "GET", authorizer: str | None = None) -> ApiEvent:
    return ApiEvent("Api", path, method, RouteAuth(authorizer=authorizer))


FUNCTIONS = [
    fn(
        "Echo",
        "echo",
        get("/echo/{proxy+}", "ANY"),
        get("/protected", authorizer="Token"),
    ),
    fn("Crash", "crash", get("/crash")),
    fn("BadResponse", "bad_response", get("/bad")),
    fn("Auth", "authorizer"),
]
SPEC = TemplateSpec(
    stack_name="stack",
    region="us-east-1",
    account_id="123456789012",
    parameters={},
    functions={f.logical_id: f for f in FUNCTIONS},
    apis={
        "Api": ApiSpec(
            logical_id="Api",
            stage_name="test",
            authorizers={"Token": AuthorizerSpec(name="Token", function_id="Auth", type="TOKEN")},
            binary_media_types=("application/octet-stream",),
        )
    },
    secrets={},
)


def run(test: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        emulator = LambdaEmulator(SPEC, AwsContext("us-east-1", None), LogRouter(io.StringIO()))
        gateway = GatewayServer(SPEC, emulator, port=0)
        await gateway.start()
        try:
            async with aiohttp.ClientSession(base_url=gateway.url) as client:
                await asyncio.wait_for(test(client), 60)
        finally:
            await gateway.stop()
            await emulator.close()

    asyncio.run(main())


def test_events_reach_real_workers_and_responses_come_back() -> None:
    async def scenario(client: aiohttp.ClientSession) -> None:
        resp = await client.post("/echo/a/b?x=1", json={"k": "v"})
        assert resp.status == 200, await resp.text()
        event = (await resp.json())["event"]
        APIGatewayProxyEventModel.model_validate(event)
        assert event["pathParameters"] == {"proxy": "a/b"}
        raw = bytes(range(256))
        resp = await client.put(
            "/echo/bin", data=raw, headers={"Content-Type": "application/octet-stream"}
        )
        event = (await resp.json())["event"]
        assert base64.b64decode(event["body"]) == raw

        assert (await client.get("/crash?raise=1")).status == 502
        assert (await client.get("/bad")).status == 502

    run(scenario)


def test_token_authorizer_through_a_real_worker() -> None:
    async def scenario(client: aiohttp.ClientSession) -> None:
        assert (await client.get("/protected")).status == 401
        nope = await client.get("/protected", headers={"Authorization": "Bearer nope"})
        assert nope.status == 401  # the function raised Exception("Unauthorized")
        deny = await client.get("/protected", headers={"Authorization": "Bearer deny"})
        assert deny.status == 403
        allow = await client.get("/protected", headers={"Authorization": "Bearer allow"})
        assert allow.status == 200, await allow.text()
        authorizer = (await allow.json())["event"]["requestContext"]["authorizer"]
        assert authorizer["principalId"] == "user-allow"
        assert authorizer["admin"] == "false"  # context values arrive as strings
        assert authorizer["authorizer_pid"].isdigit()

    run(scenario)
