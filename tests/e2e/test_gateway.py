"""API Gateway behaviour over HTTP against a running local cloud, with real Lambda workers."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from tests.support import RunningCloud


def echoed_event(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, resp.text
    event = resp.json()["event"]
    APIGatewayProxyEventModel.model_validate(event)
    return event


def test_unknown_route_is_missing_authentication_token(api: httpx.Client) -> None:
    for method, path in [("GET", "/nope"), ("DELETE", "/v1/health"), ("GET", "/v1/health/x")]:
        resp = api.request(method, path)
        assert resp.status_code == 403, (method, path)
        assert resp.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/test/echo", {}),
        ("GET", "/test/echo?a=1&a=2&b=x", {}),
        ("POST", "/test/echo/deep/path/here", {"json": {"hello": "world"}}),
        (
            "PUT",
            "/test/echo/x",
            {
                "content": b"\x00\xff\x10binary",
                "headers": {"Content-Type": "application/octet-stream"},
            },
        ),
        ("GET", "/test/items/42?q=%C3%A9t%C3%A9", {"headers": {"X-Multi": "one", "Cookie": "a=b"}}),
        ("DELETE", "/test/echo/anything", {}),
    ],
)
def test_every_event_validates_against_powertools_model(
    api: httpx.Client, method: str, path: str, kwargs: dict
) -> None:
    event = echoed_event(api.request(method, path, **kwargs))
    assert event["httpMethod"] == method
    assert event["requestContext"]["stage"] == "test"
    assert event["requestContext"]["requestId"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["stageVariables"] == {"flavour": "vanilla"}


def test_event_carries_path_query_and_body_as_aws_builds_them(api: httpx.Client) -> None:
    event = echoed_event(api.get("/test/items/42?a=1&a=2&b=x"))
    assert event["resource"] == "/test/items/{id}"
    assert event["path"] == "/test/items/42"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["requestContext"]["resourcePath"] == "/test/items/{id}"
    assert event["requestContext"]["path"] == "/test/test/items/42"

    event = echoed_event(api.post("/test/echo/a/b", json={"k": "v"}))
    assert event["resource"] == "/test/echo/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert json.loads(event["body"]) == {"k": "v"}
    assert event["isBase64Encoded"] is False

    raw = bytes(range(256))
    event = echoed_event(
        api.put("/test/echo/bin", content=raw, headers={"Content-Type": "application/octet-stream"})
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_function_environment_resolves_template_intrinsics(api: httpx.Client) -> None:
    trace = api.get("/test/echo").json()["trace_id"]
    assert trace
    assert trace.startswith("Root=1-")


def test_crash_is_502_and_the_next_request_succeeds(api: httpx.Client) -> None:
    crashed = api.get("/test/crash?raise=1")
    assert crashed.status_code == 502
    assert crashed.json() == {"message": "Internal server error"}
    assert api.get("/test/crash").status_code == 200


def test_malformed_response_and_import_error_are_502(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    assert api.get("/test/bad-response").status_code == 502
    mark = len(cloud.lines)
    resp = api.get("/test/import-error")
    assert resp.status_code == 502
    assert resp.json() == {"message": "Internal server error"}
    cloud.wait_for_line(
        r"error: ImportErrorFunction \(app.handler\) failed to start: Unable to import module "
        r"'app': No module named 'a_module_that_does_not_exist' \[Runtime.ImportModuleError\]",
        since=mark,
    )


def test_cors_preflight_answers_from_the_template(api: httpx.Client) -> None:
    resp = api.options(
        "/test/echo",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert resp.headers["access-control-max-age"] == "300"


def test_token_authorizer_allows_denies_and_passes_context(api: httpx.Client) -> None:
    assert api.get("/test/protected").status_code == 401
    assert api.get("/test/protected", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("/test/protected", headers={"Authorization": "Bearer deny"}).status_code == 403
    event = echoed_event(api.get("/test/protected", headers={"Authorization": "Bearer allow"}))
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-allow"
    assert authorizer["role"] == "tester"


def test_token_authorizer_result_is_cached(api: httpx.Client) -> None:
    headers = {"Authorization": "Bearer allow"}
    first = echoed_event(api.get("/test/protected", headers=headers))
    second = echoed_event(api.get("/test/protected", headers=headers))
    # The authorizer ran once: the cached context is the very same one.
    assert first["requestContext"]["authorizer"] == second["requestContext"]["authorizer"]


def test_request_authorizer_reads_its_identity_header(api: httpx.Client) -> None:
    assert api.get("/test/protected-request").status_code == 401
    resp = api.get("/test/protected-request", headers={"X-Test-Token": "allow"})
    event = echoed_event(resp)
    assert event["requestContext"]["authorizer"]["principalId"] == "user-allow"
    assert api.get("/test/protected-request", headers={"X-Test-Token": "deny"}).status_code == 403


def test_api_key_and_usage_plan_throttling(api: httpx.Client) -> None:
    assert api.get("/test/keyed").status_code == 403
    assert api.get("/test/keyed", headers={"x-api-key": "wrong"}).status_code == 403
    statuses = [
        api.get("/test/keyed", headers={"x-api-key": "test-api-key-0123456789"}).status_code
        for _ in range(6)
    ]
    # Burst 3 at 1 request/s: the first go through, a quick run past the burst is throttled.
    assert statuses[0] == 200
    assert 429 in statuses


def test_body_over_10_mb_is_413(api: httpx.Client) -> None:
    resp = api.post("/test/echo", content=b"x" * (10 * 1024 * 1024 + 1))
    assert resp.status_code == 413


def test_gateway_logs_an_access_line(cloud: RunningCloud, api: httpx.Client) -> None:
    mark = len(cloud.lines)
    api.get("/test/items/7")
    cloud.wait_for_line(r"\[gateway\].*GET /test/items/7.*200", since=mark)
