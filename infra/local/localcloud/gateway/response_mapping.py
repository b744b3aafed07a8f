"""A Lambda proxy response document turned into the HTTP response API Gateway sends back."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDict

# API Gateway renames these when a function returns them, so they cannot clash with its own.
_REMAPPED = {
    name.lower(): f"x-amzn-Remapped-{name}"
    for name in (
        "Authorization",
        "Connection",
        "Content-Length",
        "Date",
        "Server",
        "WWW-Authenticate",
    )
}
# Hop-by-hop headers describe the function's connection, not the client's: dropped.
_DROPPED = frozenset(
    {"keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


class MalformedProxyResponse(ValueError):
    """Not the documented {statusCode, headers, multiValueHeaders, body, isBase64Encoded}: a 502."""


class BadBase64Body(ValueError):
    """isBase64Encoded with a body that is not base64, while converting to binary: a 500."""


@dataclass(frozen=True, slots=True)
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]  # merged headers and multiValueHeaders, in order
    body: str
    is_base64: bool

    def render(self, convert_to_binary: bool) -> tuple[CIMultiDict[str], bytes]:
        """The response headers and body; base64 is decoded only when the client accepts binary."""
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in self.headers:
            lower = name.lower()
            if lower in _DROPPED:
                continue
            headers.add(_REMAPPED.get(lower, name), value)
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        if self.is_base64 and convert_to_binary:
            try:
                body = base64.b64decode(self.body, validate=True)
            except (binascii.Error, ValueError) as e:
                raise BadBase64Body(str(e)) from e
        else:
            body = self.body.encode("utf-8")
        return headers, body


def parse_proxy_response(payload: bytes) -> ProxyResponse:
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedProxyResponse("the function's result is not JSON") from e
    if not isinstance(doc, dict):
        raise MalformedProxyResponse("the function's result is not a JSON object")
    status = _status(doc.get("statusCode"))
    single = _header_map(doc.get("headers"), "headers")
    multi = _multi_header_map(doc.get("multiValueHeaders"))
    # A header in both: only multiValueHeaders' values appear, as the docs say.
    in_multi = {name.lower() for name, _ in multi}
    headers = [(n, v) for n, v in single if n.lower() not in in_multi]
    headers.extend(multi)
    body = doc.get("body")
    if body is None:
        body = ""
    elif not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string (JSON-encode objects yourself)")
    is_base64 = doc.get("isBase64Encoded", False)
    if is_base64 is None:
        is_base64 = False
    elif not isinstance(is_base64, bool):
        raise MalformedProxyResponse("isBase64Encoded must be a boolean")
    return ProxyResponse(status, headers, body, is_base64)


def _status(value: Any) -> int:
    if value is None:
        raise MalformedProxyResponse("statusCode is missing")
    if isinstance(value, bool):
        raise MalformedProxyResponse("statusCode must be an integer")
    if isinstance(value, str) and value.isdigit():
        value = int(value)  # Jackson on AWS's side reads "200" as 200
    if not isinstance(value, int):
        raise MalformedProxyResponse("statusCode must be an integer")
    if not 100 <= value <= 599:
        raise MalformedProxyResponse(f"statusCode {value} is not an HTTP status")
    return value


def _header_map(value: Any, key: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedProxyResponse(f"{key} must be an object")
    pairs = []
    for name, item in value.items():
        text = _header_value(item, key)
        if text is not None:
            pairs.append((name, text))
    return pairs


def _multi_header_map(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedProxyResponse("multiValueHeaders must be an object")
    pairs = []
    for name, items in value.items():
        if items is None:
            continue
        if not isinstance(items, list):
            raise MalformedProxyResponse("multiValueHeaders values must be lists")
        for item in items:
            text = _header_value(item, "multiValueHeaders")
            if text is not None:
                pairs.append((name, text))
    return pairs


def _header_value(value: Any, key: str) -> str | None:
    """Scalars become strings as AWS coerces them; objects and lists are malformed."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        raise MalformedProxyResponse(f"{key} values must be strings")
    if "\r" in text or "\n" in text:
        raise MalformedProxyResponse(f"{key} values must not contain line breaks")
    return text
