"""DELETE /v1/subscriptions/{id}: the owner's or an admin's; pending deliveries are failed."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.http import empty_response
from eventstream.subscriptions import service


@route
def handler(request: Request) -> dict[str, Any]:
    service.delete(request.require_caller(), request.path_params.get("id", ""))
    return empty_response(204)
