"""GET /auth/users/{id}/permissions: the user's roles and ACL entries (self or admin)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import permissions
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    caller = request.require_caller()
    return json_response(
        200, permissions.user_permissions(caller, request.path_params.get("id", ""))
    )
