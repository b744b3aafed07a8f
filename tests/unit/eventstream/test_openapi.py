"""The OpenAPI document says what template.yaml deploys: the same routes, the same auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from eventstream.openapi import document
from localcloud.template import read_yaml

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def template_routes() -> dict[tuple[str, str], str | None]:
    """(METHOD, path) → the authorizer name, or None for a public route."""
    doc: dict[str, Any] = read_yaml(TEMPLATE)
    api = doc["Resources"]["EventStreamApi"]["Properties"]
    default = api["Auth"]["DefaultAuthorizer"]
    routes = {}
    for resource in doc["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            authorizer = (props.get("Auth") or {}).get("Authorizer", default)
            key = (props["Method"].upper(), props["Path"])
            routes[key] = None if authorizer == "NONE" else authorizer
    return routes


def document_routes() -> dict[tuple[str, str], list[dict[str, list[str]]]]:
    return {
        (method.upper(), path): operation["security"]
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
    }


def test_the_document_is_valid_openapi() -> None:
    validate(document())


def test_every_deployed_route_is_documented_and_nothing_else() -> None:
    assert sorted(document_routes()) == sorted(template_routes())


@pytest.mark.parametrize("route", sorted(template_routes()), ids=lambda r: f"{r[0]} {r[1]}")
def test_the_documented_security_matches_the_authorizer(route: tuple[str, str]) -> None:
    expected = {None: [], "JwtAuthorizer": [{"bearer": []}], "ApiKeyAuthorizer": [{"apiKey": []}]}
    assert document_routes()[route] == expected[template_routes()[route]]
