"""POST /auth/token/validate: is this access token valid, and whose is it."""

from __future__ import annotations

from typing import Any

from eventstream.api import Problem, Request, route
from eventstream.auth import sessions
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    body = request.json_body(required=False)
    token = body.get("token") if "token" in body else request.bearer_token()
    if token is None:
        raise Problem(400, 'give the token as {"token": …} or an Authorization: Bearer header')
    if not isinstance(token, str):
        raise Problem(422, "token must be a string")
    return json_response(200, sessions.validate(token), {"Cache-Control": "no-store"})
