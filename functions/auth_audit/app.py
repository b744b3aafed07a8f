"""GET /auth/audit (admin): entries newest first, by user, action and time range, paginated."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import audit
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    return json_response(200, audit.search(request.query))
