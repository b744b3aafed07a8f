"""The answers API Gateway gives by itself: status, exact body bytes, x-amzn-ErrorType."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    status: int
    body: bytes
    error_type: str | None
    reason: str  # for the access line only


MISSING_AUTHENTICATION_TOKEN = GatewayResponse(
    403,
    b'{"message":"Missing Authentication Token"}',
    "MissingAuthenticationTokenException",
    "no such route",
)
INTEGRATION_FAILURE = GatewayResponse(
    502, b'{"message": "Internal server error"}', "InternalServerErrorException", "function error"
)
MALFORMED_PROXY_RESPONSE = GatewayResponse(
    502,
    b'{"message": "Internal server error"}',
    "InternalServerErrorException",
    "malformed Lambda proxy response",
)
# API_CONFIGURATION_ERROR: e.g. an isBase64Encoded body that does not decode as base64.
API_CONFIGURATION_ERROR = GatewayResponse(
    500,
    b'{"message": "Internal server error"}',
    "InternalServerErrorException",
    "bad base64 body",
)
INTEGRATION_TIMEOUT = GatewayResponse(
    504,
    b'{"message": "Endpoint request timed out"}',
    "InternalServerErrorException",
    "integration timeout",
)
REQUEST_TOO_LARGE = GatewayResponse(413, b'{"message":"Request Too Long"}', None, "body over 10 MB")
UNAUTHORIZED = GatewayResponse(
    401, b'{"message":"Unauthorized"}', "UnauthorizedException", "authorizer: unauthorized"
)
ACCESS_DENIED = GatewayResponse(
    403,
    b'{"Message":"User is not authorized to access this resource"}',
    "AccessDeniedException",
    "authorizer: no Allow for this method",
)
ACCESS_DENIED_EXPLICIT = GatewayResponse(
    403,
    b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
    "AccessDeniedException",
    "authorizer: explicit Deny",
)
AUTHORIZER_CONFIGURATION_ERROR = GatewayResponse(
    500, b'{"message":null}', "AuthorizerConfigurationException", "authorizer failed"
)
INVALID_API_KEY = GatewayResponse(
    403, b'{"message":"Forbidden"}', "ForbiddenException", "missing or unknown API key"
)
THROTTLED = GatewayResponse(
    429, b'{"message":"Too Many Requests"}', "TooManyRequestsException", "usage plan throttle"
)
