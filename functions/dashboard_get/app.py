"""GET /dashboard (public): the live stats page; its script polls GET /v1/stats/realtime."""

from __future__ import annotations

from typing import Any

from eventstream import dashboard
from eventstream.api import Request, route


@route
def handler(request: Request) -> dict[str, Any]:
    # Public: the page holds no data; the stats it shows need the API key the user types in.
    return {
        "statusCode": 200,
        "headers": dashboard.headers(),
        "body": dashboard.html(),
        "isBase64Encoded": False,
    }
