"""POST /auth/login: username and password for an access and a refresh token."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.api.validation import Fields
from eventstream.auth import passwords, sessions
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response

# At init, not on the first request: argon2's import and the timing-equaliser hash.
passwords.warm_up()


@route
def handler(request: Request) -> dict[str, Any]:
    fields = Fields(request.json_body())
    username = fields.string("username", max_len=255)
    password = fields.string("password", max_len=passwords.MAX_PASSWORD_BYTES)
    fields.done()
    assert username is not None
    assert password is not None
    pair = sessions.login(username, password, AuditContext.of(request))
    return json_response(200, pair.to_json(), {"Cache-Control": "no-store"})
