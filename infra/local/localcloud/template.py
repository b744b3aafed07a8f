"""Reads a SAM template (or several, merged) into a TemplateSpec the local cloud can run.

Only what a local run needs is resolved: parameters, pseudo parameters, Conditions, and the
intrinsics Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If, Fn::Select, Fn::Split of parameters and
known resources. Anything else is named in a TemplateError instead of being guessed.

Resources that exist on AWS alone (VPC, RDS, ECS, …) are ignored, and so are the properties of
functions that only configure them there (VpcConfig); an environment variable whose value names
such a resource (DB_HOST: !GetAtt DatabaseProxy.Endpoint) is left out of the local function's
environment, as the local cloud provides those things itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from localcloud.spec import (
    ApiEvent,
    ApiSpec,
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    NotEmulatedError,
    RouteAuth,
    SecretSpec,
    TemplateError,
    TemplateSpec,
    ThrottleSpec,
)

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs line up with what it returns
IMPLICIT_API_ID = "ServerlessRestApi"  # the Api SAM creates for events without a RestApiId
# What the local cloud runs or stands in for; Ref/GetAtt of anything else is NotEmulatedError.
_EMULATED_TYPES = frozenset(
    {
        "AWS::Serverless::Function",
        "AWS::Serverless::Api",
        "AWS::ApiGateway::RestApi",
        "AWS::Serverless::LayerVersion",
        "AWS::Lambda::LayerVersion",
        "AWS::SecretsManager::Secret",
    }
)
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !Sub, …) into their long form."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open() as f:
            doc = yaml.load(f, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except FileNotFoundError as e:
        raise TemplateError(f"template not found: {path}") from e
    except yaml.YAMLError as e:
        raise TemplateError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{path}: a SAM template needs a Resources mapping")
    return doc


class TemplateLoader:
    """Merges templates (the product's first, test-only ones after) and resolves them.

    Two phases because some physical ids exist only once the local cloud has created the
    resource: `secrets()` names what to seed, `build(refs)` resolves with the ARNs it got.
    """

    def __init__(
        self,
        paths: Iterable[Path],
        parameter_overrides: Mapping[str, str] | None = None,
        *,
        stack_name: str = "eventstream-local",
        region: str | None = None,
    ) -> None:
        self.paths = [Path(p).resolve() for p in paths]
        if not self.paths:
            raise TemplateError("no template given")
        self.stack_name = stack_name
        self.region = region or os.environ.get("AWS_REGION") or "us-east-1"
        self.resources: dict[str, dict[str, Any]] = {}
        self.base_dirs: dict[str, Path] = {}
        self.globals: dict[str, Any] = {}
        param_decls: dict[str, Any] = {}
        conditions: dict[str, Any] = {}
        for path in self.paths:
            doc = read_yaml(path)
            for key, value in (doc.get("Globals") or {}).items():
                self.globals.setdefault(key, {}).update(value or {})
            param_decls.update(doc.get("Parameters") or {})
            conditions.update(doc.get("Conditions") or {})
            for logical_id, resource in doc["Resources"].items():
                if not isinstance(resource, dict) or "Type" not in resource:
                    raise TemplateError(f"{path}: resource {logical_id} has no Type")
                self.resources[logical_id] = resource
                self.base_dirs[logical_id] = path.parent
        self.parameters = self._parameters(param_decls, parameter_overrides or {})
        self.refs: dict[str, str] = {}
        self._condition_decls = conditions
        self.conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []
        for name in conditions:
            self._condition(name)

    # -- phase 1 ------------------------------------------------------------------------------

    def secrets(self) -> dict[str, SecretSpec]:
        found = {}
        for logical_id, res in self._of_type("AWS::SecretsManager::Secret"):
            props = res.get("Properties") or {}
            name = self.resolve(props.get("Name", f"{self.stack_name}-{logical_id}"))
            seed = ((res.get("Metadata") or {}).get("LocalCloud") or {}).get("Seed")
            found[logical_id] = SecretSpec(
                logical_id=logical_id,
                name=str(name),
                seed=seed,
                generate=self.resolve(props.get("GenerateSecretString")),
            )
        return found

    # -- phase 2 ------------------------------------------------------------------------------

    def build(self, refs: Mapping[str, str] | None = None) -> TemplateSpec:
        """Resolve everything; `refs` maps logical ids to the physical ids the cloud created."""
        self.refs = dict(refs or {})
        apis = self._apis()
        functions = self._functions(apis)
        for fn in functions.values():
            for event in fn.events:
                if event.api_id not in apis:
                    raise TemplateError(
                        f"{fn.logical_id}: event RestApiId {event.api_id} is not an "
                        "AWS::Serverless::Api of the template"
                    )
        for api in apis.values():
            for auth in api.authorizers.values():
                if auth.function_id not in functions:
                    raise TemplateError(
                        f"{api.logical_id}: authorizer {auth.name} points at "
                        f"{auth.function_id}, which is not a function of the template"
                    )
        return TemplateSpec(
            stack_name=self.stack_name,
            region=self.region,
            account_id=LOCAL_ACCOUNT_ID,
            parameters=dict(self.parameters),
            functions=functions,
            apis=apis,
            secrets=self.secrets(),
        )

    # -- intrinsics ---------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in a value, recursively."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self._condition(arg)
            if key.startswith("Fn::"):
                return self._fn(key[4:], arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _fn(self, name: str, arg: Any) -> Any:
        if name == "Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            variables = {k: self.resolve(v) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                token = match.group(1)
                if token in variables:
                    return str(variables[token])
                if "." in token:
                    return str(self._get_att(token.split(".", 1)))
                return str(self._ref(token))

            return _SUB_VAR.sub(substitute, template).replace("${!", "${")
        if name == "GetAtt":
            return self._get_att(self.resolve(arg))
        if name == "Join":
            sep, items = arg
            return str(sep).join(str(i) for i in self.resolve(items))
        if name == "Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if name == "Split":
            sep, text = self.resolve(arg)
            return str(text).split(sep)
        if name == "If":
            cond, if_true, if_false = arg
            return self.resolve(if_true if self._condition(cond) else if_false)
        if name == "Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if name == "Not":
            return not self.resolve(arg[0])
        if name == "And":
            return all(self.resolve(a) for a in arg)
        if name == "Or":
            return any(self.resolve(a) for a in arg)
        raise TemplateError(f"Fn::{name} is not supported by the local cloud")

    def _condition(self, name: str) -> bool:
        """A named condition's value; conditions may use others (`!Condition`), in any order."""
        if name in self.conditions:
            return self.conditions[name]
        if name not in self._condition_decls:
            raise TemplateError(f"Condition {name} is not declared in Conditions")
        if name in self._evaluating:
            cycle = " -> ".join([*self._evaluating[self._evaluating.index(name) :], name])
            raise TemplateError(f"Conditions refer to each other in a cycle: {cycle}")
        self._evaluating.append(name)
        try:
            value = bool(self.resolve(self._condition_decls[name]))
        finally:
            self._evaluating.pop()
        self.conditions[name] = value
        return value

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"Ref {name}: no such parameter or resource")
        rtype = resource["Type"]
        if rtype == "AWS::Serverless::Function":
            return self._function_name(name)
        if rtype in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            return _local_api_id(name)
        if rtype in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:layer:{name}:1"
        if rtype == "AWS::SecretsManager::Secret":
            secret = self.secrets()[name]
            return f"arn:aws:secretsmanager:{self.region}:{LOCAL_ACCOUNT_ID}:secret:{secret.name}"
        raise NotEmulatedError(f"Ref {name}: the local cloud does not emulate {rtype}")

    def _get_att(self, parts: list[str]) -> Any:
        logical_id, attribute = parts
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: no such resource")
        if resource["Type"] == "AWS::Serverless::Function" and attribute == "Arn":
            name = self._function_name(logical_id)
            return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{name}"
        if resource["Type"] == "AWS::Serverless::Api" and attribute == "RootResourceId":
            return "root"
        if resource["Type"] not in _EMULATED_TYPES:
            raise NotEmulatedError(
                f"Fn::GetAtt {logical_id}.{attribute}: the local cloud does not emulate "
                f"{resource['Type']}"
            )
        raise TemplateError(
            f"Fn::GetAtt {logical_id}.{attribute}: not available in the local cloud"
        )

    # -- resources ----------------------------------------------------------------------------

    def _of_type(self, *types: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (lid, res)
            for lid, res in self.resources.items()
            if res["Type"] in types and self._included(res)
        ]

    def _included(self, resource: dict[str, Any]) -> bool:
        cond = resource.get("Condition")
        return cond is None or self.conditions.get(cond, False)

    def _function_name(self, logical_id: str) -> str:
        props = self.resources[logical_id].get("Properties") or {}
        if "FunctionName" in props:
            return str(self.resolve(props["FunctionName"]))
        return f"{self.stack_name}-{logical_id}"

    def _parameters(self, decls: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
        unknown = set(overrides) - set(decls)
        if unknown:
            raise TemplateError(f"parameter overrides for undeclared parameters: {sorted(unknown)}")
        values = {}
        for name, decl in decls.items():
            if name in overrides:
                value = overrides[name]
            elif "Default" in (decl or {}):
                value = decl["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default; pass it as an override")
            allowed = (decl or {}).get("AllowedValues")
            if allowed and str(value) not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            values[name] = str(value)
        return values

    def _layer_dirs(self, layer_refs: list[Any], owner: str) -> tuple[Path, ...]:
        dirs = []
        for ref in layer_refs:
            logical_id = ref.get("Ref") if isinstance(ref, dict) else None
            res = self.resources.get(logical_id) if logical_id else None
            if res is None or res["Type"] not in (
                "AWS::Serverless::LayerVersion",
                "AWS::Lambda::LayerVersion",
            ):
                raise TemplateError(
                    f"{owner}: layer {ref!r} must be a !Ref to a LayerVersion of the template"
                )
            props = res.get("Properties") or {}
            content = props.get("ContentUri") or (props.get("Content") or {}).get("S3Key")
            if not isinstance(content, str):
                raise TemplateError(f"{logical_id}: ContentUri must be a local folder")
            root = (self.base_dirs[logical_id] / content).resolve()
            # A layer built by SAM lands under python/; a prebuilt one already has that folder.
            dirs.append(root / "python" if (root / "python").is_dir() else root)
        return tuple(dirs)

    def _functions(self, apis: dict[str, ApiSpec]) -> dict[str, FunctionSpec]:
        glob = self.globals.get("Function", {})
        functions = {}
        for logical_id, res in self._of_type("AWS::Serverless::Function"):
            props = res.get("Properties") or {}

            def prop(key: str, default: Any = None, props: dict[str, Any] = props) -> Any:
                return self.resolve(props[key] if key in props else glob.get(key, default))

            runtime = str(prop("Runtime", ""))
            if not runtime.startswith("python3"):
                raise TemplateError(
                    f"{logical_id}: Runtime {runtime or '(none)'} — the local cloud runs python3.x"
                )
            handler = prop("Handler")
            if not handler or "." not in str(handler):
                raise TemplateError(f"{logical_id}: Handler must look like module.function")
            code_uri = prop("CodeUri")
            if not isinstance(code_uri, str):
                raise TemplateError(f"{logical_id}: CodeUri must be a local folder")
            code_dir = (self.base_dirs[logical_id] / code_uri).resolve()
            if not code_dir.is_dir():
                raise TemplateError(f"{logical_id}: CodeUri {code_dir} is not a folder")
            layer_dirs = self._layer_dirs(
                list(glob.get("Layers") or []) + list(props.get("Layers") or []), logical_id
            )
            _check_handler_module(logical_id, str(handler), (code_dir, *layer_dirs))
            env = {}
            for source in (glob.get("Environment"), props.get("Environment")):
                for key, value in ((source or {}).get("Variables") or {}).items():
                    try:
                        resolved = self.resolve(value)
                    except NotEmulatedError:
                        continue  # an AWS-only address (RDS Proxy, the core's NLB): not local
                    if resolved is not None:
                        env[key] = str(resolved)
            tracing = prop("Tracing", "PassThrough")
            reserved = prop("ReservedConcurrentExecutions")
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                function_name=self._function_name(logical_id),
                handler=str(handler),
                code_dir=code_dir,
                layer_dirs=layer_dirs,
                runtime=runtime,
                timeout_s=float(prop("Timeout", 3)),
                memory_mb=int(prop("MemorySize", 128)),
                environment=env,
                events=self._api_events(logical_id, props.get("Events") or {}, apis),
                reserved_concurrency=int(reserved) if reserved is not None else None,
                tracing_active=tracing == "Active",
            )
        return functions

    def _api_events(
        self, logical_id: str, events: dict[str, Any], apis: dict[str, ApiSpec]
    ) -> tuple[ApiEvent, ...]:
        found = []
        for name, event in events.items():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            api_ref = props.get("RestApiId")
            api_id = api_ref["Ref"] if isinstance(api_ref, dict) else (api_ref or IMPLICIT_API_ID)
            if api_id == IMPLICIT_API_ID and api_id not in apis:
                apis[api_id] = ApiSpec(logical_id=api_id, stage_name="Prod")
            path, method = props.get("Path"), props.get("Method")
            if not path or not method:
                raise TemplateError(f"{logical_id}: Api event {name} needs Path and Method")
            api_auth = self._api_auth.get(api_id, {})
            auth = props.get("Auth") or {}
            authorizer = auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
            found.append(
                ApiEvent(
                    api_id=api_id,
                    path=str(self.resolve(path)),
                    method=str(method).upper(),
                    auth=RouteAuth(
                        authorizer=None if authorizer in (None, "NONE") else str(authorizer),
                        api_key_required=bool(
                            auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired", False))
                        ),
                    ),
                )
            )
        return tuple(found)

    def _apis(self) -> dict[str, ApiSpec]:
        glob = self.globals.get("Api", {})
        apis: dict[str, ApiSpec] = {}
        self._api_auth: dict[str, dict[str, Any]] = {}
        for logical_id, res in self._of_type("AWS::Serverless::Api"):
            props = {**glob, **(res.get("Properties") or {})}
            auth = props.get("Auth") or {}
            self._api_auth[logical_id] = auth
            authorizers = {
                name: self._authorizer(logical_id, name, decl)
                for name, decl in (auth.get("Authorizers") or {}).items()
            }
            default = auth.get("DefaultAuthorizer")
            if default and default != "NONE" and default not in authorizers:
                raise TemplateError(
                    f"{logical_id}: DefaultAuthorizer {default} is not among its Authorizers"
                )
            throttle = ((auth.get("UsagePlan") or {}).get("Throttle")) or None
            apis[logical_id] = ApiSpec(
                logical_id=logical_id,
                stage_name=str(self.resolve(props.get("StageName", "Prod"))),
                authorizers=authorizers,
                cors=self._cors(self.resolve(props.get("Cors"))),
                usage_plan_throttle=ThrottleSpec(
                    rate_limit=float(self.resolve(throttle.get("RateLimit", 10000))),
                    burst_limit=int(self.resolve(throttle.get("BurstLimit", 5000))),
                )
                if throttle
                else None,
                variables={
                    k: str(self.resolve(v)) for k, v in (props.get("Variables") or {}).items()
                },
                binary_media_types=tuple(
                    str(t).replace("~1", "/")
                    for t in self.resolve(props.get("BinaryMediaTypes") or [])
                ),
                tracing_enabled=_truthy(self.resolve(props.get("TracingEnabled", False))),
            )
        return apis

    def _authorizer(self, api_id: str, name: str, decl: dict[str, Any]) -> AuthorizerSpec:
        arn = decl.get("FunctionArn")
        if isinstance(arn, dict) and "Fn::GetAtt" in arn:
            function_id = arn["Fn::GetAtt"][0]
        elif isinstance(arn, dict) and "Ref" in arn:
            function_id = arn["Ref"]
        else:
            raise TemplateError(
                f"{api_id}: authorizer {name} needs FunctionArn: !GetAtt <Function>.Arn "
                "(Cognito authorizers are not emulated)"
            )
        identity = decl.get("Identity") or {}
        payload_type = str(decl.get("FunctionPayloadType", "TOKEN")).upper()
        if payload_type == "TOKEN":
            headers: tuple[str, ...] = (identity.get("Header", "Authorization"),)
            queries: tuple[str, ...] = ()
        elif payload_type == "REQUEST":
            headers = tuple(identity.get("Headers") or ())
            queries = tuple(identity.get("QueryStrings") or ())
        else:
            raise TemplateError(f"{api_id}: authorizer {name}: FunctionPayloadType {payload_type}")
        return AuthorizerSpec(
            name=name,
            function_id=function_id,
            type=payload_type,  # type: ignore[arg-type]
            identity_headers=headers,
            identity_query=queries,
            ttl_s=int(identity.get("ReauthorizeEvery", 300)),
            validation_expression=identity.get("ValidationExpression"),
        )

    @staticmethod
    def _cors(cors: Any) -> CorsSpec | None:
        if cors is None:
            return None
        if isinstance(cors, str):
            return CorsSpec(allow_origin=_unquote(cors))

        def get(key: str) -> str | None:
            return _unquote(cors[key]) if key in cors else None

        max_age = get("MaxAge")
        return CorsSpec(
            allow_origin=get("AllowOrigin") or "*",
            allow_methods=get("AllowMethods"),
            allow_headers=get("AllowHeaders"),
            expose_headers=get("ExposeHeaders"),
            max_age=int(max_age) if max_age else None,
            allow_credentials=bool(cors.get("AllowCredentials", False)),
        )


def _check_handler_module(logical_id: str, handler: str, roots: tuple[Path, ...]) -> None:
    """Catch a mistyped Handler at start-up; import errors still surface as Lambda reports them."""
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    for root in roots:
        if (root / f"{module}.py").exists() or (root / module / "__init__.py").exists():
            return
    raise TemplateError(
        f"{logical_id}: Handler {handler}: no {module}.py in {roots[0]} or its layers"
    )


def _unquote(value: Any) -> str:
    """SAM's Cors values are header values in single quotes: "'*'" means *."""
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _local_api_id(logical_id: str) -> str:
    """A stable 10-character id in API Gateway's alphabet, so ARNs and URLs look real."""
    import hashlib

    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def load_template(
    paths: Iterable[Path],
    parameter_overrides: Mapping[str, str] | None = None,
    refs: Mapping[str, str] | None = None,
) -> TemplateSpec:
    """One-shot load when no resource needs creating first (tests, `local invoke` planning)."""
    return TemplateLoader(paths, parameter_overrides).build(refs)


def _truthy(value: Any) -> bool:
    """A CloudFormation boolean: true/false, or the strings "true"/"false"."""
    return value is True or str(value).lower() == "true"
