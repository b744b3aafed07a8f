"""One request through the emulated API Gateway: route, preflight, authorizer, API key, Lambda."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from multidict import CIMultiDict

from localcloud.gateway import gateway_responses as responses
from localcloud.gateway import ids
from localcloud.gateway.authorizers import LambdaAuthorizer
from localcloud.gateway.cors import preflight_headers
from localcloud.gateway.errors import GatewayError
from localcloud.gateway.gateway_responses import GatewayResponse
from localcloud.gateway.http_server import HttpRequest, HttpResponse
from localcloud.gateway.invocation import BoundedInvoker
from localcloud.gateway.media_types import BinaryMediaTypes
from localcloud.gateway.request_event import RequestFacts, event_json, proxy_event, read_request
from localcloud.gateway.response_mapping import (
    BadBase64Body,
    MalformedProxyResponse,
    parse_proxy_response,
)
from localcloud.gateway.routes import HTTP_METHODS, Resource, Route, RouteTable, split_path
from localcloud.gateway.throttle import UsagePlanThrottle
from localcloud.gateway.tracing import GatewayTrace
from localcloud.invoke import Invoker, InvokeResult
from localcloud.runtime.tracing import SegmentSender
from localcloud.sampling import Sampler
from localcloud.spec import ApiSpec, TemplateSpec

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit for REST APIs
# A function that outlives its Timeout is a 504 here, told apart from a crash; AWS answers 502.
FUNCTION_TIMEOUT = responses.INTEGRATION_TIMEOUT

AccessLog = Callable[[str], None]


@dataclass
class _ApiState:
    """What routes of one Api share: ids, stage variables, authorizers, the usage plan."""

    api_id: str
    stage_variables: dict[str, str] | None
    binary_types: BinaryMediaTypes
    throttle: UsagePlanThrottle | None
    authorizers: dict[str, LambdaAuthorizer] = field(default_factory=dict)


class GatewayHandler:
    """Every request the HTTP server reads; everything per route is compiled in __init__."""

    def __init__(
        self,
        spec: TemplateSpec,
        invoker: Invoker,
        *,
        api_keys: Sequence[str] = (),
        integration_timeout_s: float = 29.0,
        access_log: AccessLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        xray: SegmentSender | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self.invoker = BoundedInvoker(invoker, integration_timeout_s)
        self._xray = xray  # stages with TracingEnabled send their segments here
        self._sampler = sampler  # for requests without a decision; None: all are sampled
        self._region = spec.region
        self._api_keys = {key: ids.api_key_id(key) for key in api_keys}
        self._access_log = access_log
        self.routes = RouteTable(self._compile_routes(spec, clock))
        self._preflights: dict[Resource, dict[str, str]] = {}
        for resource in self.routes.resources():
            if resource.methods and "OPTIONS" not in resource.methods:
                cors = next(iter(resource.methods.values())).api.cors
                if cors is not None:
                    self._preflights[resource] = preflight_headers(cors, resource.methods)

    def _compile_routes(self, spec: TemplateSpec, clock: Callable[[], float]) -> list[Route]:
        states: dict[str, _ApiState] = {}
        compiled = []
        for fn, event in spec.routes():
            api = spec.apis.get(event.api_id)
            if api is None:
                raise GatewayError(f"{fn.logical_id}: RestApiId {event.api_id} is not an Api")
            state = states.get(api.logical_id)
            if state is None:
                names = {lid: f.function_name for lid, f in spec.functions.items()}
                state = states[api.logical_id] = self._api_state(api, clock, names)
            authorizer = None
            if event.auth.authorizer is not None:
                authorizer = state.authorizers.get(event.auth.authorizer)
                if authorizer is None:
                    raise GatewayError(
                        f"{fn.logical_id}: {event.method} {event.path} uses authorizer "
                        f"{event.auth.authorizer}, which {api.logical_id} does not declare "
                        "(only Lambda TOKEN and REQUEST authorizers are emulated)"
                    )
            resource_path = "/" + "/".join(split_path(event.path))
            compiled.append(
                Route(
                    function=fn,
                    api=api,
                    resource_path=resource_path,
                    method=event.method.upper(),
                    auth=event.auth,
                    api_id=state.api_id,
                    account_id=spec.account_id,
                    resource_id=ids.resource_id(api.logical_id, resource_path),
                    stage_path_prefix="/" + api.stage_name,
                    method_arn_prefix=(
                        f"arn:aws:execute-api:{spec.region}:{spec.account_id}:"
                        f"{state.api_id}/{api.stage_name}/"
                    ),
                    stage_variables=state.stage_variables,
                    binary_types=state.binary_types,
                    authorizer=authorizer,
                    throttle=state.throttle,
                )
            )
        return compiled

    def _api_state(
        self, api: ApiSpec, clock: Callable[[], float], function_names: dict[str, str]
    ) -> _ApiState:
        return _ApiState(
            api_id=ids.api_id(api.logical_id),
            stage_variables=dict(api.variables) or None,
            binary_types=BinaryMediaTypes(api.binary_media_types),
            throttle=UsagePlanThrottle(api.usage_plan_throttle, clock)
            if api.usage_plan_throttle
            else None,
            authorizers={
                name: LambdaAuthorizer(
                    spec, self.invoker, clock, function_names.get(spec.function_id)
                )
                for name, spec in api.authorizers.items()
            },
        )

    async def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = ids.request_id()
        extended_id = ids.extended_request_id()
        traces: list[GatewayTrace] = []
        try:
            response, route, note = await self._serve(request, request_id, extended_id, traces)
        except Exception as e:  # a gateway bug must still answer, as AWS's 5xx would
            response = _gateway_response(responses.INTEGRATION_FAILURE, request_id, extended_id)
            route, note = None, f"gateway error: {e!r}"
        ms = (time.perf_counter() - started) * 1000
        # After the server has written the response (in this task step, once we return).
        asyncio.get_running_loop().call_soon(
            self._record, request, response, route, note, traces, ms
        )
        return response

    def _record(
        self,
        request: HttpRequest,
        response: HttpResponse,
        route: Route | None,
        note: str,
        traces: list[GatewayTrace],
        ms: float,
    ) -> None:
        """The stage's X-Ray segment and the access log line of one request."""
        if traces and self._xray is not None:
            doc = traces[0].document(
                method=request.method,
                url=request.url,
                client_ip=request.remote,
                user_agent=request.headers.get("User-Agent"),
                status=response.status,
            )
            self._xray.send([doc])
        if self._access_log is not None:
            name = route.function.function_name if route is not None else "-"
            line = f"{request.method} {request.raw_path} {response.status} {ms:.2f} ms {name}"
            self._access_log(f"{line} ({note})" if note else line)

    async def _serve(
        self, request: HttpRequest, request_id: str, extended_id: str, traces: list[GatewayTrace]
    ) -> tuple[HttpResponse, Route | None, str]:
        def refuse(
            answer: GatewayResponse, route: Route | None = None, note: str = ""
        ) -> tuple[HttpResponse, Route | None, str]:
            return _gateway_response(answer, request_id, extended_id), route, note or answer.reason

        if request.too_large:
            return refuse(responses.REQUEST_TOO_LARGE)
        method = request.method
        match = self.routes.match(request.raw_path) if method in HTTP_METHODS else None
        if match is None:
            return refuse(responses.MISSING_AUTHENTICATION_TOKEN)
        resource = match.resource
        if method == "OPTIONS":
            preflight = self._preflights.get(resource)
            if preflight is not None:
                return _preflight_response(preflight, request_id, extended_id), None, ""
        route = resource.route_for(method)
        if route is None:
            return refuse(responses.MISSING_AUTHENTICATION_TOKEN)
        body = request.body
        facts = read_request(
            request,
            match.path_params,
            request_id=request_id,
            extended_request_id=extended_id,
            now=time.time(),
            sampler=self._sampler,
        )

        trace = None
        if self._xray is not None and route.api.tracing_enabled:
            trace = GatewayTrace.begin(
                facts.trace_header,
                api_id=route.api_id,
                stage=route.api.stage_name,
                region=self._region,
                request_id=request_id,
            )
            if trace is not None:
                traces.append(trace)

        # Order as on AWS: the authorizer first (it may supply the key), then key, then throttle.
        authorizer_context = None
        if route.authorizer is not None:
            method_arn = f"{route.method_arn_prefix}{method}/{'/'.join(split_path(facts.path))}"
            outcome = await route.authorizer.authorize(route, facts, method_arn, trace)
            if isinstance(outcome, GatewayResponse):
                return refuse(outcome, route)
            authorizer_context = outcome
        if route.auth.api_key_required:
            api_key = request.headers.get("x-api-key")
            if api_key is None or (key_id := self._api_keys.get(api_key)) is None:
                return refuse(responses.INVALID_API_KEY, route)
            if route.throttle is not None and not route.throttle.allow(api_key):
                return refuse(responses.THROTTLED, route)
            facts.api_key, facts.api_key_id = api_key, key_id

        payload = event_json(proxy_event(route, facts, body, authorizer_context))
        call = trace.call(route.function.function_name) if trace is not None else None
        header = trace.header_for(call) if trace is not None and call else facts.trace_header
        try:
            result = await self.invoker.invoke(route.function.logical_id, payload, header)
        except Exception as e:  # the emulator could not run the function at all
            if trace is not None and call:
                trace.finish(call, "error")
            return refuse(responses.INTEGRATION_FAILURE, route, f"invoke failed: {e}")
        if trace is not None and call:
            trace.finish(call, result.status if result is not None else "timeout")
        if result is None:
            return refuse(responses.INTEGRATION_TIMEOUT, route)
        if result.status == "timeout":
            return refuse(FUNCTION_TIMEOUT, route, "function timed out")
        if result.status == "error":
            return refuse(responses.INTEGRATION_FAILURE, route, _error_summary(result))
        return self._proxy_response(request, route, facts, result)

    def _proxy_response(
        self, request: HttpRequest, route: Route, facts: RequestFacts, result: InvokeResult
    ) -> tuple[HttpResponse, Route | None, str]:
        try:
            proxied = parse_proxy_response(result.payload)
            convert = proxied.is_base64 and route.binary_types.accepts_binary(
                request.headers.get("Accept")
            )
            headers, body = proxied.render(convert)
        except MalformedProxyResponse as e:
            answer, note = responses.MALFORMED_PROXY_RESPONSE, f"malformed proxy response: {e}"
            return (
                _gateway_response(answer, facts.request_id, facts.extended_request_id),
                route,
                note,
            )
        except BadBase64Body:
            answer = responses.API_CONFIGURATION_ERROR
            response = _gateway_response(answer, facts.request_id, facts.extended_request_id)
            return response, route, answer.reason
        headers["x-amzn-RequestId"] = facts.request_id
        headers["x-amz-apigw-id"] = facts.extended_request_id
        headers["X-Amzn-Trace-Id"] = facts.trace_header
        return HttpResponse(proxied.status, headers, body), route, ""

    async def close(self) -> None:
        await self.invoker.close()


def _gateway_response(answer: GatewayResponse, request_id: str, extended_id: str) -> HttpResponse:
    headers = CIMultiDict(
        {
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amz-apigw-id": extended_id,
        }
    )
    if answer.error_type is not None:
        headers["x-amzn-ErrorType"] = answer.error_type
    return HttpResponse(answer.status, headers, answer.body)


def _preflight_response(
    preflight: dict[str, str], request_id: str, extended_id: str
) -> HttpResponse:
    headers = CIMultiDict(preflight)
    headers["Content-Type"] = "application/json"
    headers["x-amzn-RequestId"] = request_id
    headers["x-amz-apigw-id"] = extended_id
    return HttpResponse(200, headers, b"")


def _error_summary(result: InvokeResult) -> str:
    try:
        doc = json.loads(result.payload)
        summary = f"{doc.get('errorType', 'Error')}: {doc.get('errorMessage', '')}"
    except (ValueError, UnicodeDecodeError, AttributeError):
        summary = "unreadable error document"
    return "function error: " + (summary if len(summary) <= 200 else summary[:197] + "...")
