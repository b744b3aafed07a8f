"""GET /v1/stats/realtime (API key): live stats summed over the core nodes, and per node."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.events import stats
from eventstream.http import json_response


@route
def handler(request: Request) -> dict[str, Any]:
    request.require_caller()
    return json_response(200, stats.realtime(), {"Cache-Control": "no-store"})
