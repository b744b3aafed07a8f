"""DELETE /auth/api-keys/{id} (admin): revoke a key; it stops working at once (after the cache)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import api_keys
from eventstream.auth.audit import AuditContext
from eventstream.http import empty_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_admin()
    api_keys.revoke(request.path_params.get("id", ""), AuditContext.of(request))
    return empty_response(204)
