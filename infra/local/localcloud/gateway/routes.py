"""Routes compiled into API Gateway's resource tree, matched as API Gateway resolves resources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.media_types import BinaryMediaTypes
from localcloud.spec import ApiSpec, FunctionSpec, RouteAuth

if TYPE_CHECKING:
    from localcloud.gateway.authorizers import LambdaAuthorizer
    from localcloud.gateway.throttle import UsagePlanThrottle

# The methods a REST API can route; anything else never matches a resource.
HTTP_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One method of one resource, with everything a request needs precomputed."""

    function: FunctionSpec
    api: ApiSpec
    resource_path: str  # as declared: /v1/items/{id}
    method: str  # GET, ..., or ANY
    auth: RouteAuth
    api_id: str
    account_id: str
    resource_id: str
    stage_path_prefix: str  # "/<stage>", which AWS puts before requestContext.path
    method_arn_prefix: str  # arn:aws:execute-api:<region>:<account>:<api id>/<stage>/
    stage_variables: dict[str, str] | None
    binary_types: BinaryMediaTypes
    authorizer: LambdaAuthorizer | None = None
    throttle: UsagePlanThrottle | None = None


class Resource:
    """A node of the resource tree: literal children, {param} children, an optional {greedy+}."""

    __slots__ = ("greedy", "greedy_name", "literals", "methods", "params", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.literals: dict[str, Resource] = {}
        self.params: list[tuple[str, Resource]] = []
        self.greedy: Resource | None = None
        self.greedy_name = ""
        self.methods: dict[str, Route] = {}

    def route_for(self, method: str) -> Route | None:
        """An explicit method beats ANY on the same resource."""
        return self.methods.get(method) or self.methods.get("ANY")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    resource: Resource
    path_params: dict[str, str] | None  # None when the resource has no variables, as AWS sends


class RouteTable:
    """Literal segments beat {param} beats {proxy+}; a dead end backtracks to the next choice."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._root = Resource("/")
        for route in routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        node = self._root
        segments = split_path(route.resource_path)
        for index, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if index != len(segments) - 1:
                    raise GatewayError(
                        f"{route.function.logical_id}: path {route.resource_path}: a greedy "
                        f"{segment} must be the last segment"
                    )
                if node.greedy is None:
                    node.greedy = Resource(_join(segments[: index + 1]))
                    node.greedy_name = segment[1:-2]
                node = node.greedy
            elif segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                child = next((c for n, c in node.params if n == name), None)
                if child is None:
                    child = Resource(_join(segments[: index + 1]))
                    node.params.append((name, child))
                node = child
            else:
                child = node.literals.get(segment)
                if child is None:
                    child = node.literals[segment] = Resource(_join(segments[: index + 1]))
                node = child
        existing = node.methods.get(route.method)
        if existing is not None:
            raise GatewayError(
                f"{route.method} {route.resource_path} is served by both "
                f"{existing.function.logical_id} and {route.function.logical_id}"
            )
        node.methods[route.method] = route

    def match(self, raw_path: str) -> RouteMatch | None:
        """The resource for a request path (the stage is not part of it), or None."""
        segments = split_path(raw_path)
        params: dict[str, str] = {}
        resource = _walk(self._root, segments, 0, params)
        if resource is None:
            return None
        return RouteMatch(resource, params or None)

    def resources(self) -> list[Resource]:
        found, stack = [], [self._root]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(node.literals.values())
            stack.extend(child for _, child in node.params)
            if node.greedy is not None:
                stack.append(node.greedy)
        return found


def split_path(path: str) -> list[str]:
    """API Gateway ignores one trailing slash: /items/ is /items; / is the root (no segments)."""
    path = path.strip("/") if path.endswith("/") else path.lstrip("/")
    return path.split("/") if path else []


def _join(segments: list[str]) -> str:
    return "/" + "/".join(segments)


def _walk(
    node: Resource, segments: list[str], index: int, params: dict[str, str]
) -> Resource | None:
    if index == len(segments):
        return node
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        found = _walk(child, segments, index + 1, params)
        if found is not None:
            return found
    if segment:
        for name, child in node.params:
            params[name] = segment
            found = _walk(child, segments, index + 1, params)
            if found is not None:
                return found
            del params[name]
    if node.greedy is not None:
        rest = "/".join(segments[index:])
        if rest:
            params[node.greedy_name] = rest
            return node.greedy
    return None
