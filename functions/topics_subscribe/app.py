"""POST /v1/topics/{name}/subscribe: a webhook ({webhook_url}) or pull ({mode: "pull"})
subscription to a topic or pattern (URL-encoded: sensor%2F%2A); its secret is shown once."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.request import topic_param
from eventstream.http import json_response
from eventstream.subscriptions import service


@route
def handler(request: Request) -> dict[str, Any]:
    created = service.create(request.require_caller(), topic_param(request), request.json_body())
    return json_response(
        201,
        created,
        {"Location": f"/v1/subscriptions/{created['id']}", "Cache-Control": "no-store"},
    )
