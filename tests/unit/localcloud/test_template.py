"""Reading SAM templates: intrinsics, Globals, events, authorizers, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.spec import TemplateError
from localcloud.template import TemplateLoader, load_template
from tests.support import FIXTURES, PROJECT_DIR

PRODUCT = PROJECT_DIR / "template.yaml"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "app.py").write_text("def handler(e, c):\n    return e\n")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


MINIMAL = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.11
    Timeout: 7
    Environment:
      Variables: {SHARED: one, OVERRIDDEN: global}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Jwt
        ApiKeyRequired: false
        Authorizers:
          Jwt:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Header: Authorization, ReauthorizeEvery: 60}
        UsagePlan: {CreateUsagePlan: PER_API, Throttle: {RateLimit: 5, BurstLimit: 10}}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "svc-${Stage}-fn"
      CodeUri: fn/
      Handler: app.handler
      MemorySize: 512
      Environment:
        Variables:
          OVERRIDDEN: mine
          ARN: !GetAtt AuthFn.Arn
          JOINED: !Join ["-", [a, !Ref Stage, !Ref "AWS::Region"]]
          PICK: !If [IsProd, big, small]
          GONE: !Ref AWS::NoValue
      Events:
        Private:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/items/{id}", Method: get}
        Public:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /public
            Method: ANY
            Auth: {Authorizer: NONE}
        Keyed:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /keyed
            Method: GET
            Auth: {ApiKeyRequired: true}
        Queue:
          Type: SQS
          Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:q}
"""


def test_intrinsics_globals_and_events_resolve(tmp_path: Path) -> None:
    spec = load_template([write(tmp_path, MINIMAL)])
    fn = spec.functions["Fn"]
    assert fn.function_name == "svc-dev-fn"
    assert fn.timeout_s == 7.0
    assert fn.memory_mb == 512
    assert fn.environment["SHARED"] == "one"
    assert fn.environment["OVERRIDDEN"] == "mine"
    assert fn.environment["ARN"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:eventstream-local-AuthFn"
    )
    assert fn.environment["JOINED"] == "a-dev-us-east-1"
    assert fn.environment["PICK"] == "small"
    assert "GONE" not in fn.environment
    routes = {(e.method, e.path): e.auth for e in fn.events}
    assert len(routes) == 3  # the SQS event is not a route
    assert routes[("GET", "/items/{id}")].authorizer == "Jwt"
    assert routes[("ANY", "/public")].authorizer is None
    assert routes[("GET", "/keyed")].api_key_required is True
    api = spec.apis["Api"]
    assert api.stage_name == "dev"
    assert api.authorizers["Jwt"].function_id == "AuthFn"
    assert api.authorizers["Jwt"].ttl_s == 60
    assert api.authorizers["Jwt"].type == "TOKEN"
    assert api.usage_plan_throttle is not None
    assert api.usage_plan_throttle.burst_limit == 10


def test_parameter_overrides_and_conditions(tmp_path: Path) -> None:
    spec = load_template([write(tmp_path, MINIMAL)], {"Stage": "prod"})
    assert spec.functions["Fn"].environment["PICK"] == "big"
    assert spec.apis["Api"].stage_name == "prod"
    with pytest.raises(TemplateError, match="not one of"):
        load_template([write(tmp_path, MINIMAL)], {"Stage": "qa"})
    with pytest.raises(TemplateError, match="undeclared"):
        load_template([write(tmp_path, MINIMAL)], {"Nope": "x"})


def test_product_template_with_test_fixtures_merged() -> None:
    loader = TemplateLoader([PRODUCT, FIXTURES / "template.yaml"])
    secrets = loader.secrets()
    assert secrets["DatabaseSecret"].seed == "database"
    spec = loader.build({"DatabaseSecret": "arn:aws:secretsmanager:us-east-1:1:secret:x"})
    health = spec.functions["HealthFunction"]
    assert health.environment["DB_SECRET_ARN"] == "arn:aws:secretsmanager:us-east-1:1:secret:x"
    assert health.layer_dirs == (PROJECT_DIR / "layers" / "common",)
    assert health.tracing_active
    assert spec.functions["EchoFunction"].environment["ECHO_GREETING"] == (
        "hello from dev in us-east-1"
    )
    assert spec.functions["SleepFunction"].reserved_concurrency == 4
    assert spec.apis["TestApi"].cors is not None
    assert spec.apis["TestApi"].cors.allow_origin == "https://app.example.com"
    assert spec.apis["TestApi"].binary_media_types == ("application/octet-stream", "image/png")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("Handler: app.handler", "Handler: missing.handler", 1), "no missing.py"),
        (("Handler: app.handler", "Handler: nodot", 1), "module.function"),
        (("Runtime: python3.11", "Runtime: nodejs20.x", 1), "runs python3.x"),
        (("!GetAtt AuthFn.Arn", "!GetAtt Ghost.Arn", 1), "Ghost"),
        (("CodeUri: fn/", "CodeUri: nowhere/", 1), "not a folder"),
        (("DefaultAuthorizer: Jwt", "DefaultAuthorizer: Other", 1), "DefaultAuthorizer"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, change: tuple[str, str, int], message: str) -> None:
    old, new, count = change
    with pytest.raises(TemplateError, match=message):
        load_template([write(tmp_path, MINIMAL.replace(old, new, count))])


def test_not_yaml_or_not_a_template(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("Resources: [oops\n")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template([bad])
    bad.write_text("Hello: world\n")
    with pytest.raises(TemplateError, match="Resources"):
        load_template([bad])
    with pytest.raises(TemplateError, match="not found"):
        load_template([tmp_path / "absent.yaml"])
