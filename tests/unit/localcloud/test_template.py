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
    assert spec.apis["EventStreamApi"].tracing_enabled
    assert not spec.apis["TestApi"].tracing_enabled
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


AWS_ONLY = """
Transform: [AWS::Serverless-2016-10-31, AWS::SecretsManager-2020-07-23]
Parameters:
  VpcId: {Type: String, Default: ""}
  PrivateSubnetIds: {Type: CommaDelimitedList, Default: ""}
  Reserved: {Type: String, Default: ""}
Conditions:
  CreateVpc: !Equals [!Ref VpcId, ""]
  # Declared before the condition it uses: order in the template must not matter.
  WithEndpoints: !And [!Condition CreateVpc, !Condition Always]
  Always: !Equals [a, a]
  HasReserved: !Not [!Equals [!Ref Reserved, ""]]
Globals:
  Function:
    Runtime: python3.11
    ReservedConcurrentExecutions: !If [HasReserved, !Ref Reserved, !Ref AWS::NoValue]
    VpcConfig:
      SecurityGroupIds: [!Ref FnGroup]
      SubnetIds: !If [CreateVpc, [!Ref SubnetA], !Ref PrivateSubnetIds]
    Environment:
      Variables:
        DB_HOST: !GetAtt Proxy.Endpoint
        CORE: !Sub "${Balancer.DNSName}:7070"
        VPC: !If [CreateVpc, !Ref Vpc, !Ref VpcId]
        KEPT: !If [WithEndpoints, endpoints, nat]
Resources:
  Vpc: {Type: AWS::EC2::VPC, Condition: CreateVpc, Properties: {CidrBlock: 10.0.0.0/16}}
  SubnetA:
    Type: AWS::EC2::Subnet
    Condition: CreateVpc
    Properties: {VpcId: !Ref Vpc, CidrBlock: !Select [0, !Cidr [10.0.0.0/16, 2, 8]]}
  FnGroup:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: fn, VpcId: !If [CreateVpc, !Ref Vpc, !Ref VpcId]}
  Proxy:
    Type: AWS::RDS::DBProxy
    Properties: {EngineFamily: POSTGRESQL}
  Balancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Type: network, Scheme: internal}
  Rotation:
    Type: AWS::SecretsManager::RotationSchedule
    Properties:
      SecretId: !Ref Secret
      HostedRotationLambda: {RotationType: PostgreSQLSingleUser}
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties: {Name: app/db}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Environment:
        Variables: {OWN: !Ref Secret}
"""


def test_resources_that_exist_on_aws_only_do_not_stop_a_local_run(tmp_path: Path) -> None:
    loader = TemplateLoader([write(tmp_path, AWS_ONLY)])
    assert loader.conditions == {
        "CreateVpc": True,
        "WithEndpoints": True,
        "Always": True,
        "HasReserved": False,
    }
    spec = loader.build({"Secret": "arn:aws:secretsmanager:us-east-1:1:secret:app/db"})
    fn = spec.functions["Fn"]
    # Addresses of AWS-only resources are left out; everything else resolves as usual.
    assert fn.environment == {
        "KEPT": "endpoints",
        "OWN": "arn:aws:secretsmanager:us-east-1:1:secret:app/db",
    }
    assert fn.reserved_concurrency is None
    assert list(spec.secrets) == ["Secret"]


def test_an_existing_vpc_and_reserved_concurrency_resolve_through_conditions(
    tmp_path: Path,
) -> None:
    spec = load_template(
        [write(tmp_path, AWS_ONLY)],
        {"VpcId": "vpc-0abc", "PrivateSubnetIds": "subnet-1,subnet-2", "Reserved": "25"},
    )
    fn = spec.functions["Fn"]
    assert fn.environment["VPC"] == "vpc-0abc"
    assert fn.environment["KEPT"] == "nat"
    assert fn.reserved_concurrency == 25


def test_aws_only_resources_are_still_refused_where_the_local_cloud_needs_a_value(
    tmp_path: Path,
) -> None:
    # An authorizer must be a function the local cloud runs, not an address it cannot know.
    text = AWS_ONLY.replace(
        "Resources:\n",
        "Resources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: !GetAtt Proxy.Endpoint\n",
        1,
    )
    with pytest.raises(TemplateError, match=r"Proxy\.Endpoint.*does not emulate"):
        load_template([write(tmp_path, text)])


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("  A: !Condition B\n  B: !Condition A\n", "cycle: A -> B -> A"),
        ("  A: !Condition Missing\n", "Condition Missing is not declared"),
    ],
)
def test_bad_conditions_are_named(tmp_path: Path, conditions: str, message: str) -> None:
    text = AWS_ONLY.replace("Conditions:\n", "Conditions:\n" + conditions, 1)
    with pytest.raises(TemplateError, match=message):
        load_template([write(tmp_path, text)])


def test_the_product_template_runs_locally_with_its_aws_infrastructure() -> None:
    """template.yaml's VPC, RDS Proxy and ECS parts resolve away; the secret's host is used."""
    loader = TemplateLoader([PRODUCT])
    assert loader.conditions["CreateVpc"]
    assert not loader.conditions["IsProd"]
    spec = loader.build()
    for fn in spec.functions.values():
        assert "DB_HOST" not in fn.environment, fn.logical_id
        assert fn.tracing_active, fn.logical_id
