"""GET /auth/users/{id} (self or admin)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import users
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    user = users.get_user(request.require_caller(), request.path_params.get("id", ""))
    return json_response(200, user.to_json())
