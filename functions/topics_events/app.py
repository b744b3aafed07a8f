"""GET /v1/topics/{name}/events?after=<cursor>&limit=: pull a topic's (or pattern's) events in
order, with the cursor to continue from."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.request import topic_param
from eventstream.api.validation import query_int
from eventstream.http import json_response
from eventstream.subscriptions import service


@route
def handler(request: Request) -> dict[str, Any]:
    limit = query_int(request.query, "limit", default=100, low=1, high=service.MAX_PULL)
    page = service.pull(
        request.require_caller(),
        topic_param(request),
        request.query.get("after") or None,
        limit,
    )
    return json_response(200, page)
