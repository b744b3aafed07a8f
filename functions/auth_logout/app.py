"""POST /auth/logout: revoke the caller's refresh family (the one given, or all of them)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import Fields
from eventstream.auth import sessions
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    caller = request.require_caller()
    fields = Fields(request.json_body(required=False), allowed={"refresh_token"})
    token = fields.string("refresh_token", required=False, max_len=512)
    fields.done()
    revoked = sessions.logout(caller.sub, token, AuditContext.of(request))
    return json_response(200, {"revoked_tokens": revoked})
