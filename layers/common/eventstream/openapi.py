"""The OpenAPI 3.1 document of /v1 and /auth, served at GET /v1/openapi.json.

Kept beside the code it describes; tests/unit/eventstream/test_openapi.py checks it against
template.yaml (every route, its auth) and the e2e suites check answers against its schemas.
"""

from __future__ import annotations

import functools
from typing import Any

from eventstream import __version__

JSON = "application/json"
PROBLEM = "application/problem+json"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
API_KEY: list[dict[str, list[str]]] = [{"apiKey": []}]
PUBLIC: list[dict[str, list[str]]] = []

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], props: dict[str, Schema], extra: bool = False) -> Schema:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": extra,
    }


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
TIME: Schema = {"type": "string", "format": "date-time"}
UUID: Schema = {"type": "string", "format": "uuid"}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}


def page(item: str) -> Schema:
    return obj(
        ["items", "next_cursor"],
        {"items": {"type": "array", "items": ref(item)}, "next_cursor": NULLABLE_STR},
    )


SCHEMAS: dict[str, Schema] = {
    "Problem": obj(
        ["type", "title", "status"],
        {
            "type": STR,
            "title": STR,
            "status": INT,
            "detail": STR,
            "instance": STR,
            "request_id": STR,
            "errors": {
                "type": "array",
                "items": obj(["field", "message"], {"field": STR, "message": STR}),
            },
        },
        extra=True,
    ),
    "Health": obj(
        ["status", "version", "checks"],
        {
            "status": {"enum": ["ok", "unavailable"]},
            "version": STR,
            "checks": {"type": "object", "additionalProperties": STR},
        },
    ),
    "Login": obj(["username", "password"], {"username": STR, "password": STR}),
    "TokenPair": obj(
        ["access_token", "refresh_token", "token_type", "expires_in"],
        {
            "access_token": STR,
            "refresh_token": STR,
            "token_type": {"const": "Bearer"},
            "expires_in": INT,
        },
    ),
    "Validation": {
        "oneOf": [
            obj(
                ["valid", "sub", "roles", "exp"],
                {
                    "valid": {"const": True},
                    "sub": STR,
                    "roles": {"type": "array", "items": STR},
                    "exp": INT,
                },
            ),
            obj(["valid", "reason"], {"valid": {"const": False}, "reason": STR}),
        ]
    },
    "User": obj(
        [
            "id",
            "username",
            "email",
            "roles",
            "disabled",
            "created_at",
            "updated_at",
            "rate_limit_per_minute",
        ],
        {
            "id": UUID,
            "username": STR,
            "email": NULLABLE_STR,
            "roles": {"type": "array", "items": {"enum": ["user", "admin"]}},
            "disabled": {"type": "boolean"},
            "created_at": TIME,
            "updated_at": TIME,
            "rate_limit_per_minute": {"type": ["integer", "null"]},
        },
    ),
    "NewUser": obj(
        ["username", "password"],
        {
            "username": STR,
            "password": STR,
            "email": STR,
            "roles": {"type": "array", "items": {"enum": ["user", "admin"]}},
        },
    ),
    "UserChange": obj(
        [],
        {
            "email": NULLABLE_STR,
            "password": STR,
            "current_password": STR,
            "roles": {"type": "array", "items": {"enum": ["user", "admin"]}},
            "disabled": {"type": "boolean"},
            "rate_limit_per_minute": {"type": ["integer", "null"], "minimum": 1},
        },
    ),
    "AclEntry": obj(
        ["id", "user_id", "topic_pattern", "permission"],
        {
            "id": INT,
            "user_id": UUID,
            "topic_pattern": STR,
            "permission": {"enum": ["publish", "subscribe"]},
        },
    ),
    "Grant": obj(
        ["user_id", "topic_pattern", "permission"],
        {"user_id": UUID, "topic_pattern": STR, "permission": {"enum": ["publish", "subscribe"]}},
    ),
    "Permissions": obj(
        ["user_id", "roles", "acl"],
        {
            "user_id": UUID,
            "roles": {"type": "array", "items": STR},
            "acl": {"type": "array", "items": ref("AclEntry")},
        },
    ),
    "ApiKey": obj(
        ["id", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"],
        {
            "id": UUID,
            "name": STR,
            "prefix": STR,
            "created_by": NULLABLE_STR,
            "created_at": TIME,
            "last_used_at": NULLABLE_TIME,
            "revoked_at": NULLABLE_TIME,
        },
    ),
    "AuditEntry": obj(
        ["id", "occurred_at", "action", "outcome"],
        {
            "id": INT,
            "occurred_at": TIME,
            "action": STR,
            "outcome": {"enum": ["success", "failure"]},
            "actor_id": NULLABLE_STR,
            "target_type": NULLABLE_STR,
            "target_id": NULLABLE_STR,
            "source_ip": NULLABLE_STR,
            "user_agent": NULLABLE_STR,
            "request_id": NULLABLE_STR,
            "details": {"type": "object"},
        },
    ),
    "Jwks": obj(
        ["keys"],
        {
            "keys": {
                "type": "array",
                "items": obj(
                    ["kty", "kid", "alg", "use", "n", "e"],
                    {
                        "kty": {"const": "RSA"},
                        "kid": STR,
                        "alg": {"const": "RS256"},
                        "use": {"const": "sig"},
                        "n": STR,
                        "e": STR,
                    },
                ),
            }
        },
    ),
    "PublishRequest": obj(
        ["topic", "payload"],
        {
            "topic": {
                "type": "string",
                "maxLength": 255,
                "pattern": "^[a-z0-9_-]+(/[a-z0-9_-]+)*$",
            },
            "payload": {"description": "any JSON value, at most 256 KB encoded"},
            "priority": {"type": "integer", "minimum": 0, "maximum": 9, "default": 5},
        },
    ),
    "Accepted": obj(
        ["event_id", "status", "timestamp", "latency_ms"],
        {
            "event_id": {"type": "string", "pattern": "^evt_[0-9A-HJKMNP-TV-Z]{26}$"},
            "status": {"const": "accepted"},
            "timestamp": TIME,
            "latency_ms": {"type": "number"},
        },
    ),
    "Event": obj(
        ["event_id", "topic", "payload", "priority", "timestamp"],
        {
            "event_id": STR,
            "topic": STR,
            "payload": {},
            "priority": INT,
            "timestamp": TIME,
            "stored_at": TIME,
        },
        extra=True,
    ),
    "Stats": obj(
        ["summary", "nodes"], {"summary": {"type": "object"}, "nodes": {"type": "object"}}
    ),
}
SCHEMAS.update(
    {
        "Topic": obj(
            ["topic", "event_count", "last_event_at"],
            {"topic": STR, "event_count": INT, "last_event_at": TIME},
        ),
        "SubscribeRequest": obj(
            [],
            {
                "webhook_url": {"type": "string", "format": "uri"},
                "mode": {"enum": ["webhook", "pull"]},
            },
        ),
        "Subscription": obj(
            ["id", "user_id", "topic_pattern", "mode", "webhook_url", "created_at"],
            {
                "id": UUID,
                "user_id": UUID,
                "topic_pattern": STR,
                "mode": {"enum": ["webhook", "pull"]},
                "webhook_url": NULLABLE_STR,
                "created_at": TIME,
            },
        ),
        "PulledEvents": obj(
            ["events", "next_cursor", "has_more"],
            {
                "events": {
                    "type": "array",
                    "items": obj(
                        ["event_id", "topic", "payload", "priority", "created_at"],
                        {
                            "event_id": STR,
                            "topic": STR,
                            "payload": {},
                            "priority": INT,
                            "created_at": TIME,
                        },
                    ),
                },
                "next_cursor": STR,
                "has_more": {"type": "boolean"},
            },
        ),
    }
)


def extended(name: str, required: list[str], more: dict[str, Schema]) -> Schema:
    """`name`'s schema with more members: what a create answer adds (a secret shown once)."""
    base = SCHEMAS[name]
    return obj([*base["required"], *required], {**base["properties"], **more})


SCHEMAS["NewApiKey"] = extended("ApiKey", ["key"], {"key": STR})
SCHEMAS["NewSubscription"] = extended("Subscription", [], {"signing_secret": STR, "cursor": STR})
for _name in ("User", "ApiKey", "AuditEntry", "Topic", "Subscription"):
    SCHEMAS[f"{_name}Page"] = page(_name)


def _response(status: int, schema: str | None, description: str) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    media = PROBLEM if schema == "Problem" else JSON
    return {"description": description, "content": {media: {"schema": ref(schema)}}}


def op(
    summary: str,
    security: list[dict[str, list[str]]],
    ok: tuple[int, str | None],
    *,
    body: str | None = None,
    errors: tuple[int, ...] = (),
    params: tuple[str, ...] = (),
    query: tuple[str, ...] = (),
) -> dict[str, Any]:
    responses = {str(ok[0]): _response(ok[0], ok[1], "success")}
    default_errors = (401, 403) if security else ()
    for status in sorted({*errors, *default_errors, 500}):
        responses[str(status)] = _response(status, "Problem", "problem details")
    operation: dict[str, Any] = {"summary": summary, "security": security, "responses": responses}
    parameters = [{"name": p, "in": "path", "required": True, "schema": STR} for p in params]
    parameters += [{"name": q, "in": "query", "required": False, "schema": STR} for q in query]
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    return operation


def html_page(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation whose success answer is an HTML page, not JSON."""
    operation["responses"]["200"]["content"] = {"text/html": {"schema": STR}}
    return operation


PATHS: dict[str, dict[str, Any]] = {
    "/v1/health": {"get": op("Service health", PUBLIC, (200, "Health"), errors=(503,))},
    "/v1/events": {
        "post": op(
            "Publish an event",
            BEARER,
            (201, "Accepted"),
            body="PublishRequest",
            errors=(400, 413, 422, 429, 503),
        )
    },
    "/v1/events/{id}": {
        "get": op("Read an event", BEARER, (200, "Event"), errors=(404,), params=("id",))
    },
    "/v1/topics": {
        "get": op(
            "Topics the caller may see",
            BEARER,
            (200, "TopicPage"),
            errors=(422,),
            query=("limit", "cursor"),
        )
    },
    "/v1/topics/{name}/subscribe": {
        "post": op(
            "Subscribe to a topic or pattern (URL-encoded)",
            BEARER,
            (201, "NewSubscription"),
            body="SubscribeRequest",
            errors=(404, 409, 422),
            params=("name",),
        )
    },
    "/v1/topics/{name}/events": {
        "get": op(
            "Pull a topic's events in order",
            BEARER,
            (200, "PulledEvents"),
            errors=(422,),
            params=("name",),
            query=("after", "limit"),
        )
    },
    "/v1/subscriptions": {
        "get": op(
            "The caller's subscriptions",
            BEARER,
            (200, "SubscriptionPage"),
            errors=(422,),
            query=("limit", "cursor"),
        )
    },
    "/v1/subscriptions/{id}": {
        "delete": op("Delete a subscription", BEARER, (204, None), errors=(404,), params=("id",))
    },
    "/v1/stats/realtime": {"get": op("Live stats of every core node", API_KEY, (200, "Stats"))},
    "/v1/openapi.json": {"get": op("This document", PUBLIC, (200, None))},
    "/dashboard": {
        "get": html_page(
            op("The live stats page; it polls /v1/stats/realtime", PUBLIC, (200, None))
        )
    },
    "/.well-known/jwks.json": {"get": op("Token verification keys", PUBLIC, (200, "Jwks"))},
    "/auth/login": {
        "post": op(
            "Password login", PUBLIC, (200, "TokenPair"), body="Login", errors=(400, 401, 422, 429)
        )
    },
    "/auth/token/validate": {
        "post": op("Validate an access token", PUBLIC, (200, "Validation"), errors=(400, 422))
    },
    "/auth/token/refresh": {
        "post": op("Rotate a refresh token", PUBLIC, (200, "TokenPair"), errors=(400, 401, 422))
    },
    "/auth/logout": {
        "post": op("Revoke the caller's refresh family", BEARER, (200, None), errors=(422,))
    },
    "/auth/users": {
        "post": op(
            "Create a user (admin)", BEARER, (201, "User"), body="NewUser", errors=(400, 409, 422)
        ),
        "get": op(
            "List users (admin)",
            BEARER,
            (200, "UserPage"),
            errors=(422,),
            query=("limit", "cursor"),
        ),
    },
    "/auth/users/{id}": {
        "get": op(
            "Read a user (self or admin)", BEARER, (200, "User"), errors=(404,), params=("id",)
        ),
        "patch": op(
            "Change a user",
            BEARER,
            (200, "User"),
            body="UserChange",
            errors=(404, 409, 422),
            params=("id",),
        ),
        "delete": op(
            "Delete a user (admin)", BEARER, (204, None), errors=(404, 409), params=("id",)
        ),
    },
    "/auth/users/{id}/permissions": {
        "get": op(
            "A user's roles and ACL (self or admin)",
            BEARER,
            (200, "Permissions"),
            errors=(404,),
            params=("id",),
        )
    },
    "/auth/acl/grant": {
        "post": op(
            "Grant a topic permission (admin)",
            BEARER,
            (201, "AclEntry"),
            body="Grant",
            errors=(404, 422),
        )
    },
    "/auth/acl/{id}": {
        "delete": op(
            "Revoke an ACL entry (admin)", BEARER, (204, None), errors=(404,), params=("id",)
        )
    },
    "/auth/api-keys": {
        "post": op("Create an API key (admin)", BEARER, (201, "NewApiKey"), errors=(422,)),
        "get": op("List API keys (admin)", BEARER, (200, None), query=("revoked",)),
    },
    "/auth/api-keys/{id}": {
        "delete": op(
            "Revoke an API key (admin)", BEARER, (204, None), errors=(404,), params=("id",)
        )
    },
    "/auth/audit": {
        "get": op(
            "The audit log (admin)",
            BEARER,
            (200, "AuditEntryPage"),
            errors=(422,),
            query=("user", "action", "from", "to", "limit", "cursor"),
        )
    },
    "/auth/oauth/{provider}/start": {
        "get": op("Start an OAuth2 login", PUBLIC, (302, None), errors=(404,), params=("provider",))
    },
    "/auth/oauth/{provider}/callback": {
        "get": op(
            "Finish an OAuth2 login",
            PUBLIC,
            (200, "TokenPair"),
            errors=(400, 404),
            params=("provider",),
            query=("code", "state"),
        )
    },
}


@functools.cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "EventStream API", "version": __version__},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
