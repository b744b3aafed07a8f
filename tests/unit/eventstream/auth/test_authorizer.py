"""The authorizer's decision for TOKEN and REQUEST events, with a real key set and verifier.

The worker's verifier is replaced by a TokenVerifier whose loader hands out a key set made with
keys.new_key_set (and records each load), so the unknown-kid refetch is observable. Nothing of
ours is mocked; the API-key cases here are the ones decided before any database access.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import jwt
import pytest

from eventstream.auth import keys, verifier
from eventstream.auth.authorizer import Unauthorized, decide
from eventstream.auth.tokens import issue_access_token
from eventstream.config import reset_settings

ISS = "eventstream-test"
AUD = "eventstream-api"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/v1/events"
BASE = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev"
SUB = "0d4f5c4e-9f0b-4c55-8b1e-2f8f3c7c1a10"


class Loader:
    """A key-set loader as keys.load_key_set is called: records whether each load was forced."""

    def __init__(self, key_set: Mapping[str, Any]) -> None:
        self.key_set = key_set
        self.calls: list[bool] = []

    def __call__(self, *, force_fetch: bool = False) -> Mapping[str, Any]:
        self.calls.append(force_fetch)
        return self.key_set


@pytest.fixture(scope="module")
def key_set() -> dict[str, Any]:
    return keys.new_key_set(time.time())


@pytest.fixture
def loader(key_set: dict[str, Any], clean_eventstream: pytest.MonkeyPatch) -> Iterator[Loader]:
    clean_eventstream.setenv("TOKEN_ISSUER", ISS)
    clean_eventstream.setenv("TOKEN_AUDIENCE", AUD)
    reset_settings()
    load = Loader(key_set)
    clean_eventstream.setattr(verifier, "_verifier", verifier.TokenVerifier(load))
    yield load
    reset_settings()


def token(key_set: Mapping[str, Any], *, roles: list[str] | None = None, **kw: Any) -> str:
    return issue_access_token(
        sub=SUB,
        roles=["user"] if roles is None else roles,
        key=keys.signing_key(key_set),
        issuer=kw.pop("issuer", ISS),
        audience=kw.pop("audience", AUD),
        **kw,
    ).token


def token_event(value: str, method_arn: str = ARN) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": value, "methodArn": method_arn}


def test_a_valid_token_allows_the_stage_with_sub_and_roles(
    loader: Loader, key_set: dict[str, Any]
) -> None:
    policy = decide(token_event(f"Bearer {token(key_set, roles=['user', 'admin'])}"))
    assert policy == {
        "principalId": SUB,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{BASE}/*"]}
            ],
        },
        "context": {"sub": SUB, "roles": "user,admin"},
    }
    # API Gateway's context values are strings, numbers or booleans only.
    assert all(isinstance(v, str) for v in policy["context"].values())
    assert loader.calls == [False]  # loaded once, not forced


def test_the_scheme_is_case_insensitive(loader: Loader, key_set: dict[str, Any]) -> None:
    assert decide(token_event(f"bearer {token(key_set)}"))["principalId"] == SUB


def test_the_policy_covers_the_stage_of_the_method_arn(
    loader: Loader, key_set: dict[str, Any]
) -> None:
    arn = "arn:aws:execute-api:eu-west-1:210987654321:zz9/prod/POST/v1/a/b"
    policy = decide(token_event(f"Bearer {token(key_set)}", arn))
    resources = policy["policyDocument"]["Statement"][0]["Resource"]
    assert resources == ["arn:aws:execute-api:eu-west-1:210987654321:zz9/prod/*"]


@pytest.mark.parametrize(
    "value",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Token abc", "Bearer not-a-jwt", 42],
)
def test_missing_or_malformed_credentials_are_unauthorized(loader: Loader, value: object) -> None:
    with pytest.raises(Unauthorized) as caught:
        decide(token_event(value))  # type: ignore[arg-type]
    assert str(caught.value) == "Unauthorized"  # the exact message API Gateway maps to 401


@pytest.mark.parametrize(
    "changes",
    [
        {"issuer": "someone-else"},
        {"audience": "another-api"},
        {"now": time.time() - 3600},  # expired
        {"now": time.time() + 3600},  # not yet valid
    ],
)
def test_invalid_tokens_are_unauthorized(
    loader: Loader, key_set: dict[str, Any], changes: dict[str, Any]
) -> None:
    with pytest.raises(Unauthorized):
        decide(token_event(f"Bearer {token(key_set, **changes)}"))


def test_alg_none_and_a_tampered_token_are_unauthorized(
    loader: Loader, key_set: dict[str, Any]
) -> None:
    good = token(key_set)
    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = jwt.encode({**claims, "roles": ["admin"]}, None, algorithm="none")
    head, _, sig = good.split(".")
    admin_body = unsigned.split(".")[1]
    for forged in (unsigned, f"{head}.{admin_body}.{sig}"):
        with pytest.raises(Unauthorized):
            decide(token_event(f"Bearer {forged}"))


def test_an_unknown_kid_refetches_once_then_stops_asking(
    loader: Loader, key_set: dict[str, Any]
) -> None:
    decide(token_event(f"Bearer {token(key_set)}"))
    stranger = keys.new_key_set(time.time())
    for _ in range(3):
        with pytest.raises(Unauthorized):
            decide(token_event(f"Bearer {token(stranger)}"))
    # At most one fetch per UNKNOWN_KID_REFETCH_S: the initial load was just now.
    assert loader.calls == [False]


def test_without_the_interval_every_unknown_kid_would_refetch(
    loader: Loader, key_set: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control for the test above: the interval is what keeps Secrets Manager out of it.
    monkeypatch.setattr(verifier, "UNKNOWN_KID_REFETCH_S", 0.0)
    decide(token_event(f"Bearer {token(key_set)}"))
    stranger = keys.new_key_set(time.time())
    for _ in range(3):
        with pytest.raises(Unauthorized):
            decide(token_event(f"Bearer {token(stranger)}"))
    assert loader.calls == [False, True, True, True]


def test_a_rotated_key_is_picked_up_by_one_refetch(
    loader: Loader, key_set: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    old_token = token(key_set)
    decide(token_event(f"Bearer {old_token}"))
    monkeypatch.setattr(verifier, "UNKNOWN_KID_REFETCH_S", 0.0)
    rotated = keys.rotate(key_set, time.time())
    loader.key_set = rotated
    policy = decide(token_event(f"Bearer {token(rotated)}"))
    assert policy["principalId"] == SUB
    assert loader.calls == [False, True]
    # The retired key still verifies, from the refetched set, without another fetch.
    assert decide(token_event(f"Bearer {old_token}"))["principalId"] == SUB
    assert loader.calls == [False, True]


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"X-Api-Key": ""},
        {"X-Api-Key": "garbage"},
        {"X-Api-Key": "esk_zzzzzzzz_" + "A" * 43},  # not hex in the prefix
        {"X-Api-Key": "esk_0123abcd_" + "A" * 42},  # one short
        {"X-Api-Key": "' OR '1'='1"},
        {"Authorization": "Bearer whatever"},
    ],
)
def test_request_events_without_a_well_formed_key_are_unauthorized_before_any_query(
    loader: Loader, headers: dict[str, str] | None
) -> None:
    # No database is configured here: reaching one would raise something else.
    event = {"type": "REQUEST", "methodArn": ARN, "headers": headers}
    with pytest.raises(Unauthorized):
        decide(event)
