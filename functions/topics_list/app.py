"""GET /v1/topics: topics the caller may see, with event counts and last event time."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import query_int
from eventstream.events import topics
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    limit = query_int(request.query, "limit", default=50, low=1, high=topics.MAX_PAGE)
    page = topics.list_topics(
        request.require_caller(), after=request.query.get("cursor") or None, limit=limit
    )
    return json_response(200, page)
