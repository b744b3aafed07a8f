"""POST /auth/users (admin): create a user."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import users
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    user = users.create_user(request.json_body(), AuditContext.of(request))
    return json_response(201, user.to_json(), {"Location": f"/auth/users/{user.id}"})
