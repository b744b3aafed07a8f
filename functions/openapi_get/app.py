"""GET /v1/openapi.json (public): the API's OpenAPI document."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.http import json_response
from eventstream.openapi import document


@route
def handler(request: Request) -> dict[str, Any]:
    return json_response(200, document(), {"Cache-Control": "public, max-age=300"})
