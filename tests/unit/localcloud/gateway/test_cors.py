"""CORS: the preflight SAM generates for an Api with Cors, and nothing added to other responses."""

from __future__ import annotations

from localcloud.gateway.cors import preflight_headers
from localcloud.spec import CorsSpec
from tests.unit.localcloud.gateway.fakes import FakeInvoker, api, function, route, running, template

CORS = CorsSpec(
    allow_origin="https://app.example.com",
    allow_methods="GET,POST",
    allow_headers="Content-Type,Authorization",
    max_age=300,
)


def test_preflight_headers_from_the_spec() -> None:
    assert preflight_headers(CORS, ["GET"]) == {
        "Access-Control-Allow-Origin": "https://app.example.com",
        "Access-Control-Allow-Methods": "GET,POST",
        "Access-Control-Allow-Headers": "Content-Type,Authorization",
        "Access-Control-Max-Age": "300",
    }


def test_default_methods_are_the_paths_own_plus_options() -> None:
    minimal = CorsSpec(allow_origin="*", allow_credentials=True, expose_headers="X-Id")
    headers = preflight_headers(minimal, ["POST", "GET"])
    assert headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Access-Control-Expose-Headers"] == "X-Id"
    assert "Access-Control-Allow-Headers" not in headers
    assert "Access-Control-Max-Age" not in headers
    assert preflight_headers(minimal, ["ANY"])["Access-Control-Allow-Methods"] == (
        "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
    )


async def test_preflight_is_answered_without_the_function() -> None:
    invoker = FakeInvoker()
    spec = template(
        [function("Echo", route("/items/{id}"), route("/open", "ANY"), route("/own", "OPTIONS"))],
        [api(cors=CORS)],
    )
    async with running(spec, invoker) as (_, client):
        preflight = await client.options(
            "/items/7",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status == 200
        assert await preflight.read() == b""
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
        assert preflight.headers["Access-Control-Max-Age"] == "300"
        assert preflight.headers["x-amzn-RequestId"]
        # The preflight beats ANY (SAM adds OPTIONS to every path); an explicit OPTIONS wins.
        assert (await client.options("/open")).headers["Access-Control-Allow-Origin"]
        assert (await client.options("/own")).status == 200
        assert [c.event["resource"] for c in invoker.calls] == ["/own"]
        # No such resource: the usual 403.
        assert (await client.options("/nope")).status == 403
        # Proxied and error responses get no CORS headers from the gateway.
        proxied = await client.get("/items/7", headers={"Origin": "https://app.example.com"})
        assert "Access-Control-Allow-Origin" not in proxied.headers
        missing = await client.get("/nope", headers={"Origin": "https://app.example.com"})
        assert "Access-Control-Allow-Origin" not in missing.headers


async def test_without_cors_options_is_an_ordinary_method() -> None:
    invoker = FakeInvoker()
    spec = template([function("Echo", route("/any", "ANY"), route("/get"))], [api()])
    async with running(spec, invoker) as (_, client):
        assert (await client.options("/any")).status == 200
        assert len(invoker.calls) == 1
        assert (await client.options("/get")).status == 403
