"""The gateway over real HTTP: AWS's error answers, API keys, throttling, binary, concurrency."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

import aiohttp
import pytest

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.server import GatewayServer
from localcloud.spec import ThrottleSpec
from tests.unit.localcloud.gateway.fakes import (
    FakeInvoker,
    api,
    event_of,
    failed,
    function,
    ok,
    raw_ok,
    route,
    running,
    template,
    timed_out,
)

SPEC = template(
    [
        function("Echo", route("/v1/echo", "ANY"), route("/v1/echo/{proxy+}", "ANY")),
        function("Keyed", route("/v1/keyed", api_key=True)),
        function("Fn", route("/v1/fn", "ANY")),
    ],
    [
        api(
            stage="dev",
            throttle=ThrottleSpec(rate_limit=1.0, burst_limit=3),
            binary=("application/octet-stream", "image/*"),
        )
    ],
)


def answering(result: Any) -> FakeInvoker:
    return FakeInvoker(handlers={"Fn": lambda event: result})


async def expect(
    resp: aiohttp.ClientResponse, status: int, body: Any, error_type: str | None
) -> None:
    assert resp.status == status, await resp.text()
    assert await resp.json() == body
    assert resp.headers.get("x-amzn-ErrorType") == error_type
    assert resp.headers["x-amzn-RequestId"]
    assert resp.headers["x-amz-apigw-id"]
    assert resp.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/v1"),
        ("DELETE", "/v1/keyed"),
        ("GET", "/v1/keyed/x"),
        ("TRACE", "/v1/echo"),
    ],
)
async def test_unknown_route_or_method_is_missing_authentication_token(
    method: str, path: str
) -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (_, client):
        resp = await client.request(method, path)
        await expect(
            resp,
            403,
            {"message": "Missing Authentication Token"},
            "MissingAuthenticationTokenException",
        )
    assert invoker.calls == []


async def test_proxied_response_headers_and_request_id() -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (_, client):
        resp = await client.get("/v1/echo")
        event = await event_of(resp)
    assert resp.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]
    assert resp.headers["x-amz-apigw-id"] == event["requestContext"]["extendedRequestId"]
    assert resp.headers["X-Amzn-Trace-Id"] == event["headers"]["X-Amzn-Trace-Id"]
    assert "x-amzn-ErrorType" not in resp.headers


async def test_function_response_is_mapped() -> None:
    result = ok(
        {
            "statusCode": 201,
            "headers": {"Location": "/v1/x/1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"id": 1}',
        }
    )
    async with running(SPEC, answering(result)) as (_, client):
        resp = await client.post("/v1/fn")
        assert resp.status == 201
        assert resp.headers["Location"] == "/v1/x/1"
        assert resp.headers.getall("Set-Cookie") == ["a=1", "b=2"]
        assert resp.headers["Content-Type"] == "application/json"
        assert await resp.read() == b'{"id": 1}'


@pytest.mark.parametrize(
    "result",
    [
        failed("boom"),
        raw_ok(b"not json"),
        ok({"body": "no status"}),
        ok({"statusCode": 200, "body": {"not": "a string"}}),
        ok(["a", "list"]),
    ],
)
async def test_function_error_or_malformed_response_is_502(result: Any) -> None:
    async with running(SPEC, answering(result)) as (_, client):
        resp = await client.get("/v1/fn")
        await expect(
            resp, 502, {"message": "Internal server error"}, "InternalServerErrorException"
        )


async def test_invoker_exception_is_502() -> None:
    def explode(event: dict[str, Any]) -> Any:
        raise RuntimeError("emulator is down")

    async with running(SPEC, FakeInvoker(handlers={"Fn": explode})) as (_, client):
        resp = await client.get("/v1/fn")
        await expect(
            resp, 502, {"message": "Internal server error"}, "InternalServerErrorException"
        )


async def test_function_timeout_is_504() -> None:
    async with running(SPEC, answering(timed_out())) as (_, client):
        resp = await client.get("/v1/fn")
        await expect(
            resp, 504, {"message": "Endpoint request timed out"}, "InternalServerErrorException"
        )


async def test_integration_timeout_is_504_and_the_invocation_runs_on() -> None:
    finished = asyncio.Event()

    async def slow(event: dict[str, Any]) -> Any:
        await asyncio.sleep(0.3)
        finished.set()
        return {"statusCode": 200}

    async with running(SPEC, FakeInvoker(handlers={"Fn": slow}), integration_timeout_s=0.05) as (
        _,
        client,
    ):
        resp = await client.get("/v1/fn")
        await expect(
            resp, 504, {"message": "Endpoint request timed out"}, "InternalServerErrorException"
        )
        await asyncio.wait_for(finished.wait(), 5)  # not cancelled, as a Lambda runs on


async def test_the_client_is_answered_before_the_invokers_bookkeeping_ends() -> None:
    # The emulator's END/REPORT and the runtime's 202 come after the result: not on the path.
    bookkeeping = asyncio.Event()
    invoker = answering({"statusCode": 201, "body": "made"})
    invoker.after_result = bookkeeping.wait
    async with running(SPEC, invoker) as (_, client):
        resp = await asyncio.wait_for(client.get("/v1/fn"), 5)
        assert (resp.status, await resp.text()) == (201, "made")
        bookkeeping.set()


async def test_an_invoker_that_only_returns_its_result_is_answered_too() -> None:
    invoker = answering({"statusCode": 202, "body": "late"})
    invoker.early = False
    async with running(SPEC, invoker) as (_, client):
        resp = await client.get("/v1/fn")
        assert (resp.status, await resp.text()) == (202, "late")


async def test_bookkeeping_that_fails_after_the_result_is_logged_not_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("report lost")

    invoker = answering({"statusCode": 200, "body": "fine"})
    invoker.after_result = broken
    async with running(SPEC, invoker) as (_, client):
        resp = await client.get("/v1/fn")
        assert (resp.status, await resp.text()) == (200, "fine")
        await asyncio.sleep(0.05)
    assert "report lost" in caplog.text


async def test_slow_invocations_are_cancelled_when_the_gateway_stops() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def forever(event: dict[str, Any]) -> Any:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running(SPEC, FakeInvoker(handlers={"Fn": forever}), integration_timeout_s=0.05) as (
        _,
        client,
    ):
        assert (await client.get("/v1/fn")).status == 504
        assert started.is_set()
        assert not cancelled.is_set()
    assert cancelled.is_set()


async def test_body_over_10_mb_is_413() -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (_, client):
        resp = await client.post("/v1/echo", data=b"x" * (10 * 1024 * 1024 + 1))
        assert resp.status == 413
        assert await resp.json() == {"message": "Request Too Long"}

        async def chunks() -> Any:  # no Content-Length: the limit is found while reading
            for _ in range(11):
                yield b"x" * (1024 * 1024)

        resp = await client.post("/v1/echo", data=chunks())
        assert resp.status == 413
        exactly = await client.post("/v1/echo", data=b"y" * (10 * 1024 * 1024))
        assert exactly.status == 200
    assert len(invoker.calls) == 1


async def test_api_key_required_and_usage_plan_throttle() -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker, api_keys=["key-1", "key-2"]) as (_, client):
        missing = await client.get("/v1/keyed")
        await expect(missing, 403, {"message": "Forbidden"}, "ForbiddenException")
        wrong = await client.get("/v1/keyed", headers={"x-api-key": "nope"})
        await expect(wrong, 403, {"message": "Forbidden"}, "ForbiddenException")
        statuses = [
            (await client.get("/v1/keyed", headers={"X-API-Key": "key-1"})).status for _ in range(5)
        ]
        # Burst 3 at 1 request/s: three pass, the quick ones after are throttled.
        assert statuses[:3] == [200, 200, 200]
        assert 429 in statuses[3:]
        throttled = await client.get("/v1/keyed", headers={"x-api-key": "key-1"})
        await expect(throttled, 429, {"message": "Too Many Requests"}, "TooManyRequestsException")
        # Another key has its own bucket; routes without keys are not throttled.
        assert (await client.get("/v1/keyed", headers={"x-api-key": "key-2"})).status == 200
        assert all([(await client.get("/v1/echo")).status == 200 for _ in range(6)])


async def test_binary_body_round_trip() -> None:
    raw = bytes(range(256)) * 4

    def back(event: dict[str, Any]) -> Any:
        assert event["isBase64Encoded"] is True
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": event["body"],
            "isBase64Encoded": True,
        }

    async with running(SPEC, FakeInvoker(handlers={"Fn": back})) as (_, client):
        binary = {"Content-Type": "application/octet-stream", "Accept": "application/octet-stream"}
        resp = await client.put("/v1/fn", data=raw, headers=binary)
        assert resp.status == 200
        assert await resp.read() == raw
        # The first Accept type is not binary: API Gateway passes the base64 text through.
        text = {"Content-Type": "application/octet-stream", "Accept": "application/json, */*"}
        resp = await client.put("/v1/fn", data=raw, headers=text)
        assert base64.b64decode(await resp.read()) == raw


async def test_bad_base64_while_converting_is_500() -> None:
    result = ok({"statusCode": 200, "body": "%%%", "isBase64Encoded": True})
    async with running(SPEC, answering(result)) as (_, client):
        resp = await client.get("/v1/fn", headers={"Accept": "image/png"})
        await expect(
            resp, 500, {"message": "Internal server error"}, "InternalServerErrorException"
        )


async def test_requests_are_served_concurrently() -> None:
    total = 100
    in_flight = 0
    peak = 0
    everyone_in = asyncio.Event()

    async def gather_all(event: dict[str, Any]) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == total:
            everyone_in.set()
        await asyncio.wait_for(everyone_in.wait(), 10)  # deadlocks unless all are in at once
        in_flight -= 1
        return {"statusCode": 200, "body": "ok"}

    async with running(SPEC, FakeInvoker(handlers={"Fn": gather_all})) as (server, _):
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(base_url=server.url, connector=connector) as client:
            responses = await asyncio.gather(*(client.get(f"/v1/fn?i={i}") for i in range(total)))
    assert [r.status for r in responses] == [200] * total
    assert peak == total


async def test_access_line_per_request() -> None:
    lines: list[str] = []
    async with running(SPEC, FakeInvoker(), access_log=lines.append) as (_, client):
        await client.get("/v1/echo/a?q=1")
        await client.get("/nope")
    assert len(lines) == 2
    method, path, status, ms, unit, name = lines[0].split(" ")
    assert (method, path, status, unit, name) == ("GET", "/v1/echo/a", "200", "ms", "stack-Echo")
    float(ms)
    assert lines[1].startswith("GET /nope 403 ")
    assert lines[1].endswith(" - (no such route)")


async def test_port_zero_binds_a_free_port_and_a_taken_port_is_a_clear_error() -> None:
    server = GatewayServer(SPEC, FakeInvoker(), port=0)
    await server.start()
    try:
        assert server.port > 0
        clash = GatewayServer(SPEC, FakeInvoker(), port=server.port)
        with pytest.raises(GatewayError, match=f"port {server.port}"):
            await clash.start()
    finally:
        await server.stop()
    await server.stop()  # stopping twice is harmless


async def test_start_on_a_port_held_by_another_socket() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(GatewayError, match=str(port)):
            await GatewayServer(SPEC, FakeInvoker(), port=port).start()
