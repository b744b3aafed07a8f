"""DELETE /auth/acl/{id} (admin): remove one ACL entry."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import permissions
from eventstream.auth.audit import AuditContext
from eventstream.http import empty_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    permissions.revoke(request.path_params.get("id", ""), AuditContext.of(request))
    return empty_response(204)
