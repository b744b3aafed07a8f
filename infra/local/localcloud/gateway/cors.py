"""The OPTIONS preflight SAM adds to every path of an Api with Cors: a MOCK answering 200."""

from __future__ import annotations

from collections.abc import Iterable

from localcloud.spec import CorsSpec

_ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def preflight_headers(cors: CorsSpec, resource_methods: Iterable[str]) -> dict[str, str]:
    """The headers SAM's generated integration response sets, values already unquoted."""
    headers = {"Access-Control-Allow-Origin": cors.allow_origin}
    headers["Access-Control-Allow-Methods"] = cors.allow_methods or _default_methods(
        resource_methods
    )
    if cors.allow_headers:
        headers["Access-Control-Allow-Headers"] = cors.allow_headers
    if cors.expose_headers:
        headers["Access-Control-Expose-Headers"] = cors.expose_headers
    if cors.max_age is not None:
        headers["Access-Control-Max-Age"] = str(cors.max_age)
    if cors.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def _default_methods(resource_methods: Iterable[str]) -> str:
    """Without AllowMethods, SAM lists the path's own methods (ANY meaning all) plus OPTIONS."""
    methods = {m.upper() for m in resource_methods}
    if "ANY" in methods:
        return ",".join(_ALL_METHODS)
    return ",".join(sorted(methods | {"OPTIONS"}))
