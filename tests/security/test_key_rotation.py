"""Rotating the signing keys in Secrets Manager while the cloud runs.

The operator's rotation (eventstream.auth.keys.rotate_stored_keys) against the cloud's moto:
tokens signed before it keep working, logins in a new execution environment sign with the new
key, and the authorizer and the validate route accept the new kid after one refetch.

Documented behaviour: a warm login environment keeps signing with the key set it cached for up
to KEY_CACHE_MAX_AGE_S (5 minutes); the retired key verifies for RETIRED_KEY_GRACE_S, which
covers those tokens. The verifiers refetch on an unknown kid at most every
UNKNOWN_KID_REFETCH_S, so the first new-kid token may wait that long.
"""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from eventstream.auth import keys
from eventstream.auth.verifier import UNKNOWN_KID_REFETCH_S
from tests.security.conftest import (
    PASSWORD,
    SIGNING_KEYS_SECRET,
    Api,
    Session,
    signing_key_set,
)
from tests.support import RunningCloud


def kid_of(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


def eventually(check: Any, timeout_s: float = UNKNOWN_KID_REFETCH_S + 5) -> Any:
    """check()'s first truthy answer, polling past the verifiers' refetch interval."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def concurrently(
    cloud: RunningCloud, address: str, n: int, method: str, path: str, **kwargs: Any
) -> list[httpx.Response]:
    """`n` simultaneous requests: all but one find the warm environment busy and get a new one."""

    def send(_: int) -> httpx.Response:
        client = Api(cloud, address)  # one connection each, so they are really simultaneous
        try:
            return client.request(method, path, **kwargs)
        finally:
            client.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(send, range(n)))


def from_new_environments(
    cloud: RunningCloud, address: str, method: str, path: str, wanted: Any, **kwargs: Any
) -> list[httpx.Response]:
    """Answers of rounds of simultaneous requests, until one satisfies `wanted` (5 rounds)."""
    answers: list[httpx.Response] = []
    for _ in range(5):
        answers += concurrently(cloud, address, 3, method, path, **kwargs)
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        if any(wanted(a) for a in answers):
            break
    return answers


def test_rotation_keeps_old_tokens_and_new_keys_are_picked_up(
    api: Api, admin: Session, cloud: RunningCloud, secrets_client: Any
) -> None:
    user = api.new_user(admin)
    before = api.session(user.username)  # signed before the rotation, never shown to the gateway
    old_kid = kid_of(before.access_token)
    assert old_kid == keys.signing_key(signing_key_set(secrets_client)).kid

    rotated = keys.rotate_stored_keys(secrets_client, SIGNING_KEYS_SECRET)
    new_kid = keys.signing_key(rotated).kid
    assert new_kid != old_kid
    assert signing_key_set(secrets_client) == rotated

    # Logins in new execution environments read the secret afresh and sign with the new key.
    logins = from_new_environments(
        cloud,
        api.address,
        "POST",
        "/auth/login",
        lambda r: kid_of(r.json()["access_token"]) == new_kid,
        json={"username": user.username, "password": PASSWORD},
    )
    kids = {kid_of(r.json()["access_token"]) for r in logins}
    assert new_kid in kids, f"no login signed with the new key; kids seen: {kids}"
    assert kids <= {old_kid, new_kid}
    new_token = next(
        r.json()["access_token"] for r in logins if kid_of(r.json()["access_token"]) == new_kid
    )

    # The authorizer meets an unknown kid, refetches the key set once, and lets it through.
    path = f"/auth/users/{user.user_id}"
    headers = {"Authorization": f"Bearer {new_token}"}
    assert eventually(lambda: api.request("GET", path, headers=headers).status_code == 200)
    assert eventually(lambda: api.validate(new_token).get("valid"))

    # With the refetched set, tokens of the retired key still verify, at both places.
    assert api.validate(before.access_token)["valid"] is True
    old = api.request("GET", path, headers=before.headers)
    assert old.status_code == 200, old.text

    # The JWKS publishes both public keys once its key set is re-read (every 10 s).
    def both_published() -> bool:
        document = api.request("GET", "/.well-known/jwks.json")
        assert document.status_code == 200, document.text
        return {k["kid"] for k in document.json()["keys"]} == {old_kid, new_kid}

    assert eventually(both_published, timeout_s=15)
