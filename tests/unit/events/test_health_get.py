"""The sample event is what API Gateway (REST, proxy integration) sends for GET /v1/health."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from tests.support import PROJECT_DIR


def test_the_sample_event_validates_as_a_rest_proxy_event() -> None:
    raw = json.loads((PROJECT_DIR / "events" / "health_get.json").read_text())
    event = APIGatewayProxyEventModel(**raw)
    assert event.httpMethod == "GET"
    assert event.resource == event.path == "/v1/health"
    assert event.requestContext.stage == "dev"
    assert event.requestContext.path == "/dev/v1/health"
    assert event.multiValueHeaders["Host"] == [event.headers["Host"]]
