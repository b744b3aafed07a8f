"""Lambda authorizers (TOKEN and REQUEST): identity checks, the invocation, the result cache."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from localcloud.gateway import gateway_responses as responses
from localcloud.gateway.errors import GatewayError
from localcloud.gateway.gateway_responses import GatewayResponse
from localcloud.gateway.invocation import BoundedInvoker
from localcloud.gateway.policy import Decision, Policy, PolicyError
from localcloud.gateway.request_event import RequestFacts, event_json, request_authorizer_event
from localcloud.gateway.routes import Route
from localcloud.gateway.tracing import GatewayTrace
from localcloud.invoke import InvokeResult
from localcloud.spec import AuthorizerSpec

_CACHE_LIMIT = 10_000


class AuthorizerOutputError(ValueError):
    """An authorizer result API Gateway rejects with 500 AuthorizerConfigurationException."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What AWS caches per identity: the whole policy, judged again for each methodArn."""

    principal_id: str
    context: dict[str, str]
    policy: Policy
    latency_ms: int = 0  # of the invocation that produced it; a cache hit reports it again

    @classmethod
    def parse(cls, payload: bytes) -> Grant:
        try:
            doc = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as e:
            raise AuthorizerOutputError("the authorizer's result is not JSON") from e
        if not isinstance(doc, dict):
            raise AuthorizerOutputError("the authorizer's result is not an object")
        principal = doc.get("principalId")
        if isinstance(principal, bool) or not isinstance(principal, str | int | float):
            raise AuthorizerOutputError("principalId is missing or not a string")
        try:
            policy = Policy.parse(doc.get("policyDocument"))
        except PolicyError as e:
            raise AuthorizerOutputError(str(e)) from e
        return cls(str(principal), _stringify_context(doc.get("context")), policy)


class LambdaAuthorizer:
    """One authorizer of one Api, with its own cache keyed by the identity source values."""

    def __init__(
        self,
        spec: AuthorizerSpec,
        invoker: BoundedInvoker,
        clock: Callable[[], float] = time.monotonic,
        function_name: str | None = None,
    ) -> None:
        self.spec = spec
        self.function_name = function_name or spec.function_id  # its trace subsegment's name
        self._invoker = invoker
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, Grant]] = {}
        self._validation: re.Pattern[str] | None = None
        if spec.type == "TOKEN" and not spec.identity_headers:
            raise GatewayError(
                f"authorizer {spec.name}: a TOKEN authorizer needs an identity header"
            )
        if spec.type == "TOKEN" and spec.validation_expression:
            try:
                self._validation = re.compile(spec.validation_expression)
            except re.error as e:
                raise GatewayError(
                    f"authorizer {spec.name}: ValidationExpression "
                    f"{spec.validation_expression!r} is not a regular expression ({e})"
                ) from e

    def identity(self, facts: RequestFacts) -> tuple[str, ...] | None:
        """The identity source values; None when one is missing or empty (401, no invocation)."""
        if self.spec.type == "TOKEN":
            token = facts.lookup.get(self.spec.identity_headers[0])
            return (token,) if token else None
        values: list[str] = []
        for header in self.spec.identity_headers:
            value = facts.lookup.get(header)
            if not value:
                return None
            values.append(value)
        for name in self.spec.identity_query:
            value = facts.query.get(name) if facts.query else None
            if not value:
                return None
            values.append(value)
        return tuple(values)

    async def authorize(
        self, route: Route, facts: RequestFacts, method_arn: str, trace: GatewayTrace | None = None
    ) -> dict[str, Any] | GatewayResponse:
        """requestContext.authorizer for the proxy event, or the response that refuses."""
        identity = self.identity(facts)
        if identity is None:
            return responses.UNAUTHORIZED
        if self._validation is not None and not self._validation.fullmatch(identity[0]):
            return responses.UNAUTHORIZED
        caching = self.spec.ttl_s > 0 and bool(identity)
        grant = self._cached(identity) if caching else None
        if grant is None:
            started = time.perf_counter()
            outcome = await self._invoke(route, facts, method_arn, identity, trace)
            if isinstance(outcome, GatewayResponse):
                return outcome
            grant = replace(outcome, latency_ms=round((time.perf_counter() - started) * 1000))
            if caching:
                self._store(identity, grant)
        decision = grant.policy.evaluate(method_arn)
        if decision is Decision.EXPLICIT_DENY:
            return responses.ACCESS_DENIED_EXPLICIT
        if decision is Decision.IMPLICIT_DENY:
            return responses.ACCESS_DENIED
        return {
            **grant.context,
            "principalId": grant.principal_id,
            "integrationLatency": grant.latency_ms,
        }

    async def _invoke(
        self,
        route: Route,
        facts: RequestFacts,
        method_arn: str,
        identity: tuple[str, ...],
        trace: GatewayTrace | None,
    ) -> Grant | GatewayResponse:
        if self.spec.type == "TOKEN":
            event: dict[str, Any] = {
                "type": "TOKEN",
                "authorizationToken": identity[0],
                "methodArn": method_arn,
            }
        else:
            event = request_authorizer_event(route, facts, method_arn)
        call = trace.call(self.function_name) if trace is not None else None
        header = trace.header_for(call) if trace is not None and call else facts.trace_header
        try:
            result = await self._invoker.invoke(self.spec.function_id, event_json(event), header)
        except Exception:  # the emulator could not run it: AWS's answer is the same
            if trace is not None and call:
                trace.finish(call, "error")
            return responses.AUTHORIZER_CONFIGURATION_ERROR
        if trace is not None and call:
            trace.finish(call, result.status if result is not None else "timeout")
        if result is None or result.status == "timeout":
            return responses.AUTHORIZER_CONFIGURATION_ERROR
        if result.status == "error":
            return _refusal(result)
        try:
            return Grant.parse(result.payload)
        except AuthorizerOutputError:
            return responses.AUTHORIZER_CONFIGURATION_ERROR

    def _cached(self, identity: tuple[str, ...]) -> Grant | None:
        entry = self._cache.get(identity)
        if entry is None:
            return None
        expires, grant = entry
        if self._clock() >= expires:
            del self._cache[identity]
            return None
        return grant

    def _store(self, identity: tuple[str, ...], grant: Grant) -> None:
        now = self._clock()
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        self._cache[identity] = (now + self.spec.ttl_s, grant)


def _refusal(result: InvokeResult) -> GatewayResponse:
    """An authorizer that raises "Unauthorized" means 401; any other error is a 500."""
    try:
        message = json.loads(result.payload).get("errorMessage")
    except (ValueError, UnicodeDecodeError, AttributeError):
        message = None
    if message == "Unauthorized":
        return responses.UNAUTHORIZED
    return responses.AUTHORIZER_CONFIGURATION_ERROR


def _stringify_context(context: Any) -> dict[str, str]:
    """AWS hands context values on as strings; objects and arrays make the result invalid."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise AuthorizerOutputError("context must be an object")
    out: dict[str, str] = {}
    for key, value in context.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[key] = str(value)
        else:
            raise AuthorizerOutputError(f"context value {key!r} is not a string, number or boolean")
    return out
