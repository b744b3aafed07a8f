"""The CloudFormation that SAM makes of template.yaml: routes, authorizers, tracing, IAM, network.

Everything is read from the template, so functions added later are checked without edits here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.expectations import HOT_ROUTES, PUBLIC_ROUTES
from tests.deploy.sam_template import api_routes, functions, resources_of, translated

# AWS managed policies the stack may attach: each grants named actions for one purpose.
ALLOWED_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole",
    "service-role/AWSLambdaVPCAccessExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "service-role/AmazonECSTaskExecutionRolePolicy",
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def rest_api_paths() -> dict[str, dict[str, Any]]:
    apis = resources_of(translated(), "AWS::ApiGateway::RestApi")
    assert apis, "no REST API in the translated template"
    paths: dict[str, dict[str, Any]] = {}
    for api in apis.values():
        paths.update(api["Properties"]["Body"]["paths"])
    return paths


def security_definitions() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for api in resources_of(translated(), "AWS::ApiGateway::RestApi").values():
        found.update(api["Properties"]["Body"].get("securityDefinitions") or {})
    return found


def integration_target(operation: dict[str, Any]) -> str:
    """The logical id an aws_proxy integration invokes (a function or its alias)."""
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    uri = json.dumps(integration["uri"])
    match = re.search(r"/functions/\$\{([A-Za-z0-9]+)(?:\.Arn)?\}/invocations", uri)
    assert match, f"integration uri names no function: {uri}"
    return match.group(1)


def strings_under(value: Any, key: str) -> Iterator[str]:
    """Every string under `key` anywhere in value, through intrinsics such as Fn::If."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield from _all_strings(v)
            else:
                yield from strings_under(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from strings_under(v, key)


def _all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _all_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _all_strings(v)


def policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource.get("Properties") or {}
    if resource["Type"] == "AWS::IAM::Role":
        return [p["PolicyDocument"] for p in props.get("Policies") or []]
    if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return [props["PolicyDocument"]]
    return []


ROUTES = api_routes()


def test_the_template_has_routes_and_functions() -> None:
    assert ROUTES, "no Api events in template.yaml"
    assert ("GET", "/v1/health") in {(r.method, r.path) for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_invokes_its_own_function(route: Any) -> None:
    resources = translated()["Resources"]
    operation = rest_api_paths()[route.path][route.method.lower()]
    target = integration_target(operation)
    # AutoPublishAlias routes go to the alias (so provisioned concurrency serves them).
    assert target in (route.function_id, f"{route.function_id}Aliaslive"), target
    assert resources[target]["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::Alias")
    assert resources[route.function_id]["Type"] == "AWS::Lambda::Function"
    permissions = [
        r
        for r in resources_of(translated(), "AWS::Lambda::Permission").values()
        if r["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and target in json.dumps(r["Properties"]["FunctionName"])
    ]
    assert permissions, f"API Gateway may not invoke {target}"


def test_every_api_method_is_backed_by_a_route_of_the_template() -> None:
    declared = {(r.method.lower(), r.path) for r in ROUTES}
    for path, operations in rest_api_paths().items():
        for method in operations:
            if method == "options":
                continue  # CORS preflight: a mock integration SAM adds
            assert (method, path) in declared, f"{method.upper()} {path} has no Api event"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_only_the_public_routes_have_no_authorizer(route: Any) -> None:
    operation = rest_api_paths()[route.path][route.method.lower()]
    schemes = {name for requirement in operation.get("security") or [] for name in requirement}
    authorizers = {
        name
        for name, scheme in security_definitions().items()
        if scheme.get("x-amazon-apigateway-authtype") == "custom"
    }
    if (route.method, route.path) in PUBLIC_ROUTES:
        assert not schemes & authorizers, f"{route.method} {route.path} is public, yet guarded"
    else:
        assert schemes & authorizers, (
            f"{route.method} {route.path} has no authorizer; if it is meant to be public, "
            "add it to PUBLIC_ROUTES in tests/deploy/expectations.py"
        )


def test_every_authorizer_is_a_function_of_the_stack() -> None:
    resources = translated()["Resources"]
    for name, scheme in security_definitions().items():
        if scheme.get("x-amazon-apigateway-authtype") != "custom":
            continue
        uri = json.dumps(scheme["x-amazon-apigateway-authorizer"]["authorizerUri"])
        function_ids = re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "Arn"\]', uri)
        assert function_ids, f"authorizer {name} names no function of the stack"
        assert resources[function_ids[0]]["Type"] == "AWS::Lambda::Function"


def test_tracing_is_on_for_every_function_stage_and_the_core() -> None:
    resources = translated()
    for lid, fn in resources_of(resources, "AWS::Lambda::Function").items():
        assert fn["Properties"].get("TracingConfig") == {"Mode": "Active"}, lid
    stages = resources_of(resources, "AWS::ApiGateway::Stage")
    assert stages
    for lid, stage in stages.items():
        assert stage["Properties"].get("TracingEnabled") is True, lid
        assert stage["Properties"].get("AccessLogSetting", {}).get("DestinationArn"), lid
    for lid, task in resources_of(resources, "AWS::ECS::TaskDefinition").items():
        images = [c["Image"] for c in task["Properties"]["ContainerDefinitions"]]
        assert any("aws-xray-daemon" in str(i) for i in images), f"{lid}: no X-Ray daemon"


def test_no_iam_statement_allows_every_action() -> None:
    for lid, resource in translated()["Resources"].items():
        for document in policy_documents(resource):
            assert "NotAction" not in json.dumps(document), lid
            for action in strings_under(document, "Action"):
                service, _, name = action.partition(":")
                assert "*" not in service, f"{lid}: Action {action}"
                assert name != "*", f"{lid}: Action {action}"


def test_only_narrow_aws_managed_policies_are_attached() -> None:
    for lid, resource in translated()["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in resource["Properties"].get("ManagedPolicyArns") or []:
            name = json.dumps(arn).split(":policy/", 1)[1].rstrip('"}]')
            assert name in ALLOWED_MANAGED_POLICIES, f"{lid}: {name}"


@pytest.mark.parametrize("function_id", sorted(functions()))
def test_every_function_may_read_the_secrets_its_environment_names(function_id: str) -> None:
    resources = translated()["Resources"]
    secrets = set(resources_of(translated(), "AWS::SecretsManager::Secret"))
    fn = resources[function_id]
    variables = (fn["Properties"].get("Environment") or {}).get("Variables") or {}
    named = {v["Ref"] for v in variables.values() if isinstance(v, dict) and "Ref" in v}
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for document in policy_documents(resources[role_id])
        for statement in document["Statement"]
        if "secretsmanager:GetSecretValue" in list(strings_under(statement, "Action"))
    ]
    unreadable = sorted(
        secret
        for secret in named & secrets
        if not any(f'"Ref": "{secret}"' in json.dumps(s["Resource"]) for s in statements)
    )
    assert not unreadable, (
        f"{function_id} is given the ARN of {unreadable} but may not read them: add "
        "`Policies: [AWSSecretsManagerGetSecretValuePolicy: {SecretArn: !Ref <secret>}]` "
        "or stop passing the ARN"
    )


def test_functions_run_in_the_private_subnets() -> None:
    for lid, fn in resources_of(translated(), "AWS::Lambda::Function").items():
        vpc = fn["Properties"].get("VpcConfig") or {}
        assert vpc.get("SecurityGroupIds") == [{"Ref": "FunctionSecurityGroup"}], lid
        assert "PrivateSubnetA" in json.dumps(vpc.get("SubnetIds")), lid


def test_hot_routes_can_be_given_provisioned_concurrency() -> None:
    sam_functions = functions()
    for route in ROUTES:
        if (route.method, route.path) not in HOT_ROUTES:
            continue
        props = sam_functions[route.function_id]["Properties"]
        assert props.get("AutoPublishAlias") == "live", route.function_id
        config = json.dumps(props.get("ProvisionedConcurrencyConfig"))
        assert "HotRouteProvisionedConcurrency" in config, route.function_id


def test_nothing_is_open_to_the_internet_but_the_api() -> None:
    for lid, resource in translated()["Resources"].items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            for rule in props.get("SecurityGroupIngress") or []:
                assert rule.get("CidrIp") not in OPEN_CIDRS, lid
                assert rule.get("CidrIpv6") not in OPEN_CIDRS, lid
        if resource["Type"] == "AWS::RDS::DBInstance":
            assert props["PubliclyAccessible"] is False
            assert props["StorageEncrypted"] is True
            assert props["MultiAZ"] == {"Fn::If": ["IsProd", True, False]}
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            assert props["Scheme"] == "internal", lid


def test_the_database_is_reached_through_rds_proxy_with_rotated_credentials() -> None:
    resources = translated()["Resources"]
    proxy = resources["DatabaseProxy"]["Properties"]
    assert proxy["Auth"][0]["SecretArn"] == {"Ref": "DatabaseSecret"}
    assert proxy["RequireTLS"] is True
    rotation = resources["DatabaseSecretRotation"]["Properties"]
    assert rotation["SecretId"] == {"Ref": "DatabaseSecret"}
    assert rotation["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"
    for lid, fn in resources_of(translated(), "AWS::Lambda::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["DB_HOST"] == {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}, lid


def test_outputs_name_the_api_the_jwks_and_the_dashboard() -> None:
    outputs = translated()["Outputs"]
    api_url = outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert api_url.endswith("/${Stage}")
    jwks = outputs["JwksUrl"]["Value"]["Fn::Sub"]
    assert jwks == api_url + "/.well-known/jwks.json"
    assert "#dashboards:name=" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_a_deploy_without_the_core_image_is_refused_before_anything_is_created() -> None:
    (assertion,) = translated()["Rules"]["CoreImageIsGiven"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CoreImageUri"}, ""]}]}
