"""IAM policy evaluation for Lambda authorizer results: wildcards, list forms, Deny wins."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.gateway.policy import Decision, Policy, PolicyError

ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/GET/v1/items/42"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    "resource",
    [
        ARN,
        "*",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/*/v1/items/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/GET/v1/items/??",
        "arn:aws:execute-api:*:*:*/dev/GET/*",
        ["arn:aws:execute-api:eu-west-1:123456789012:other/*", ARN],
    ],
)
def test_allow_matches(resource: Any) -> None:
    assert policy(allow(resource)).evaluate(ARN) is Decision.ALLOW


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/POST/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/GET/v1/items/?",
        "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/GET/v1/items",
        ARN.upper(),  # resources are case-sensitive
    ],
)
def test_allow_that_does_not_match_is_an_implicit_deny(resource: Any) -> None:
    assert policy(allow(resource)).evaluate(ARN) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "action",
    [
        "execute-api:Invoke",
        "execute-api:*",
        "*",
        "Execute-API:invoke",
        ["s3:Get*", "execute-api:Inv?ke"],
    ],
)
def test_action_forms(action: Any) -> None:
    assert policy(allow("*", action)).evaluate(ARN) is Decision.ALLOW


def test_other_actions_never_apply() -> None:
    assert (
        policy(allow("*", "execute-api:ManageConnections")).evaluate(ARN) is Decision.IMPLICIT_DENY
    )
    assert policy(deny("*", "s3:*"), allow("*")).evaluate(ARN) is Decision.ALLOW


def test_explicit_deny_wins_over_allow() -> None:
    p = policy(allow("*"), deny("arn:aws:execute-api:*:*:*/dev/GET/v1/items/*"))
    assert p.evaluate(ARN) is Decision.EXPLICIT_DENY
    assert p.evaluate(ARN.replace("/GET/", "/PUT/")) is Decision.ALLOW


def test_a_single_statement_object_and_not_forms() -> None:
    single = Policy.parse({"Statement": allow(ARN)})
    assert single.evaluate(ARN) is Decision.ALLOW
    not_resource = policy(
        {"Effect": "Allow", "Action": "execute-api:Invoke", "NotResource": "*/POST/*"}
    )
    assert not_resource.evaluate(ARN) is Decision.ALLOW
    assert not_resource.evaluate(ARN.replace("/GET/", "/POST/")) is Decision.IMPLICIT_DENY
    not_action = policy({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}, allow("*"))
    assert not_action.evaluate(ARN) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    "document",
    [
        None,
        "policy",
        {},
        {"Statement": []},
        {"Statement": ["x"]},
        {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": []}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": [1]}]},
    ],
)
def test_malformed_documents(document: Any) -> None:
    with pytest.raises(PolicyError):
        Policy.parse(document)
