"""POST /auth/api-keys (admin): a new API key, shown in this answer only."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import api_keys
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    created = api_keys.create(request.json_body(), AuditContext.of(request))
    return json_response(201, created, {"Cache-Control": "no-store"})
