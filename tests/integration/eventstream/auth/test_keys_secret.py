"""The signing key set in a real (moto) Secrets Manager: store, load, rotate, verify across it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from eventstream.auth import keys
from eventstream.auth.tokens import TokenError, issue_access_token, verify_access_token
from localcloud.aws_endpoint import MotoServer, aws_client, seed_secret
from tests.conftest import REGION

ISS = "https://auth.eventstream.test"
AUD = "eventstream-api"


@pytest.fixture
def client(aws_env: MotoServer) -> Any:
    return aws_client("secretsmanager", aws_env.endpoint_url, REGION)


def secret_name() -> str:
    return f"eventstream/test/signing-keys-{uuid.uuid4().hex[:8]}"


def verify(token: str, key_set: dict[str, Any], now: float) -> str:
    return verify_access_token(
        token, keys.verification_keys(key_set, now), issuer=ISS, audience=AUD, now=now
    ).sub


def issue(key_set: dict[str, Any], now: float) -> str:
    signer = keys.signing_key(key_set)
    return issue_access_token(
        sub="usr_1", roles=["user"], key=signer, issuer=ISS, audience=AUD, now=now
    ).token


def test_store_load_rotate_and_verify_across_the_rotation(aws_env: MotoServer, client: Any) -> None:
    now = time.time()
    arn = keys.store_key_set(client, secret_name(), keys.seed_value(now))  # creates it
    assert arn.startswith("arn:aws:secretsmanager:")
    aws_env_vars = pytest.MonkeyPatch.context()
    with aws_env_vars as env:
        env.setenv(keys.SECRET_ARN_ENV, arn)

        first = keys.load_key_set()
        old_token = issue(first, now)
        old_jwks = keys.jwks(first, now)
        assert len(old_jwks["keys"]) == 1

        rotated = keys.rotate_stored_keys(client, arn, now + 10)
        new_kid = keys.signing_key(rotated).kid

        # Within max_age the worker still holds the old set: a new token's kid is unknown,
        # and the caller refreshes once, as the authorizer does.
        cached = keys.load_key_set()
        assert cached == first
        new_token = issue(rotated, now + 10)
        with pytest.raises(TokenError) as caught:
            verify(new_token, cached, now + 10)
        assert caught.value.reason == "unknown_kid"
        fresh = keys.load_key_set(force_fetch=True)
        assert fresh == rotated
        assert verify(new_token, fresh, now + 10) == "usr_1"
        assert verify(old_token, fresh, now + 10) == "usr_1"  # the old key still verifies

        new_jwks = keys.jwks(fresh, now + 10)
        assert new_jwks != old_jwks
        assert {k["kid"] for k in new_jwks["keys"]} == {
            old_jwks["keys"][0]["kid"],
            new_kid,
        }
        assert all("d" not in k for k in new_jwks["keys"])

        # Once its grace is over the old key leaves the set, and its tokens with it.
        later = now + 10 + keys.RETIRED_KEY_GRACE_S + 1
        keys.rotate_stored_keys(client, arn, later)
        latest = keys.load_key_set(force_fetch=True)
        assert old_jwks["keys"][0]["kid"] not in {e["kid"] for e in latest["keys"]}
        with pytest.raises(TokenError) as caught:
            verify_access_token(
                old_token, keys.verification_keys(latest, later), issuer=ISS, audience=AUD, now=now
            )
        assert caught.value.reason == "unknown_kid"


def test_store_key_set_overwrites_an_existing_secret(client: Any) -> None:
    name = secret_name()
    first_arn = keys.store_key_set(client, name, keys.seed_value())
    replacement = keys.seed_value()
    assert keys.store_key_set(client, name, replacement) == first_arn
    stored = client.get_secret_value(SecretId=name)["SecretString"]
    assert replacement["keys"][0]["kid"] in stored


def test_a_missing_or_broken_secret_is_a_key_set_error(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.delenv(keys.SECRET_ARN_ENV, raising=False)
    with pytest.raises(keys.KeySetError, match=keys.SECRET_ARN_ENV):
        keys.load_key_set()

    clean_eventstream.setenv(keys.SECRET_ARN_ENV, f"{secret_name()}-absent")
    with pytest.raises(keys.KeySetError, match="cannot read"):
        keys.load_key_set()

    broken = seed_secret(aws_env.endpoint_url, REGION, secret_name(), "not json")
    clean_eventstream.setenv(keys.SECRET_ARN_ENV, broken)
    with pytest.raises(keys.KeySetError, match="not JSON"):
        keys.load_key_set()

    no_keys = seed_secret(aws_env.endpoint_url, REGION, secret_name(), {"keys": "none"})
    clean_eventstream.setenv(keys.SECRET_ARN_ENV, no_keys)
    with pytest.raises(keys.KeySetError, match="keys"):
        keys.load_key_set()
