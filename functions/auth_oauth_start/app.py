"""GET /auth/oauth/{provider}/start (public): redirect to GitHub or Google to sign in."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.auth import oauth
from eventstream.http import empty_response


@route
def handler(request: Request) -> dict[str, Any]:
    started = oauth.start(request.path_params.get("provider", ""))
    return empty_response(
        302,
        {
            "Location": started.location,
            "Set-Cookie": started.set_cookie,
            "Cache-Control": "no-store",
        },
    )
