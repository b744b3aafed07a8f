"""Mapping the function's proxy response document to HTTP, and what API Gateway calls malformed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localcloud.gateway.response_mapping import (
    BadBase64Body,
    MalformedProxyResponse,
    parse_proxy_response,
)


def parse(doc: Any) -> Any:
    return parse_proxy_response(json.dumps(doc).encode())


def test_minimal_response() -> None:
    response = parse({"statusCode": 204})
    headers, body = response.render(convert_to_binary=False)
    assert response.status == 204
    assert body == b""
    assert headers["Content-Type"] == "application/json"  # AWS's default for proxy responses


def test_headers_and_multi_value_headers_merge() -> None:
    response = parse(
        {
            "statusCode": 200,
            "headers": {"X-One": "1", "Set-Cookie": "dropped=1", "Content-Type": "text/plain"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "X-Two": ["2", 3, True]},
            "body": "hi",
        }
    )
    headers, body = response.render(convert_to_binary=False)
    assert body == b"hi"
    assert headers.getall("Set-Cookie") == ["a=1", "b=2"]  # multiValueHeaders wins per name
    assert headers["X-One"] == "1"
    assert headers.getall("X-Two") == ["2", "3", "true"]
    assert headers["Content-Type"] == "text/plain"


def test_reserved_headers_are_remapped_and_hop_by_hop_dropped() -> None:
    response = parse(
        {
            "statusCode": 401,
            "headers": {
                "WWW-Authenticate": "Bearer",
                "Content-Length": "999",
                "Server": "fn",
                "Transfer-Encoding": "chunked",
            },
        }
    )
    headers, _ = response.render(convert_to_binary=False)
    assert headers["x-amzn-Remapped-WWW-Authenticate"] == "Bearer"
    assert headers["x-amzn-Remapped-Content-Length"] == "999"
    assert headers["x-amzn-Remapped-Server"] == "fn"
    assert "Content-Length" not in headers
    assert "Transfer-Encoding" not in headers


def test_base64_body_is_decoded_only_when_converting_to_binary() -> None:
    raw = bytes(range(256))
    response = parse(
        {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    )
    assert response.render(convert_to_binary=True)[1] == raw
    assert response.render(convert_to_binary=False)[1] == base64.b64encode(raw)


def test_bad_base64_when_converting() -> None:
    response = parse({"statusCode": 200, "body": "not base64!", "isBase64Encoded": True})
    with pytest.raises(BadBase64Body):
        response.render(convert_to_binary=True)


def test_numeric_string_status_is_accepted_as_aws_does() -> None:
    assert parse({"statusCode": "201"}).status == 201


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"",
        b"null",
        b"[1, 2]",
        b'"a string"',
        b"{}",
        b'{"body": "no status"}',
        b'{"statusCode": null}',
        b'{"statusCode": "OK"}',
        b'{"statusCode": true}',
        b'{"statusCode": 200.5}',
        b'{"statusCode": 42}',
        b'{"statusCode": 200, "body": {"an": "object"}}',
        b'{"statusCode": 200, "body": ["a"]}',
        b'{"statusCode": 200, "body": 5}',
        b'{"statusCode": 200, "headers": []}',
        b'{"statusCode": 200, "headers": "x"}',
        b'{"statusCode": 200, "headers": {"X": {"nested": 1}}}',
        b'{"statusCode": 200, "headers": {"X": ["list"]}}',
        b'{"statusCode": 200, "headers": {"X": "a\\r\\nInjected: 1"}}',
        b'{"statusCode": 200, "multiValueHeaders": {"X": "not a list"}}',
        b'{"statusCode": 200, "multiValueHeaders": []}',
        b'{"statusCode": 200, "isBase64Encoded": "yes"}',
    ],
)
def test_malformed_responses(payload: bytes) -> None:
    with pytest.raises(MalformedProxyResponse):
        parse_proxy_response(payload)


def test_nulls_are_tolerated() -> None:
    response = parse(
        {
            "statusCode": 200,
            "headers": None,
            "multiValueHeaders": None,
            "body": None,
            "isBase64Encoded": None,
        }
    )
    assert response.render(convert_to_binary=True)[1] == b""
