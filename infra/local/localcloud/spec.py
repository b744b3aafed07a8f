"""What the local cloud reads from template.yaml: plain data, resolved and validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


class TemplateError(Exception):
    """A template the local cloud cannot run; the message names the resource and the fix."""


class NotEmulatedError(TemplateError):
    """A Ref or GetAtt of a resource that exists on AWS only (VPC, RDS Proxy, ECS, …)."""


@dataclass(frozen=True)
class RouteAuth:
    """How the gateway guards one route (SAM's per-event `Auth`, merged with the Api's defaults)."""

    authorizer: str | None = None  # an authorizer name of the Api, or None for a public route
    api_key_required: bool = False


@dataclass(frozen=True)
class ApiEvent:
    """One `Type: Api` event of a function: the route it serves."""

    api_id: str  # logical id of the AWS::Serverless::Api
    path: str  # e.g. /v1/events/{id} or /v1/{proxy+}
    method: str  # upper case, or ANY
    auth: RouteAuth = field(default_factory=RouteAuth)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    function_name: str  # FunctionName, or <stack>-<logical id> as CloudFormation would name it
    handler: str  # module.function, relative to code_dir
    code_dir: Path
    layer_dirs: tuple[Path, ...]  # directories that go on sys.path as /opt/python does on AWS
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, str]
    events: tuple[ApiEvent, ...] = ()
    reserved_concurrency: int | None = None
    tracing_active: bool = False


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function_id: str  # logical id of the authorizer's function
    type: Literal["TOKEN", "REQUEST"]
    identity_headers: tuple[str, ...] = ("Authorization",)
    identity_query: tuple[str, ...] = ()
    ttl_s: int = 300  # ReauthorizeEvery; 0 turns the cache off
    validation_expression: str | None = None  # TOKEN only: regex the token must match


@dataclass(frozen=True)
class CorsSpec:
    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    expose_headers: str | None = None
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ThrottleSpec:
    rate_limit: float  # steady requests per second
    burst_limit: int


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage_name: str
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    cors: CorsSpec | None = None
    usage_plan_throttle: ThrottleSpec | None = None
    variables: dict[str, str] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    tracing_enabled: bool = False  # TracingEnabled: the stage records X-Ray segments


@dataclass(frozen=True)
class SecretSpec:
    """An AWS::SecretsManager::Secret the functions read: the local cloud seeds it into moto."""

    logical_id: str
    name: str
    # What the local cloud puts in it: "database" (the local Postgres credentials, RDS format),
    # from the resource's `Metadata: {LocalCloud: {Seed: database}}`; None: generated.
    seed: str | None = None
    generate: dict[str, object] | None = None  # GenerateSecretString, as CloudFormation reads it


@dataclass(frozen=True)
class TemplateSpec:
    stack_name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec]
    apis: dict[str, ApiSpec]
    secrets: dict[str, SecretSpec]

    def routes(self) -> list[tuple[FunctionSpec, ApiEvent]]:
        return [(fn, ev) for fn in self.functions.values() for ev in fn.events]
