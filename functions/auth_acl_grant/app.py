"""POST /auth/acl/grant (admin): give a user publish or subscribe on a topic pattern."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import permissions
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    entry, created = permissions.grant(request.json_body(), AuditContext.of(request))
    return json_response(201 if created else 200, permissions.entry_json(entry))
