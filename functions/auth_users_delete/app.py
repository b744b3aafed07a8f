"""DELETE /auth/users/{id} (admin): the user, their ACL entries and sessions go; the audit stays."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import users
from eventstream.auth.audit import AuditContext
from eventstream.http import empty_response


@route
def handler(request: Request) -> dict[str, Any]:
    caller = request.require_admin()
    users.delete_user(caller, request.path_params.get("id", ""), AuditContext.of(request))
    return empty_response(204)
