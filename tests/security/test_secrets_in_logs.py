"""No password, token or key the suite sent or was handed appears in any log of the cloud.

Runs last (see conftest): by then every module has logged in, refreshed, failed logins and made
API keys, and conftest has kept every credential. The logs searched are the console of
`eventstream local up` (gateway and function output) and what the functions shipped to
CloudWatch Logs in moto.
"""

from __future__ import annotations

import uuid
from typing import Any

from localcloud.aws_endpoint import aws_client
from tests.security.conftest import ISSUED_SECRETS, PASSWORD, REGION, Api, Session
from tests.support import ADMIN_PASSWORD, RunningCloud


def cloudwatch_text(cloud: RunningCloud) -> str:
    logs = aws_client("logs", cloud.aws_endpoint_url, REGION)
    messages: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group["logGroupName"]
            ):
                messages += [e["message"] for e in events["events"]]
    return "\n".join(messages)


def test_no_secret_reaches_a_log(api: Api, admin: Session, cloud: RunningCloud) -> None:
    canary = f"canary-password-{uuid.uuid4().hex}"
    secrets: set[str] = {canary}
    # The paths most likely to log what they were given: failures and validation errors.
    api.login(admin.username, canary)
    api.login(f"nobody-{uuid.uuid4().hex[:6]}", canary)
    api.request("POST", "/auth/login", json={"username": admin.username, "password": 7})
    user = api.new_user(admin)
    refreshed = api.refresh(user.refresh_token)
    assert refreshed.status_code == 200
    assert api.refresh(user.refresh_token).status_code == 401  # reuse: the family is revoked
    key: dict[str, Any] = api.request(
        "POST", "/auth/api-keys", json={"name": "log-probe"}, headers=admin.headers
    ).json()
    api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": key["key"]})
    api.request("GET", "/v1/stats/probe", headers={"X-Api-Key": key["key"][:-1] + "x"})
    api.request(
        "PATCH",
        f"/auth/users/{user.user_id}",
        json={"password": canary, "current_password": "wrong " + canary},
        headers=user.headers,
    )
    api.request("POST", "/auth/token/validate", json={"token": user.access_token + "tampered"})
    last = api.request("GET", "/auth/users", headers={"X-Request-Probe": "1", **admin.headers})
    cloud.wait_for_line(r"\[gateway\] GET /auth/users 200")
    secrets |= ISSUED_SECRETS | {ADMIN_PASSWORD, PASSWORD, "wrong " + canary}
    assert last.status_code == 200

    console = "\n".join(cloud.lines)
    shipped = cloudwatch_text(cloud)
    # The scan sees the functions' output: an empty or unrelated text would pass vacuously.
    assert "[eventstream-dev-auth-login] START RequestId" in console
    assert "[gateway] POST /auth/login 401" in console
    assert "START RequestId" in shipped
    for secret in sorted(secrets):
        assert secret not in console, f"a secret ({secret[:6]}…) is in the console"
        assert secret not in shipped, f"a secret ({secret[:6]}…) is in CloudWatch Logs"
    assert len(secrets) > 10  # tokens, refresh tokens and keys of the whole suite were checked
