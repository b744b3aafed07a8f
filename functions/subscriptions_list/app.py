"""GET /v1/subscriptions: the caller's subscriptions (an admin's: all), paginated."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import query_int
from eventstream.http import json_response
from eventstream.subscriptions import service


@route
def handler(request: Request) -> dict[str, Any]:
    limit = query_int(request.query, "limit", default=50, low=1, high=service.MAX_PAGE)
    page = service.list_subscriptions(
        request.require_caller(), cursor=request.query.get("cursor") or None, limit=limit
    )
    return json_response(200, page)
