"""Lambda authorizers over HTTP: identity checks, allow/deny/401/500, context, and the TTL cache."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerRequest,
    ApiGatewayAuthorizerToken,
    APIGatewayProxyEventModel,
)

from localcloud.gateway import ids
from localcloud.spec import AuthorizerSpec, TemplateSpec
from tests.unit.localcloud.gateway.fakes import (
    ACCOUNT,
    REGION,
    FakeClock,
    FakeInvoker,
    api,
    event_of,
    failed,
    function,
    handler_client,
    raw_ok,
    route,
    template,
)

API_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{ids.api_id('Api')}"


def authorizer_fn(event: dict[str, Any]) -> Any:
    """Token "allow" may call anything, "get" only GETs, "deny" nothing; others are refused."""
    if event["type"] == "TOKEN":
        token = event["authorizationToken"].removeprefix("Bearer ")
    else:
        token = event["headers"].get("X-Token", "")
    if token == "boom":
        return failed("database down")
    if token == "garbage":
        return raw_ok(b'{"principalId": "x"}')
    if token == "nested":
        return {
            "principalId": "x",
            "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            "context": {"claims": {"nested": True}},
        }
    if token not in ("allow", "get", "deny"):
        return failed("Unauthorized", "Exception")
    api_arn, stage = event["methodArn"].split("/")[:2]
    resource = f"{api_arn}/{stage}/GET/*" if token == "get" else f"{api_arn}/{stage}/*"
    return {
        "principalId": f"user-{token}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Deny" if token == "deny" else "Allow",
                    "Resource": [resource],
                }
            ],
        },
        "context": {"role": "tester", "level": 3, "admin": False, "ratio": 0.5, "none": None},
    }


def spec(ttl_s: int = 300, validation: str | None = None) -> TemplateSpec:
    token = AuthorizerSpec(
        name="TokenAuth",
        function_id="AuthFn",
        type="TOKEN",
        identity_headers=("Authorization",),
        ttl_s=ttl_s,
        validation_expression=validation,
    )
    request = AuthorizerSpec(
        name="RequestAuth",
        function_id="AuthFn",
        type="REQUEST",
        identity_headers=("X-Token",),
        identity_query=("tenant",),
        ttl_s=ttl_s,
    )
    return template(
        [
            function(
                "Echo",
                route("/items/{id}", authorizer="TokenAuth"),
                route("/items/{id}", "DELETE", authorizer="TokenAuth"),
                route("/req/{id}", authorizer="RequestAuth"),
                route("/both", authorizer="TokenAuth", api_key=True),
            ),
            function("AuthFn"),
        ],
        [api(stage="dev", authorizers=(token, request))],
    )


def invoker() -> FakeInvoker:
    return FakeInvoker(handlers={"AuthFn": authorizer_fn})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_allow_passes_principal_and_stringified_context() -> None:
    fake = invoker()
    async with handler_client(spec(), fake) as client:
        event = await event_of(await client.get("/items/7", headers=bearer("allow")))
    APIGatewayProxyEventModel.model_validate(event)
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-allow"
    assert authorizer["role"] == "tester"
    assert authorizer["level"] == "3"
    assert authorizer["admin"] == "false"
    assert authorizer["ratio"] == "0.5"
    assert "none" not in authorizer
    assert isinstance(authorizer["integrationLatency"], int)
    token_event = fake.calls_to("AuthFn")[0].event
    ApiGatewayAuthorizerToken.model_validate(token_event)
    assert token_event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer allow",
        "methodArn": f"{API_ARN}/dev/GET/items/7",
    }


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({}, 401, {"message": "Unauthorized"}),
        ({"Authorization": ""}, 401, {"message": "Unauthorized"}),
        (bearer("nope"), 401, {"message": "Unauthorized"}),
        (
            bearer("deny"),
            403,
            {"Message": "User is not authorized to access this resource with an explicit deny"},
        ),
        (bearer("boom"), 500, {"message": None}),
        (bearer("garbage"), 500, {"message": None}),
        (bearer("nested"), 500, {"message": None}),
    ],
)
async def test_refusals(headers: dict[str, str], status: int, body: dict[str, Any]) -> None:
    fake = invoker()
    async with handler_client(spec(), fake) as client:
        resp = await client.get("/items/7", headers=headers)
        assert resp.status == status
        assert await resp.json() == body
        assert resp.headers["x-amzn-ErrorType"]
        assert resp.headers["x-amzn-RequestId"]
    assert fake.calls_to("Echo") == []
    if not headers.get("Authorization"):
        assert fake.calls_to("AuthFn") == []  # a missing identity never reaches the authorizer


async def test_validation_expression_is_checked_before_invoking() -> None:
    fake = invoker()
    async with handler_client(spec(validation=r"Bearer [a-z]+"), fake) as client:
        assert (await client.get("/items/7", headers=bearer("allow"))).status == 200
        assert (await client.get("/items/7", headers={"Authorization": "allow"})).status == 401
        assert (await client.get("/items/7", headers=bearer("allow2"))).status == 401
    assert len(fake.calls_to("AuthFn")) == 1


async def test_cached_policy_is_evaluated_against_each_method_arn() -> None:
    fake = invoker()
    async with handler_client(spec(), fake) as client:
        assert (await client.get("/items/1", headers=bearer("get"))).status == 200
        # Same token, other method: the cached policy (GET only) is judged again, not re-asked.
        denied = await client.delete("/items/1", headers=bearer("get"))
        assert denied.status == 403
        assert await denied.json() == {"Message": "User is not authorized to access this resource"}
        assert (await client.get("/items/2", headers=bearer("get"))).status == 200
    assert len(fake.calls_to("AuthFn")) == 1


async def test_cache_expires_after_the_ttl() -> None:
    async def slow_authorizer(event: dict[str, Any]) -> Any:
        await asyncio.sleep(0.01)
        return authorizer_fn(event)

    fake, clock = FakeInvoker(handlers={"AuthFn": slow_authorizer}), FakeClock()
    async with handler_client(spec(ttl_s=60), fake, clock=clock) as client:
        first = await event_of(await client.get("/items/1", headers=bearer("allow")))
        clock.advance(59)
        second = await event_of(await client.get("/items/1", headers=bearer("allow")))
        assert len(fake.calls_to("AuthFn")) == 1
        # A cache hit hands on the very same context, latency of the original call included.
        assert second["requestContext"]["authorizer"] == first["requestContext"]["authorizer"]
        assert first["requestContext"]["authorizer"]["integrationLatency"] >= 5
        clock.advance(1)
        await event_of(await client.get("/items/1", headers=bearer("allow")))
        assert len(fake.calls_to("AuthFn")) == 2
        # Another token is another cache entry.
        await event_of(await client.get("/items/1", headers={"Authorization": "allow"}))
        assert len(fake.calls_to("AuthFn")) == 3


async def test_ttl_zero_turns_the_cache_off_and_refusals_are_not_cached() -> None:
    fake = invoker()
    async with handler_client(spec(ttl_s=0), fake) as client:
        for _ in range(3):
            assert (await client.get("/items/1", headers=bearer("allow"))).status == 200
        assert len(fake.calls_to("AuthFn")) == 3
    fake = invoker()
    async with handler_client(spec(), fake) as client:
        for _ in range(2):
            assert (await client.get("/items/1", headers=bearer("nope"))).status == 401
        assert len(fake.calls_to("AuthFn")) == 2


async def test_request_authorizer_needs_every_identity_source() -> None:
    fake = invoker()
    async with handler_client(spec(), fake) as client:
        assert (await client.get("/req/1", headers={"X-Token": "allow"})).status == 401
        assert (await client.get("/req/1?tenant=", headers={"X-Token": "allow"})).status == 401
        assert (await client.get("/req/1?tenant=t1")).status == 401
        assert fake.calls_to("AuthFn") == []
        resp = await client.get("/req/1?tenant=t1", headers={"X-Token": "allow"})
        event = await event_of(resp)
    assert event["requestContext"]["authorizer"]["principalId"] == "user-allow"
    request_event = fake.calls_to("AuthFn")[0].event
    ApiGatewayAuthorizerRequest.model_validate(request_event)
    assert request_event["type"] == "REQUEST"
    assert request_event["methodArn"] == f"{API_ARN}/dev/GET/req/1"
    assert request_event["resource"] == "/req/{id}"
    assert request_event["pathParameters"] == {"id": "1"}
    assert request_event["queryStringParameters"] == {"tenant": "t1"}
    assert "body" not in request_event
    assert "authorizer" not in request_event["requestContext"]


async def test_authorizer_runs_before_the_api_key_check() -> None:
    fake = invoker()
    async with handler_client(spec(), fake, api_keys=["key-1"]) as client:
        # No token and no key: the authorizer's 401 comes first.
        assert (await client.get("/both")).status == 401
        # Allowed, but no key: 403 Forbidden.
        resp = await client.get("/both", headers=bearer("allow"))
        assert resp.status == 403
        assert await resp.json() == {"message": "Forbidden"}
        ok = await client.get("/both", headers={**bearer("allow"), "x-api-key": "key-1"})
        event = await event_of(ok)
    assert event["requestContext"]["identity"]["apiKey"] == "key-1"
    assert event["requestContext"]["identity"]["apiKeyId"] == ids.api_key_id("key-1")
