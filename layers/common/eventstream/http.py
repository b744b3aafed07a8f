"""API Gateway REST (proxy integration) responses: JSON bodies and RFC 9457 problem details."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Mapping
from typing import Any

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def _default(value: Any) -> Any:
    # The types Postgres rows bring back that json cannot write on its own.
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(body: Any) -> str:
    return json.dumps(body, default=_default, separators=(",", ":"), ensure_ascii=False)


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = JSON,
) -> dict[str, Any]:
    """A Lambda proxy integration response; extra headers may override Content-Type."""
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": content_type, **(headers or {})},
        "body": dumps(body),
        "isBase64Encoded": False,
    }


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    request_id: str | None = None,
    *,
    type_uri: str = "about:blank",
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem details response; request_id is an extension member clients can quote.

    extensions add members (e.g. `errors` for a validation failure); they never replace the
    standard ones.
    """
    body: dict[str, Any] = dict(extensions or {})
    body.update({"type": type_uri, "title": title, "status": int(status)})
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    return json_response(status, body, headers, content_type=PROBLEM_JSON)


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": dict(headers or {}),
        "body": "",
        "isBase64Encoded": False,
    }
