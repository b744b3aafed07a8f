"""Route matching: literal beats {param} beats {proxy+}; explicit methods beat ANY, as on AWS."""

from __future__ import annotations

import pytest

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.handler import GatewayHandler
from localcloud.gateway.routes import RouteTable, split_path
from tests.unit.localcloud.gateway.fakes import FakeInvoker, api, function, route, template


def table(*functions) -> RouteTable:
    return GatewayHandler(template(list(functions)), FakeInvoker()).routes


def resolve(routes: RouteTable, method: str, path: str) -> tuple[str | None, dict | None]:
    match = routes.match(path)
    if match is None:
        return None, None
    found = match.resource.route_for(method)
    return (found.function.logical_id if found else None), match.path_params


ROUTES = table(
    function("Health", route("/v1/health")),
    function("NewItem", route("/v1/items/new")),
    function("Item", route("/v1/items/{id}"), route("/v1/items/{id}", "DELETE")),
    function("ItemAny", route("/v1/items/{id}", "ANY")),
    function("ItemTail", route("/v1/items/{proxy+}", "ANY")),
    function("Deep", route("/v1/a/b/c"), route("/v1/a/{x}/d")),
    function("Catch", route("/{proxy+}", "ANY")),
    function("Echo", route("/echo", "ANY"), route("/echo/{proxy+}", "ANY")),
)


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("GET", "/v1/health", "Health", None),
        ("GET", "/v1/health/", "Health", None),  # AWS ignores one trailing slash
        ("GET", "/v1/items/new", "NewItem", None),  # a literal beats {id}
        ("GET", "/v1/items/42", "Item", {"id": "42"}),  # {id} beats {proxy+}
        ("DELETE", "/v1/items/42", "Item", {"id": "42"}),
        ("PATCH", "/v1/items/42", "ItemAny", {"id": "42"}),  # ANY on the same resource
        ("GET", "/v1/items/42/parts/7", "ItemTail", {"proxy": "42/parts/7"}),
        ("GET", "/v1/items/a%20b", "Item", {"id": "a%20b"}),  # REST keeps the encoding
        ("GET", "/v1/a/b/c", "Deep", None),
        ("GET", "/v1/a/b/d", "Deep", {"x": "b"}),  # a dead end backtracks to {x}
        ("GET", "/anything/else", "Catch", {"proxy": "anything/else"}),
        ("POST", "/echo", "Echo", None),
        ("POST", "/echo/deep/path", "Echo", {"proxy": "deep/path"}),
    ],
)
def test_resolution_order(method: str, path: str, expected: str, params: dict | None) -> None:
    assert resolve(ROUTES, method, path) == (expected, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/items/new"),  # the literal resource wins, and has no POST: no fallback
        ("GET", "/v1"),  # an intermediate resource exists but has no methods
        ("GET", "/"),  # {proxy+} needs at least one segment
        ("POST", "/v1/health"),
    ],
)
def test_resource_without_the_method_has_no_route(method: str, path: str) -> None:
    found, _ = resolve(ROUTES, method, path)
    assert found is None


def test_unknown_path_without_a_catch_all_is_no_match() -> None:
    routes = table(function("Health", route("/v1/health")))
    assert routes.match("/v1/nope") is None
    assert routes.match("/v1/health/x") is None
    assert routes.match("/") is not None  # the root resource always exists, without methods


def test_greedy_needs_a_segment_and_trailing_slash_is_ignored() -> None:
    routes = table(function("Proxy", route("/files/{path+}", "ANY")))
    assert routes.match("/files") is not None
    assert routes.match("/files").resource.route_for("GET") is None
    assert resolve(routes, "GET", "/files/a/b/") == ("Proxy", {"path": "a/b"})


def test_split_path() -> None:
    assert split_path("/") == []
    assert split_path("") == []
    assert split_path("/a/b/") == ["a", "b"]
    assert split_path("/a//b") == ["a", "", "b"]


def test_same_route_twice_is_refused() -> None:
    with pytest.raises(GatewayError, match="served by both One and Two"):
        table(function("One", route("/x")), function("Two", route("/x")))


def test_greedy_must_be_last() -> None:
    with pytest.raises(GatewayError, match="must be the last segment"):
        table(function("Bad", route("/{proxy+}/x")))


def test_unknown_authorizer_is_refused() -> None:
    spec = template([function("Fn", route("/x", authorizer="Nope"))], [api()])
    with pytest.raises(GatewayError, match="authorizer Nope"):
        GatewayHandler(spec, FakeInvoker())


def test_route_for_an_unknown_api_is_refused() -> None:
    spec = template([function("Fn", route("/x", api="Other"))], [api()])
    with pytest.raises(GatewayError, match="RestApiId Other"):
        GatewayHandler(spec, FakeInvoker())


def test_routes_of_several_apis_share_the_root() -> None:
    spec = template(
        [function("A", route("/a", api="ApiA")), function("B", route("/b", api="ApiB"))],
        [api("ApiA", stage="one"), api("ApiB", stage="two")],
    )
    routes = GatewayHandler(spec, FakeInvoker()).routes
    assert routes.match("/a").resource.route_for("GET").api.stage_name == "one"
    assert routes.match("/b").resource.route_for("GET").api.stage_name == "two"
