"""The Lambda authorizer's decision: a bearer token (TOKEN event) or an API key (REQUEST event).

Tokens are checked in-process against the cached public keys. The policy allows the whole API
for a user token, because API Gateway caches one decision per token for every route; which
routes need the admin role is decided by the routes from the roles passed in the context.
An API key is allowed only the API-key routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstream.api.request import bearer
from eventstream.auth.tokens import TokenError
from eventstream.auth.verifier import verifier

# Routes an API key opens (method/path under the stage), as the policy's resource suffixes.
API_KEY_ROUTES = ("GET/v1/stats/*",)


class Unauthorized(Exception):
    """API Gateway answers 401 when an authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _api_base(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:apiId/stage/METHOD/path → arn:…:apiId/stage
    arn_prefix, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{arn_prefix}/{stage}"


def _policy(principal: str, resources: list[str], context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}
            ],
        },
        "context": context,
    }


def decide(event: Mapping[str, Any]) -> dict[str, Any]:
    method_arn = str(event.get("methodArn") or "")
    base = _api_base(method_arn)
    if event.get("type") == "TOKEN":
        token = bearer(event.get("authorizationToken"))
        if token is None:
            raise Unauthorized
        try:
            claims = verifier().verify(token)
        except TokenError:
            raise Unauthorized from None
        roles = ",".join(claims.roles)
        return _policy(claims.sub, [f"{base}/*"], {"sub": claims.sub, "roles": roles})
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    key = headers.get("x-api-key")
    if not isinstance(key, str) or not key:
        raise Unauthorized
    from eventstream.auth.api_keys import check  # only the API-key path needs the database

    key_id = check(key)
    if key_id is None:
        raise Unauthorized
    principal = f"apikey:{key_id}"
    resources = [f"{base}/{route}" for route in API_KEY_ROUTES]
    return _policy(principal, resources, {"sub": principal, "roles": "apikey"})
