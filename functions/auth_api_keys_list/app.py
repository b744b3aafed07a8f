"""GET /auth/api-keys (admin): keys by prefix and name, never the key; `?revoked=true` too."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import api_keys
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    include_revoked = request.query.get("revoked") == "true"
    return json_response(200, {"items": api_keys.list_keys(include_revoked)})
