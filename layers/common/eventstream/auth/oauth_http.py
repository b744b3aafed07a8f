"""Outbound HTTP to OAuth providers: stdlib urllib, JSON answers, a timeout on every call.

Redirects are not followed: a token or API endpoint that redirects is misconfigured, and a
followed redirect could carry the client secret or a bearer token somewhere else.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from eventstream import __version__

TIMEOUT_S = 4.0  # a callback makes up to three calls (discovery, token, keys) in its 20 s
MAX_RESPONSE_BYTES = 1_048_576
USER_AGENT = f"eventstream-auth/{__version__}"


class ProviderError(Exception):
    """The provider refused or failed; `error` is its OAuth error code or our short reason.

    `status` is the HTTP status (0 when the provider could not be reached). Neither holds a
    token or secret, so both may go to logs and audit details.
    """

    def __init__(self, error: str, status: int = 0, *, unavailable: bool = False) -> None:
        super().__init__(f"{error} (HTTP {status})" if status else error)
        self.error = error
        self.status = status
        self.unavailable = unavailable  # unreachable or 5xx: a 502, not the user's fault


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirect)


def _check_url(url: str) -> None:
    if urlsplit(url).scheme not in ("https", "http"):
        raise ProviderError("invalid_endpoint")


def _decode(raw: bytes, status: int) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ProviderError("invalid_response", status) from None


def _oauth_error(body: bytes, status: int) -> ProviderError:
    """RFC 6749 §5.2 error bodies name the error; anything else is reported by status."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, str) and error.isascii() and len(error) <= 64:
        return ProviderError(error, status, unavailable=status >= 500)
    return ProviderError("http_error", status, unavailable=status >= 500)


def request_json(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Any:
    """GET `url`, or POST `form` url-encoded; the JSON body of a 2xx answer."""
    _check_url(url)
    data = urlencode(form).encode("ascii") if form is not None else None
    req = urllib.request.Request(  # noqa: S310 -- scheme checked above
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with _opener.open(req, timeout=timeout_s) as resp:
            raw = resp.read(MAX_RESPONSE_BYTES + 1)
            status = resp.status
    except urllib.error.HTTPError as e:
        body = e.read(MAX_RESPONSE_BYTES) if e.fp is not None else b""
        raise _oauth_error(body, e.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = "timeout" if isinstance(getattr(e, "reason", e), TimeoutError) else "unreachable"
        raise ProviderError(reason, unavailable=True) from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ProviderError("response_too_large", status)
    return _decode(raw, status)
