"""The Lambda proxy event: every shape is what AWS sends and validates with Powertools' model."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from multidict import CIMultiDict

from localcloud.gateway import ids
from localcloud.gateway.media_types import BinaryMediaTypes
from localcloud.gateway.request_event import encode_body, event_json, parse_query
from localcloud.sampling import Sampler
from tests.unit.localcloud.gateway.fakes import (
    ACCOUNT,
    FakeInvoker,
    api,
    event_of,
    function,
    route,
    running,
    template,
)

SPEC = template(
    [
        function(
            "Echo",
            route("/v1/echo", "ANY"),
            route("/v1/echo/{proxy+}", "ANY"),
            route("/v1/items/{id}"),
            route("/", "ANY"),
        )
    ],
    [api(stage="dev", variables={"flavour": "vanilla"}, binary=("application/octet-stream",))],
)

SHAPES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/echo", {}),
    ("GET", "/", {}),
    ("GET", "/v1/echo?a=1&a=2&b=x", {}),
    ("GET", "/v1/echo?flag&empty=&sp=a+b&pc=%C3%A9t%C3%A9", {}),
    ("POST", "/v1/echo", {"json": {"hello": "world"}}),
    ("POST", "/v1/echo", {"data": b""}),
    (
        "PUT",
        "/v1/echo/a/b/c",
        {"data": b"\x00\xff", "headers": {"Content-Type": "application/octet-stream"}},
    ),
    (
        "PATCH",
        "/v1/echo/x",
        {"data": b"\xff\xfe not utf-8", "headers": {"Content-Type": "text/plain"}},
    ),
    ("DELETE", "/v1/echo/anything", {}),
    ("HEAD", "/v1/echo", {}),
    ("OPTIONS", "/v1/echo", {}),
    ("GET", "/v1/items/42", {"headers": {"X-Multi": "one", "Cookie": "a=b"}}),
    ("GET", "/v1/items/a%20b?x=%2B", {"headers": {"X-Forwarded-For": "10.0.0.1"}}),
    (
        "GET",
        "/v1/echo/",
        {"headers": {"X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f3f6"}},
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), SHAPES)
async def test_every_event_validates_against_powertools(
    method: str, path: str, kwargs: dict[str, Any]
) -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (_, client):
        resp = await client.request(method, path, **kwargs)
        assert resp.status == 200, await resp.text()
    event = invoker.calls[0].event
    APIGatewayProxyEventModel.model_validate(event)
    assert event["httpMethod"] == method
    assert event["requestContext"]["httpMethod"] == method
    assert event["stageVariables"] == {"flavour": "vanilla"}
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["path"] == "/dev" + path.split("?")[0]
    uuid.UUID(event["requestContext"]["requestId"])


async def test_event_fields_as_aws_builds_them() -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (server, client):
        resp = await client.get("/v1/items/42?a=1&a=2&b=x", headers={"User-Agent": "ua/1"})
        event = await event_of(resp)
    assert event["resource"] == "/v1/items/{id}"
    assert event["path"] == "/v1/items/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["resourcePath"] == "/v1/items/{id}"
    assert ctx["path"] == "/dev/v1/items/42"
    assert ctx["accountId"] == ACCOUNT
    assert ctx["apiId"] == ids.api_id("Api")
    assert re.fullmatch(r"[0-9a-z]{6}", ctx["resourceId"])
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["domainName"] == "127.0.0.1"
    assert ctx["domainPrefix"] == "127"
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", ctx["requestTime"])
    assert isinstance(ctx["requestTimeEpoch"], int)
    assert len(ctx["extendedRequestId"]) == 16
    assert "authorizer" not in ctx
    identity = ctx["identity"]
    assert identity["sourceIp"] == "127.0.0.1"
    assert identity["userAgent"] == "ua/1"
    for key in ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "accessKey"):
        assert identity[key] is None
    assert "apiKey" not in identity
    # What API Gateway adds to the client's headers.
    headers = event["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(server.port)
    assert headers["X-Forwarded-Proto"] == "http"
    # No sampler given: every request is sampled.
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=1", headers["X-Amzn-Trace-Id"])
    assert headers["X-Amzn-Trace-Id"] == invoker.calls[0].trace_header
    assert event["multiValueHeaders"]["User-Agent"] == ["ua/1"]
    assert event["multiValueHeaders"]["X-Forwarded-Port"] == [str(server.port)]


async def test_nones_when_there_is_nothing_to_send() -> None:
    spec = template([function("Echo", route("/x"))], [api()])
    async with running(spec, FakeInvoker()) as (_, client):
        event = await event_of(await client.get("/x"))
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None


async def test_repeated_headers_keep_every_value_and_the_last_wins() -> None:
    invoker = FakeInvoker()
    async with running(SPEC, invoker) as (_, client):
        headers = [("X-Multi", "one"), ("X-Multi", "two"), ("x-lower", "kept")]
        event = await event_of(await client.get("/v1/echo", headers=headers))
    assert event["headers"]["X-Multi"] == "two"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["headers"]["x-lower"] == "kept"  # the client's spelling


async def test_without_a_callers_decision_the_gateways_sampler_decides() -> None:
    invoker = FakeInvoker()
    never = Sampler(per_second=0, draw=lambda: 1.0)
    root = "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f3f6"
    async with running(SPEC, invoker, sampler=never) as (_, client):
        fresh = await event_of(await client.get("/v1/echo"))
        theirs = await event_of(await client.get("/v1/echo", headers={"X-Amzn-Trace-Id": root}))
        forced = await client.get("/v1/echo", headers={"X-Amzn-Trace-Id": f"{root};Sampled=1"})
    assert fresh["headers"]["X-Amzn-Trace-Id"].endswith(";Sampled=0")
    assert theirs["headers"]["X-Amzn-Trace-Id"] == f"{root};Sampled=0"
    assert theirs["multiValueHeaders"]["X-Amzn-Trace-Id"] == [f"{root};Sampled=0"]
    assert [c.trace_header for c in invoker.calls] == [
        fresh["headers"]["X-Amzn-Trace-Id"],
        f"{root};Sampled=0",
        f"{root};Sampled=1",
    ]
    assert forced.headers["X-Amzn-Trace-Id"] == f"{root};Sampled=1"


async def test_client_trace_and_forwarded_for_are_kept() -> None:
    invoker = FakeInvoker()
    trace = "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f3f6;Sampled=0"
    async with running(SPEC, invoker) as (_, client):
        headers = {"X-Amzn-Trace-Id": trace, "X-Forwarded-For": "10.0.0.1"}
        resp = await client.get("/v1/echo", headers=headers)
        event = await event_of(resp)
    assert event["headers"]["X-Amzn-Trace-Id"] == trace
    assert invoker.calls[0].trace_header == trace
    assert resp.headers["X-Amzn-Trace-Id"] == trace
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


async def test_bodies_text_binary_and_not_utf8() -> None:
    invoker = FakeInvoker()
    raw = bytes(range(256))
    async with running(SPEC, invoker) as (_, client):
        text = await event_of(await client.post("/v1/echo", json={"k": "é"}))
        binary = await event_of(
            await client.put(
                "/v1/echo/bin", data=raw, headers={"Content-Type": "application/octet-stream"}
            )
        )
        mangled = await event_of(
            await client.put("/v1/echo/x", data=b"\xff\xfe", headers={"Content-Type": "text/plain"})
        )
    assert json.loads(text["body"]) == {"k": "é"}
    assert text["isBase64Encoded"] is False
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw
    assert mangled["isBase64Encoded"] is True
    assert base64.b64decode(mangled["body"]) == b"\xff\xfe"


def test_parse_query() -> None:
    assert parse_query("") == (None, None)
    assert parse_query("a=1&a=2&b=") == ({"a": "2", "b": ""}, {"a": ["1", "2"], "b": [""]})
    assert parse_query("q=a+b%2Bc&flag") == (
        {"q": "a b+c", "flag": ""},
        {"q": ["a b+c"], "flag": [""]},
    )
    assert parse_query("a=1;b=2") == ({"a": "1", "b": "2"}, {"a": ["1"], "b": ["2"]})
    assert parse_query("&&") == (None, None)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/octet-stream", (None, False)),
        (b"hi", "text/plain", ("hi", False)),
        (b"hi", "application/octet-stream", ("aGk=", True)),
        (b"hi", "image/png; charset=x", ("aGk=", True)),
        (b"hi", None, ("hi", False)),
        (b"\xff", "application/json", ("/w==", True)),
    ],
)
def test_encode_body(body: bytes, content_type: str | None, expected: tuple) -> None:
    types = BinaryMediaTypes(["application/octet-stream", "image/*"])
    assert encode_body(body, types, content_type) == expected


def test_binary_media_types_matching() -> None:
    types = BinaryMediaTypes(["image/*", "application/pdf"])
    assert types.matches("image/png")
    assert types.matches("Application/PDF; q=1")
    assert not types.matches("application/json")
    assert not types.matches(None)
    assert types.accepts_binary("image/png, text/html")
    assert not types.accepts_binary("text/html, image/png")  # only the first Accept type counts
    assert BinaryMediaTypes(["*/*"]).matches(None)
    assert not BinaryMediaTypes([])


def test_event_json_reads_back_as_the_standard_encoder_writes_it() -> None:
    headers = CIMultiDict([("X-Naïve", "café ☕"), ("Accept", "*/*")])
    event = {
        "headers": dict(headers.items()),  # names are multidict's istr, a str subclass
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "body": 'quote " backslash \\ newline \n tab \t nul \x00 emoji 🎉',
        "isBase64Encoded": False,
        "requestContext": {"requestTimeEpoch": 1764000000123, "identity": {"user": None}},
    }
    assert json.loads(event_json(event)) == json.loads(json.dumps(event))
