"""API keys: a key opens the API-key routes (GET /v1/stats/*) and nothing else; revoked, nothing.

The probe routes come from tests/fixtures/security.yaml: an echo function behind the product's
ApiKeyAuthorizer (GET /v1/stats/probe, as /v1/stats/realtime will be), the same authorizer on a
method and a path outside the key's policy, and one behind the bearer-token authorizer.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.security.conftest import Api, Session, assert_problem
from tests.support import RunningCloud

AUTHORIZER = "eventstream-dev-auth-authorizer"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef/dev/GET/v1/stats/realtime"


def new_key(api: Api, admin: Session) -> dict[str, Any]:
    created = api.request("POST", "/auth/api-keys", json={"name": "stats"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    return dict(created.json())


def invoke_authorizer(cloud: RunningCloud, key: str) -> dict[str, Any]:
    """The authorizer's own answer, through the cloud's Lambda Invoke API (no gateway cache)."""
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "httpMethod": "GET",
        "path": "/v1/stats/realtime",
        "headers": {"X-Api-Key": key},
    }
    response = httpx.post(
        f"{cloud.lambda_url}/2015-03-31/functions/{AUTHORIZER}/invocations",
        content=json.dumps(event),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"error": response.headers.get("x-amz-function-error"), "payload": response.json()}


@pytest.fixture(scope="module")
def key(api: Api, admin: Session) -> dict[str, Any]:
    return new_key(api, admin)


def test_a_key_opens_the_stats_route_with_its_own_identity(api: Api, key: dict[str, Any]) -> None:
    response = api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": key["key"]})
    assert response.status_code == 200, response.text
    authorizer = response.json()["event"]["requestContext"]["authorizer"]
    assert authorizer["sub"] == f"apikey:{key['id']}"
    assert authorizer["roles"] == "apikey"


def test_a_key_opens_nothing_else(api: Api, key: dict[str, Any]) -> None:
    headers = {"X-Api-Key": key["key"]}
    # Same authorizer, outside the key's policy: a method and a path.
    assert api.request("POST", "/v1/stats/probe", headers=headers).status_code == 403
    assert api.request("GET", "/v1/probe/by-key", headers=headers).status_code == 403
    # Bearer-token routes do not read X-Api-Key at all.
    assert api.request("GET", "/v1/probe/by-token", headers=headers).status_code == 401
    assert api.request("GET", "/auth/api-keys", headers=headers).status_code == 401


def test_the_key_listing_never_shows_a_key(api: Api, admin: Session, key: dict[str, Any]) -> None:
    listed = api.request("GET", "/auth/api-keys", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [entry] = [k for k in listed.json()["items"] if k["id"] == key["id"]]
    assert key["key"].startswith(entry["prefix"])
    assert key["key"] not in listed.text
    assert "key_hash" not in entry


@pytest.mark.parametrize(
    "value",
    [
        "",
        "esk_00000000_" + "A" * 43,  # well-formed, unknown
        "esk_zzzz",  # malformed: never reaches the database
        "' OR '1'='1",
    ],
)
def test_unknown_and_malformed_keys_are_401(api: Api, value: str) -> None:
    headers = {"X-Api-Key": value} if value else {}
    assert api.request("GET", "/v1/stats/probe", headers=headers).status_code == 401


def test_a_key_with_a_known_prefix_and_a_wrong_secret_is_401(api: Api, key: dict[str, Any]) -> None:
    prefix = key["prefix"]
    forged = f"{prefix}_{'B' * 43}"
    assert forged != key["key"]
    assert api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": forged}).status_code == 401


def test_a_revoked_key_is_refused(api: Api, admin: Session, cloud: RunningCloud) -> None:
    used = new_key(api, admin)
    unused = new_key(api, admin)
    assert (
        api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": used["key"]}).status_code == 200
    )
    allowed = invoke_authorizer(cloud, used["key"])
    assert allowed["error"] is None
    assert allowed["payload"]["principalId"] == f"apikey:{used['id']}"

    for k in (used, unused):
        revoked = api.request("DELETE", f"/auth/api-keys/{k['id']}", headers=admin.headers)
        assert revoked.status_code == 204, revoked.text
    assert_problem(
        api.request("DELETE", f"/auth/api-keys/{used['id']}x", headers=admin.headers), 404
    )

    # The authorizer refuses it at once; the gateway may answer from its cache for up to
    # ReauthorizeEvery (60 s), as API Gateway does, so a key never seen there shows the 401.
    refused = invoke_authorizer(cloud, used["key"])
    assert refused["error"] == "Unhandled"
    assert refused["payload"]["errorMessage"] == "Unauthorized"
    response = api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": unused["key"]})
    assert response.status_code == 401
