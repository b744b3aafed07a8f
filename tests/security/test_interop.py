"""A second JOSE implementation (joserfc, not PyJWT) verifies our tokens from the JWKS alone.

What a third-party resource server would do: fetch /.well-known/jwks.json, pick the key by kid,
check the signature and the registered claims. No code or key material of ours is used.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet

from tests.security.conftest import AUDIENCE, ISSUER, Api, Session


@pytest.fixture(scope="module")
def jwks(api: Api) -> dict[str, Any]:
    response = api.request("GET", "/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def claims_registry(**overrides: Any) -> jwt.JWTClaimsRegistry:
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "jti": {"essential": True},
        **overrides,
    }
    return jwt.JWTClaimsRegistry(**options)


def test_the_jwks_holds_public_keys_only(jwks: dict[str, Any]) -> None:
    assert jwks["keys"]
    private_members = {"d", "p", "q", "dp", "dq", "qi", "k", "private_key_pem"}
    for key in jwks["keys"]:
        assert private_members.isdisjoint(key), key
        assert key["use"] == "sig"
        assert key["kid"]
        assert key["alg"] in ("RS256", "EdDSA", "ES256")


def test_the_kid_is_the_rfc7638_thumbprint(jwks: dict[str, Any]) -> None:
    for member in KeySet.import_key_set(jwks).keys:
        assert member.kid == member.thumbprint()


def test_an_access_token_verifies_with_joserfc(
    api: Api, admin: Session, jwks: dict[str, Any]
) -> None:
    header = json.loads(base64.urlsafe_b64decode(admin.access_token.split(".")[0] + "=="))
    token = jwt.decode(admin.access_token, KeySet.import_key_set(jwks), algorithms=[header["alg"]])
    assert token.header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims_registry().validate(token.claims)
    assert token.claims["sub"] == admin.user_id
    assert "admin" in token.claims["roles"]
    assert token.claims["exp"] - token.claims["iat"] == 900
    assert token.claims["exp"] > time.time()


def test_joserfc_refuses_what_we_refuse(admin: Session, jwks: dict[str, Any]) -> None:
    key_set = KeySet.import_key_set(jwks)
    alg = jwks["keys"][0]["alg"]
    head, body, sig = admin.access_token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{head}.{body}.{flipped}", key_set, algorithms=[alg])
    token = jwt.decode(admin.access_token, key_set, algorithms=[alg])
    with pytest.raises(InvalidClaimError):
        claims_registry(aud={"essential": True, "value": "someone-else"}).validate(token.claims)
