"""GET /v1/health: public, no auth; 200 when the service can serve, 503 naming what is down."""

from __future__ import annotations

from typing import Any

from eventstream.health.service import check_health
from eventstream.http import json_response
from eventstream.observability.metrics import ErrorType, count_error
from eventstream.observability.powertools import logger, observed


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    status, body = check_health()
    if status != 200:
        count_error(ErrorType.DEPENDENCY)
    logger().info("health checked", extra={"status": body["status"], "checks": body["checks"]})
    # Never cached: a health answer is only true now.
    return json_response(status, body, {"Cache-Control": "no-store"})
