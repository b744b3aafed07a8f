"""The signing key set, without AWS: generation, rotation, grace, JWKS and interop with joserfc."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet

from eventstream.auth import keys
from eventstream.auth.tokens import TokenError, issue_access_token, verify_access_token

NOW = 1_800_000_000
ISS = "https://auth.eventstream.test"
AUD = "eventstream-api"
GRACE = keys.RETIRED_KEY_GRACE_S
PRIVATE_JWK_FIELDS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


def token_for(key_set: dict[str, Any], now: float, sub: str = "usr_1") -> str:
    signer = keys.signing_key(key_set)
    return issue_access_token(
        sub=sub, roles=["user"], key=signer, issuer=ISS, audience=AUD, now=now
    ).token


def verify(token: str, key_set: dict[str, Any], now: float) -> str:
    return verify_access_token(
        token, keys.verification_keys(key_set, now), issuer=ISS, audience=AUD, now=now
    ).sub


def test_a_generated_key_has_the_stored_shape() -> None:
    entry = keys.generate_key(NOW)
    assert set(entry) == {"kid", "alg", "private_key_pem", "created_at", "retired_at"}
    assert entry["alg"] == "RS256"
    assert entry["created_at"] == NOW
    assert entry["retired_at"] is None
    private = serialization.load_pem_private_key(entry["private_key_pem"].encode(), None)
    assert isinstance(private, RSAPrivateKey)
    json.dumps(entry)  # storable as is


def test_the_kid_is_the_rfc7638_thumbprint() -> None:
    key_set = keys.new_key_set(NOW)
    jwk = keys.jwks(key_set, NOW)["keys"][0]
    canonical = json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"))
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    assert jwk["kid"] == digest.decode()
    assert jwk["kid"] == key_set["keys"][0]["kid"]


def test_each_key_is_new() -> None:
    assert keys.generate_key(NOW)["kid"] != keys.generate_key(NOW)["kid"]


def test_the_newest_active_key_signs() -> None:
    older, newer = keys.generate_key(NOW - 100), keys.generate_key(NOW)
    retired = {**keys.generate_key(NOW + 50), "retired_at": NOW + 60}
    signer = keys.signing_key({"keys": [older, retired, newer]})
    assert signer.kid == newer["kid"]
    assert "PRIVATE" not in repr(signer)


def test_a_set_with_no_active_key_cannot_sign() -> None:
    retired = {**keys.generate_key(NOW), "retired_at": NOW}
    with pytest.raises(keys.KeySetError, match="no active signing key"):
        keys.signing_key({"keys": [retired]})


@pytest.mark.parametrize(
    "bad",
    [{}, {"keys": "x"}, {"keys": [1]}, {"keys": [{"kid": "a"}]}, []],
)
def test_malformed_key_sets_are_refused(bad: Any) -> None:
    with pytest.raises(keys.KeySetError):
        keys.signing_key(bad)


def test_a_key_of_another_algorithm_is_refused() -> None:
    entry = {**keys.generate_key(NOW), "alg": "HS256"}
    with pytest.raises(keys.KeySetError, match="not RS256"):
        keys.verification_keys({"keys": [entry]}, NOW)


def test_rotate_adds_a_signer_and_retires_the_previous_one_without_mutating() -> None:
    original = keys.new_key_set(NOW)
    snapshot = json.dumps(original)
    rotated = keys.rotate(original, NOW + 10)
    assert json.dumps(original) == snapshot  # pure
    old_kid = original["keys"][0]["kid"]
    new_kid = keys.signing_key(rotated).kid
    assert new_kid != old_kid
    by_kid = {e["kid"]: e for e in rotated["keys"]}
    assert by_kid[old_kid]["retired_at"] == NOW + 10
    assert by_kid[new_kid]["retired_at"] is None
    assert set(keys.verification_keys(rotated, NOW + 10)) == {old_kid, new_kid}


def test_old_tokens_verify_after_rotation_until_the_grace_ends() -> None:
    first = keys.new_key_set(NOW)
    old_token = token_for(first, NOW)
    rotated = keys.rotate(first, NOW + 1)
    new_token = token_for(rotated, NOW + 1)
    assert jose_header_kid(new_token) != jose_header_kid(old_token)
    assert verify(old_token, rotated, NOW + 1) == "usr_1"
    assert verify(new_token, rotated, NOW + 1) == "usr_1"

    # The grace covers a full token lifetime (plus leeway and cache age) after retirement.
    assert GRACE >= keys.ACCESS_TOKEN_TTL_S + keys.LEEWAY_S
    late = NOW + 1 + GRACE
    assert jose_header_kid(old_token) in keys.verification_keys(rotated, late)

    after = late + 1
    assert jose_header_kid(old_token) not in keys.verification_keys(rotated, after)
    with pytest.raises(TokenError) as caught:
        verify_access_token(
            old_token, keys.verification_keys(rotated, after), issuer=ISS, audience=AUD, now=NOW
        )
    assert caught.value.reason == "unknown_kid"


def test_rotate_prunes_keys_past_their_grace() -> None:
    first = keys.new_key_set(NOW)
    second = keys.rotate(first, NOW + 100)
    third = keys.rotate(second, NOW + 200)
    assert len(third["keys"]) == 3  # all within grace
    fourth = keys.rotate(third, NOW + 100 + GRACE + 1)
    kids = [e["kid"] for e in fourth["keys"]]
    assert first["keys"][0]["kid"] not in kids  # retired at NOW+100, grace over
    assert second["keys"][0]["kid"] in kids  # retired at NOW+200, still in grace
    assert len(kids) == 3


def test_jwks_holds_public_parts_only() -> None:
    key_set = keys.rotate(keys.rotate(keys.new_key_set(NOW), NOW + 1), NOW + 2)
    document = keys.jwks(key_set, NOW + 2)
    assert len(document["keys"]) == 3
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
        assert not PRIVATE_JWK_FIELDS & set(jwk)
        assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
        assert len(base64.urlsafe_b64decode(jwk["n"] + "==")) == keys.KEY_BITS // 8
        assert base64.urlsafe_b64decode(jwk["e"] + "==") == b"\x01\x00\x01"
    text = json.dumps(document)
    assert "PRIVATE" not in text
    for entry in key_set["keys"]:
        private = serialization.load_pem_private_key(entry["private_key_pem"].encode(), None)
        numbers = private.private_numbers()  # type: ignore[union-attr]
        for secret in (numbers.d, numbers.p, numbers.q):
            raw = secret.to_bytes((secret.bit_length() + 7) // 8, "big")
            assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() not in text


def jose_header_kid(token: str) -> str:
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return header["kid"]


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # RFC 9864 names it Ed25519 now
def test_tokens_verify_with_joserfc_from_the_jwks_alone() -> None:
    key_set = keys.rotate(keys.new_key_set(NOW), NOW + 5)
    old_token = token_for(keys.new_key_set(NOW), NOW)  # a stranger's key: must not verify
    token = token_for(key_set, NOW + 5, sub="usr_interop")
    # Through JSON text, as a client fetching /.well-known/jwks.json would see it.
    key_ring = KeySet.import_key_set(json.loads(json.dumps(keys.jwks(key_set, NOW + 5))))

    decoded = jose_jwt.decode(token, key_ring, algorithms=["RS256"])
    assert decoded.header["kid"] == keys.signing_key(key_set).kid
    registry = jose_jwt.JWTClaimsRegistry(
        now=NOW + 6,
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        sub={"essential": True, "value": "usr_interop"},
        exp={"essential": True},
        jti={"essential": True},
    )
    registry.validate(decoded.claims)

    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "usr_admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        jose_jwt.decode(f"{head}.{forged}.{sig}", key_ring, algorithms=["RS256"])
    with pytest.raises(InvalidKeyIdError):
        jose_jwt.decode(old_token, key_ring, algorithms=["RS256"])
