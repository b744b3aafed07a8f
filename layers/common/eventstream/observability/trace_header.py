"""The X-Ray trace header (`X-Amzn-Trace-Id`, `_X_AMZN_TRACE_ID`), read the same way by every hop:
the local gateway and Lambda service, the functions and the core."""

from __future__ import annotations


def parse_trace_header(header: str | None) -> dict[str, str]:
    """`Root=1-…;Parent=…;Sampled=1` as a dict (keys as written); {} for None or ""."""
    fields = {}
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    return fields
