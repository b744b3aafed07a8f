"""The OAuth sample events are REST proxy events for the routes the template declares."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from eventstream.api.request import Request
from eventstream.auth.oauth import STATE_COOKIE, _cookie_state
from tests.support import PROJECT_DIR


@pytest.mark.parametrize("provider", ["github", "google"])
@pytest.mark.parametrize("leg", ["start", "callback"])
def test_the_sample_event_is_a_rest_proxy_event_for_the_route(provider: str, leg: str) -> None:
    raw = json.loads((PROJECT_DIR / "events" / f"auth_oauth_{leg}_{provider}.json").read_text())
    event = APIGatewayProxyEventModel(**raw)
    assert event.httpMethod == "GET"
    assert event.resource == f"/auth/oauth/{{provider}}/{leg}"
    assert event.path == f"/auth/oauth/{provider}/{leg}"
    assert event.pathParameters == {"provider": provider}
    request = Request.from_event(raw)
    if leg == "callback":
        # The browser sends back the state cookie start set: it matches the query's state.
        assert request.query["code"]
        assert _cookie_state(request.headers["cookie"]) == request.query["state"]
        assert request.headers["cookie"].startswith(f"{STATE_COOKIE}=")
    else:
        assert event.queryStringParameters is None
