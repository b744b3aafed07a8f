"""GET /auth/users (admin): users by username, `limit` per page, `cursor` for the next."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import query_int
from eventstream.auth import users
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    limit = query_int(request.query, "limit", default=50, low=1, high=users.MAX_PAGE)
    page, next_cursor = users.list_users(request.query.get("cursor") or None, limit)
    return json_response(200, {"items": [u.to_json() for u in page], "next_cursor": next_cursor})
