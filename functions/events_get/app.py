"""GET /v1/events/{id}: the event, for callers with subscribe on its topic (404 otherwise)."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.events import service
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    event = service.get_event(request.require_caller(), request.path_params.get("id", ""))
    return json_response(200, event)
