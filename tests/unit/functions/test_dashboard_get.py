"""GET /dashboard's handler answers the sample REST proxy event with the page and its headers."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from eventstream.dashboard import content_security_policy, html
from tests.support import PROJECT_DIR, LambdaContext, function_module

EVENT = json.loads((PROJECT_DIR / "events" / "dashboard_get_page.json").read_text())


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return function_module("dashboard_get")


def test_the_sample_event_is_a_rest_proxy_event_for_the_route() -> None:
    event = APIGatewayProxyEventModel(**EVENT)
    assert event.httpMethod == "GET"
    assert event.resource == event.path == "/dashboard"
    assert event.requestContext.path == "/dev/dashboard"


def test_the_handler_serves_the_page_with_its_csp(
    app: ModuleType, lambda_context: LambdaContext
) -> None:
    response = app.handler(EVENT, lambda_context)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert response["body"] == html()
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert response["headers"]["Content-Security-Policy"] == content_security_policy()
