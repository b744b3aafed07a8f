"""PATCH /auth/users/{id}: email; password (self: with the current one); roles, disabled (admin)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import users
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    user = users.update_user(
        request.require_caller(),
        request.path_params.get("id", ""),
        request.json_body(),
        AuditContext.of(request),
    )
    return json_response(200, user.to_json())
