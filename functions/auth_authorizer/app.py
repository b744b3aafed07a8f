"""The Lambda authorizer of every non-public /v1 and /auth route: bearer token or API key."""

from __future__ import annotations

from typing import Any

from eventstream.auth.authorizer import decide


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return decide(event)
