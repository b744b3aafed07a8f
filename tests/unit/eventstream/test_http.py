"""Proxy integration responses: JSON and RFC 9457 problem details."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

from eventstream.http import json_response, problem_response


def test_json_response_is_a_rest_proxy_response() -> None:
    response = json_response(200, {"status": "ok"})
    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"status":"ok"}',
        "isBase64Encoded": False,
    }


def test_json_response_merges_headers_and_writes_database_types() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    ident = uuid.UUID(int=1)
    response = json_response(
        201, {"at": when, "id": ident, "n": Decimal("1.5"), "ü": "ü"}, {"Location": "/v1/x"}
    )
    assert response["headers"] == {"Content-Type": "application/json", "Location": "/v1/x"}
    assert json.loads(response["body"]) == {
        "at": "2026-01-02T03:04:05+00:00",
        "id": str(ident),
        "n": "1.5",
        "ü": "ü",
    }


def test_problem_response_follows_rfc_9457() -> None:
    response = problem_response(
        404,
        "Not Found",
        "no event evt_1",
        request_id="req-1",
        instance="/v1/events/evt_1",
        headers={"Cache-Control": "no-store"},
        extensions={"status": 999, "event_id": "evt_1"},
    )
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert json.loads(response["body"]) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,  # an extension never overrides a standard member
        "detail": "no event evt_1",
        "instance": "/v1/events/evt_1",
        "request_id": "req-1",
        "event_id": "evt_1",
    }


def test_problem_response_leaves_out_what_is_not_given() -> None:
    body = json.loads(problem_response(503, "Service Unavailable")["body"])
    assert body == {"type": "about:blank", "title": "Service Unavailable", "status": 503}
