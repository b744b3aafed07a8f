"""Problem: an error a route answers with as RFC 9457 problem details, raised from any layer."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any


class Problem(Exception):
    """An answer other than success; `detail` is shown to the client, so it names no secret."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or str(status))
        self.status = int(status)
        self.title = title or HTTPStatus(self.status).phrase
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions: dict[str, Any] = dict(extensions or {})
        if errors:
            self.extensions["errors"] = errors


def bad_request(detail: str) -> Problem:
    return Problem(400, detail)


def unauthorized(detail: str = "authentication required") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="eventstream"'})


def forbidden(detail: str = "not allowed") -> Problem:
    return Problem(403, detail)


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def conflict(detail: str) -> Problem:
    return Problem(409, detail)


def too_many_requests(detail: str, retry_after_s: int) -> Problem:
    return Problem(429, detail, headers={"Retry-After": str(max(1, int(retry_after_s)))})
