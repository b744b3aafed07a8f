"""Check an answer against the served OpenAPI document's schema for it."""

from __future__ import annotations

from typing import Any

import jsonschema

from eventstream.openapi import document


def conforms(body: Any, schema_name: str) -> None:
    components = document()["components"]
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    jsonschema.Draft202012Validator(schema).validate(body)
