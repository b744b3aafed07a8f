"""The proxy event read into a Request: caller, headers, body parsing and its refusals."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from eventstream.api import Caller, Problem, Request


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "httpMethod": "POST",
        "path": "/auth/users",
        "headers": {"Content-Type": "application/json", "User-Agent": "ua/1"},
        "queryStringParameters": None,
        "pathParameters": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "req-1",
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "ua/1"},
        },
    }
    base.update(overrides)
    return base


def with_authorizer(context: Any) -> dict[str, Any]:
    e = event()
    e["requestContext"]["authorizer"] = context
    return e


def test_the_basics() -> None:
    r = Request.from_event(
        event(
            queryStringParameters={"limit": "5"},
            pathParameters={"id": "abc"},
            headers={"X-Api-Key": "k", "Authorization": "Bearer t"},
        )
    )
    assert (r.method, r.path, r.request_id, r.source_ip) == (
        "POST",
        "/auth/users",
        "req-1",
        "198.51.100.7",
    )
    assert r.query == {"limit": "5"}
    assert r.path_params == {"id": "abc"}
    assert r.headers == {"x-api-key": "k", "authorization": "Bearer t"}  # names lower-cased
    assert r.bearer_token() == "t"
    assert r.caller is None


def test_the_caller_comes_from_the_authorizer_context() -> None:
    r = Request.from_event(
        with_authorizer({"sub": "u1", "roles": "user,admin", "principalId": "u1"})
    )
    assert r.caller == Caller("u1", ("user", "admin"))
    assert r.caller.is_admin
    key = Request.from_event(with_authorizer({"principalId": "apikey:9", "roles": "apikey"})).caller
    assert key is not None
    assert key.is_api_key
    assert not key.is_admin


@pytest.mark.parametrize("roles", ["", "user", "user,administrator", "nonadmin", "Admin"])
def test_only_the_admin_role_is_admin(roles: str) -> None:
    r = Request.from_event(with_authorizer({"sub": "u1", "roles": roles}))
    with pytest.raises(Problem) as caught:
        r.require_admin()
    assert caught.value.status == 403


@pytest.mark.parametrize("context", [None, {}, {"roles": "admin"}, "admin", ["admin"]])
def test_no_authorizer_context_is_no_caller(context: Any) -> None:
    r = Request.from_event(with_authorizer(context))
    assert r.caller is None
    with pytest.raises(Problem) as caught:
        r.require_caller()
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("", None),
    ],
)
def test_bearer_token(header: str, token: str | None) -> None:
    assert Request.from_event(event(headers={"Authorization": header})).bearer_token() == token


def test_json_bodies() -> None:
    assert Request.from_event(event(body='{"a": 1}')).json_body() == {"a": 1}
    encoded = base64.b64encode(json.dumps({"b": "é"}).encode()).decode()
    assert Request.from_event(event(body=encoded, isBase64Encoded=True)).json_body() == {"b": "é"}
    assert Request.from_event(event(body="")).json_body(required=False) == {}


@pytest.mark.parametrize(
    ("body", "b64", "status"),
    [
        (None, False, 400),  # required
        ("   ", False, 400),
        ("{not json", False, 400),
        ("[1, 2]", False, 422),  # not an object
        ('"text"', False, 422),
        ("null", False, 422),
        ("%%%", True, 400),  # bad base64
        (base64.b64encode(b"\xff\xfe{").decode(), True, 400),  # not UTF-8
        ("[" * 100_000, False, 400),  # nesting deeper than the parser's recursion limit
        ('{"a": "' + "x" * 1_048_576 + '"}', False, 413),
    ],
)
def test_bad_bodies_are_problems(body: str | None, b64: bool, status: int) -> None:
    r = Request.from_event(event(body=body, isBase64Encoded=b64))
    with pytest.raises(Problem) as caught:
        r.json_body()
    assert caught.value.status == status


@pytest.mark.parametrize(
    "overrides",
    [
        {"queryStringParameters": {"cursor": "a\x00b"}},
        {"queryStringParameters": {"a\x00": "b"}},
        {"pathParameters": {"id": "1\x00"}},
    ],
)
def test_nul_in_query_or_path_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(Problem) as caught:
        Request.from_event(event(**overrides)).refuse_nul()
    assert caught.value.status == 400


def test_the_user_agent_is_bounded() -> None:
    e = event()
    e["requestContext"]["identity"]["userAgent"] = "u" * 5000
    assert len(Request.from_event(e).user_agent) == 512
