"""POST /auth/token/refresh: spend a refresh token for a new pair (rotation, reuse detection)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import Fields
from eventstream.auth import sessions
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    fields = Fields(request.json_body(), allowed={"refresh_token"})
    token = fields.string("refresh_token", max_len=512)
    fields.done()
    assert token is not None
    pair = sessions.refresh(token, AuditContext.of(request))
    return json_response(200, pair.to_json(), {"Cache-Control": "no-store"})
