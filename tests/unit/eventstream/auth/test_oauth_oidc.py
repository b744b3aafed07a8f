"""ID token checks: signature, iss, aud/azp, exp/iat, nonce; each refusal names its reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from eventstream.auth.oauth_oidc import IdTokenError, verify_id_token

ISSUER = "https://idp.test"
CLIENT = "client-123"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "azp": CLIENT,
        "sub": "110169484474386276334",
        "iat": int(NOW) - 5,
        "exp": int(NOW) + 3600,
        "nonce": NONCE,
        "email": "jane@example.com",
        "email_verified": True,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: rsa.RSAPrivateKey, body: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode(body, key, algorithm=alg, headers={"kid": "k1"})


def verify(token: str, key: rsa.RSAPrivateKey, *, issuer: str = ISSUER) -> dict[str, Any]:
    return verify_id_token(
        token,
        key.public_key(),
        issuer=issuer,
        client_id=CLIENT,
        nonce=NONCE,
        algorithms=["RS256"],
        now=NOW,
    )


def reason(token: str, key: rsa.RSAPrivateKey) -> str:
    with pytest.raises(IdTokenError) as caught:
        verify(token, key)
    return caught.value.reason


def test_a_good_token_gives_its_claims(key: rsa.RSAPrivateKey) -> None:
    got = verify(sign(key, claims()), key)
    assert got["sub"] == "110169484474386276334"
    assert got["email"] == "jane@example.com"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"nonce": "another-login"}, "wrong_nonce"),
        ({"nonce": None}, "wrong_nonce"),
        ({"aud": "someone-else", "azp": None}, "wrong_audience"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "wrong_audience"),
        ({"iss": "https://evil.test"}, "wrong_issuer"),
        ({"exp": int(NOW) - 120}, "expired"),
        ({"iat": int(NOW) + 600}, "not_yet_valid"),
        ({"sub": None}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"sub": ""}, "missing_claim"),
    ],
)
def test_each_bad_claim_is_refused(
    key: rsa.RSAPrivateKey, changes: dict[str, Any], expected: str
) -> None:
    assert reason(sign(key, claims(**changes)), key) == expected


def test_clock_skew_within_the_leeway_passes(key: rsa.RSAPrivateKey) -> None:
    verify(sign(key, claims(exp=int(NOW) - 30, iat=int(NOW) + 30)), key)


def test_another_keys_signature_is_refused(key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert reason(sign(other, claims()), key) == "bad_signature"


def test_a_tampered_payload_is_refused(key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(key, claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(sub="admin")).encode()).rstrip(b"=")
    assert reason(f"{header}.{forged.decode()}.{signature}", key) == "bad_signature"


def test_alg_none_is_refused(key: rsa.RSAPrivateKey) -> None:
    unsigned = jwt.encode(claims(), key=None, algorithm="none")
    assert reason(unsigned, key) == "unsupported_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(key: rsa.RSAPrivateKey) -> None:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    mac = hmac.new(pem, header + b"." + body, hashlib.sha256).digest()
    token = b".".join([header, body, base64.urlsafe_b64encode(mac).rstrip(b"=")]).decode()
    assert reason(token, key) == "unsupported_algorithm"


def test_garbage_is_malformed(key: rsa.RSAPrivateKey) -> None:
    assert reason("not.a.jwt", key) == "malformed"


def test_googles_schemeless_issuer_is_accepted_for_google_only(key: rsa.RSAPrivateKey) -> None:
    google = "https://accounts.google.com"
    token = sign(key, claims(iss="accounts.google.com"))
    assert verify(token, key, issuer=google)["iss"] == "accounts.google.com"
    with pytest.raises(IdTokenError):
        verify(sign(key, claims(iss="idp.test")), key)


def test_without_now_the_real_clock_is_used(key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    fresh = sign(key, claims(iat=now, exp=now + 60))
    got = verify_id_token(
        fresh, key.public_key(), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, algorithms=["RS256"]
    )
    assert got["sub"]
