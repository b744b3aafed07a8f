"""Identifiers API Gateway stamps on requests, and the stable ids of APIs, resources and keys."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid

# strftime's %b follows the locale; API Gateway's requestTime is always English.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def request_id() -> str:
    return str(uuid.uuid4())


def extended_request_id() -> str:
    """Like x-amz-apigw-id on AWS: 11 random bytes in URL-safe base64, e.g. LH9rRG6_PHcFSLQ=."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode("ascii")


def trace_header(now: float) -> str:
    """A new X-Ray root, 1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>, not yet sampled."""
    return f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"


def request_time(now: float) -> str:
    """requestContext.requestTime: dd/Mon/yyyy:HH:MM:SS +0000."""
    t = time.gmtime(now)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def api_id(logical_id: str) -> str:
    """The id `!Ref <Api>` resolves to locally (template.py uses the same hash), so ARNs agree."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def resource_id(api_logical_id: str, resource_path: str) -> str:
    """A stable 6-character resource id, as API Gateway gives each resource of an API."""
    return _short_id(f"{api_logical_id}:{resource_path}", 6)


def api_key_id(api_key: str) -> str:
    return _short_id(f"apikey:{api_key}", 10)


def _short_id(text: str, length: int) -> str:
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[digit])
    return "".join(chars)
