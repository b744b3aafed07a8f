"""The route wrapper: answers, problems as RFC 9457 with the request id, no leak on a crash."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from eventstream.api import Problem, Request, route
from eventstream.api.problems import too_many_requests, unauthorized
from eventstream.db.connection import DatabaseUnavailableError
from eventstream.http import json_response
from eventstream.observability.powertools import logger
from tests.support import LambdaContext


def Context() -> LambdaContext:
    return LambdaContext(aws_request_id="lambda-req-9")


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "path": "/x",
        "requestContext": {"requestId": "gw-req-1"},
        **overrides,
    }


def body(response: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(response["body"]))


def test_an_answer_passes_through() -> None:
    @route
    def ok(request: Request) -> dict[str, Any]:
        return json_response(200, {"path": request.path})

    response = ok(event(), Context())
    assert response["statusCode"] == 200
    assert body(response) == {"path": "/x"}


def test_a_problem_becomes_problem_json_with_the_request_id() -> None:
    @route
    def refuses(request: Request) -> dict[str, Any]:
        raise Problem(409, "username 'x' is taken")

    response = refuses(event(), Context())
    assert response["statusCode"] == 409
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body(response) == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "username 'x' is taken",
        "request_id": "gw-req-1",
    }


def test_problem_headers_and_extensions_are_kept() -> None:
    @route
    def limited(request: Request) -> dict[str, Any]:
        raise too_many_requests("slow down", 42)

    response = limited(event(), Context())
    assert response["statusCode"] == 429
    assert response["headers"]["Retry-After"] == "42"

    @route
    def anonymous(request: Request) -> dict[str, Any]:
        raise unauthorized()

    response = anonymous(event(), Context())
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_the_lambda_request_id_is_used_without_a_gateway_one() -> None:
    @route
    def refuses(request: Request) -> dict[str, Any]:
        raise Problem(404, "user not found")

    assert body(refuses({"httpMethod": "GET"}, Context()))["request_id"] == "lambda-req-9"


class Lines(logging.Handler):
    """The JSON lines Powertools' Logger writes, formatted by its own formatter."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        std = logger()._logger  # the standard logger Powertools wraps
        self.setFormatter(std.handlers[0].formatter)
        std.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def close(self) -> None:
        logger()._logger.removeHandler(self)
        super().close()


def test_an_unexpected_error_is_a_500_that_leaks_nothing() -> None:
    secret = "password=hunter2-SECRET"

    @route
    def crashes(request: Request) -> dict[str, Any]:
        raise RuntimeError(f"boom with {secret}")

    capture = Lines()
    try:
        response = crashes(event(), Context())
    finally:
        capture.close()
    logged = "\n".join(capture.lines)
    assert response["statusCode"] == 500
    assert body(response) == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
        "request_id": "gw-req-1",
    }
    assert secret not in response["body"]
    # Logged for the operator: the type and where it was raised, not the message.
    assert '"error":"RuntimeError"' in logged
    assert '"route":"crashes"' in logged
    assert "hunter2" not in logged


def test_a_database_outage_is_a_503_with_retry_after() -> None:
    @route
    def no_db(request: Request) -> dict[str, Any]:
        raise DatabaseUnavailableError("connection refused")

    response = no_db(event(), Context())
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert "connection refused" not in response["body"]


def test_a_nul_in_the_query_is_a_400_before_the_route_runs() -> None:
    calls: list[str] = []

    @route
    def listing(request: Request) -> dict[str, Any]:
        calls.append(request.path)
        return json_response(200, {})

    response = listing(event(queryStringParameters={"cursor": "a\x00"}), Context())
    assert response["statusCode"] == 400
    assert body(response)["request_id"] == "gw-req-1"
    assert calls == []


@pytest.mark.parametrize(
    ("status", "error_type", "metric"),
    [(429, "rate_limited", "RateLimitedRequests"), (401, "unauthorized", "AuthFailures")],
)
def test_refusals_are_counted_as_emf_metrics(
    capsys: pytest.CaptureFixture, status: int, error_type: str, metric: str
) -> None:
    @route
    def refuses(request: Request) -> dict[str, Any]:
        raise Problem(status, "no")

    assert refuses(event(), Context())["statusCode"] == status
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(doc.get("ErrorType") == error_type and doc.get("Errors") == [1.0] for doc in emf)
    assert any(doc.get(metric) == [1.0] for doc in emf)
