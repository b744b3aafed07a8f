"""The Lambda authorizer of every non-public /v1 and /auth route: bearer token or API key."""

from __future__ import annotations

from typing import Any

from eventstream.auth.authorizer import Unauthorized, decide
from eventstream.observability.metrics import MetricName, count
from eventstream.observability.powertools import observed


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return decide(event)
    except Unauthorized:
        count(MetricName.AUTH_FAILURES)
        raise
