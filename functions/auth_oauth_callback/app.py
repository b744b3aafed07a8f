"""GET /auth/oauth/{provider}/callback (public): the provider's redirect back; a token pair.

Answers 200 JSON: {access_token, refresh_token, token_type, expires_in, account, user}.
"""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import oauth
from eventstream.auth.audit import AuditContext
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    done = oauth.callback(
        request.path_params.get("provider", ""),
        dict(request.query),
        request.headers.get("cookie"),
        AuditContext.of(request),
    )
    return json_response(
        200, done.to_json(), {"Cache-Control": "no-store", "Set-Cookie": done.clear_cookie}
    )
