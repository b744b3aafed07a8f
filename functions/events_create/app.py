"""POST /v1/events: publish one event; 201 once the core has committed it to Postgres."""

from __future__ import annotations

from typing import Any

from eventstream.api import Request, route
from eventstream.events import service
from eventstream.http import json_response
from eventstream.observability.powertools import logger

MAX_BODY_BYTES = 300 * 1024  # a 256 KB payload plus its envelope


@route
def handler(request: Request) -> dict[str, Any]:
    caller = request.require_caller()
    body, headers, replayed = service.publish(
        caller,
        request.json_body(max_bytes=MAX_BODY_BYTES),
        request.headers.get("idempotency-key"),
        service.trace_header_from_env(),
    )
    # One line per event, carrying the X-Ray trace id: logs, trace and metrics meet on it.
    logger().info("event published", extra={"event_id": body["event_id"], "replayed": replayed})
    headers["Location"] = f"/v1/events/{body['event_id']}"
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, body, headers)
