"""template.yaml as SAM and as the CloudFormation it becomes, read offline for the checks."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from localcloud.template import read_yaml
from tests.support import PROJECT_DIR

TEMPLATE = PROJECT_DIR / "template.yaml"
REGION = "us-east-1"
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


@dataclass(frozen=True)
class Route:
    function_id: str
    method: str  # upper case
    path: str
    authorizer: str | None  # None: public (NONE); else the authorizer's name
    api_key_required: bool


@cache
def sam_template() -> dict[str, Any]:
    return read_yaml(TEMPLATE)


def resources_of(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] in types}


def functions() -> dict[str, dict[str, Any]]:
    return resources_of(sam_template(), "AWS::Serverless::Function")


def function_dir(function_id: str) -> Path:
    """The function's code folder: events/<its name>_*.json are its sample events."""
    props = functions()[function_id].get("Properties") or {}
    code_uri = props.get("CodeUri") or sam_template()["Globals"]["Function"]["CodeUri"]
    return (PROJECT_DIR / code_uri).resolve()


def api_routes() -> list[Route]:
    """Every `Type: Api` event, with the API's default authorizer applied as SAM applies it."""
    template = sam_template()
    apis = resources_of(template, "AWS::Serverless::Api")
    routes = []
    for function_id, fn in functions().items():
        for event in ((fn.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            api_ref = props.get("RestApiId", {}).get("Ref")
            api_auth = ((apis.get(api_ref) or {}).get("Properties") or {}).get("Auth") or {}
            auth = props.get("Auth") or {}
            authorizer = auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
            routes.append(
                Route(
                    function_id=function_id,
                    method=str(props["Method"]).upper(),
                    path=str(props["Path"]),
                    authorizer=None if authorizer in (None, "NONE") else str(authorizer),
                    api_key_required=bool(
                        auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired", False))
                    ),
                )
            )
    return routes


@cache
def translated() -> dict[str, Any]:
    """The CloudFormation SAM's own translator makes of template.yaml, with no AWS call.

    Local code folders become placeholder S3 URIs, as `sam validate` does before translating.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    def offline_policies() -> dict[str, str]:
        # Only names outside SAM's bundled map get here, and those would need IAM.
        raise AssertionError("a managed policy name SAM cannot resolve offline: use its ARN")

    template = copy.deepcopy(sam_template())
    for resource in template["Resources"].values():
        key = CODE_PROPERTIES.get(resource["Type"])
        props = resource.get("Properties") or {}
        if key and isinstance(props.get(key), str):
            props[key] = f"s3://deploy-artifacts/{props[key].strip('/')}.zip"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(template, {}, get_managed_policy_map=offline_policies)
