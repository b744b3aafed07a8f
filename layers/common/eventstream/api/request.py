"""The API Gateway REST proxy event (payload 1.0), read once into what a route needs."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventstream.api.problems import Problem

MAX_JSON_BODY_BYTES = (
    1_048_576  # routes with larger bodies (events: 256 KB payload) check their own
)


@dataclass(frozen=True)
class Caller:
    """Who the authorizer let through: a user (sub = user id) or an API key (sub = apikey:<id>)."""

    sub: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_api_key(self) -> bool:
        return self.sub.startswith("apikey:")


@dataclass(frozen=True)
class Request:
    event: Mapping[str, Any] = field(repr=False)
    method: str
    path: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    request_id: str
    source_ip: str
    user_agent: str
    caller: Caller | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any], context: Any = None) -> Request:
        ctx = event.get("requestContext") or {}
        identity = ctx.get("identity") or {}
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        request_id = ctx.get("requestId") or getattr(context, "aws_request_id", "") or ""
        return cls(
            event=event,
            method=str(event.get("httpMethod") or ""),
            path=str(event.get("path") or ""),
            path_params=dict(event.get("pathParameters") or {}),
            query=dict(event.get("queryStringParameters") or {}),
            headers=headers,
            request_id=str(request_id),
            source_ip=str(identity.get("sourceIp") or ""),
            user_agent=str(identity.get("userAgent") or headers.get("user-agent", ""))[:512],
            caller=_caller(ctx.get("authorizer")),
        )

    def refuse_nul(self) -> None:
        """400 for a NUL in the query or path: Postgres text cannot hold one (a 500 otherwise)."""
        for where, values in (("query", self.query), ("path", self.path_params)):
            if any("\x00" in str(k) or "\x00" in str(v) for k, v in values.items()):
                raise Problem(400, f"the {where} contains a NUL character")

    def raw_body(self) -> bytes:
        body = self.event.get("body")
        if body is None:
            return b""
        if self.event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise Problem(400, "body is not valid base64") from None
        return str(body).encode("utf-8")

    def json_body(self, *, max_bytes: int = MAX_JSON_BODY_BYTES, required: bool = True) -> Any:
        """The body as JSON (an object unless the route says otherwise); 400/413/422 if not."""
        raw = self.raw_body()
        if not raw.strip():
            if required:
                raise Problem(400, "a JSON body is required")
            return {}
        if len(raw) > max_bytes:
            raise Problem(413, f"body is larger than {max_bytes} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
            raise Problem(400, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Problem(422, "body must be a JSON object")
        return body

    def bearer_token(self) -> str | None:
        return bearer(self.headers.get("authorization"))

    def require_caller(self) -> Caller:
        if self.caller is None:
            # Only reachable when a route that needs the authorizer was deployed without it.
            raise Problem(401, "authentication required")
        return self.caller

    def require_admin(self) -> Caller:
        caller = self.require_caller()
        if not caller.is_admin:
            raise Problem(403, "this operation needs the admin role")
        # The token says admin, but it may be 15 minutes old: the account must still be one.
        from eventstream.auth.store import is_active_admin

        if not is_active_admin(caller.sub):
            raise Problem(403, "this account is no longer an active admin")
        return caller


def bearer(value: object) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (scheme case-insensitive), or None."""
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def topic_param(request: Request) -> str:
    """The `{name}` path parameter as a topic or pattern: clients encode its slashes (%2F), and
    gateways differ on decoding them; no topic holds a '%', so decoding here is never wrong."""
    from urllib.parse import unquote

    return unquote(request.path_params.get("name", ""))


def _caller(authorizer: Any) -> Caller | None:
    if not isinstance(authorizer, Mapping):
        return None
    sub = authorizer.get("sub") or authorizer.get("principalId")
    if not sub:
        return None
    roles = tuple(r for r in str(authorizer.get("roles") or "").split(",") if r)
    return Caller(sub=str(sub), roles=roles)
