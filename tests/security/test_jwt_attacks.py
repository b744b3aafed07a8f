"""Forged and altered access tokens, over HTTP: the validate route says why, the gateway says 401.

Each forgery is made from a real token of the running cloud (or its real signing key, read from
Secrets Manager as an insider with the key would), so only the one thing under attack is wrong.
The untouched token passes both checks, so every refusal below is the forgery's doing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstream.auth import keys
from tests.security.conftest import (
    AUDIENCE,
    ISSUER,
    Api,
    Session,
    assert_problem,
    signing_key_set,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    parts = [b64(json.dumps(p, separators=(",", ":")).encode()) for p in (header, payload)]
    return ".".join([*parts, b64(signature)])


class Forger:
    """Makes tokens from a real one: same claims and kid unless a test changes them."""

    def __init__(self, token: str, key_set: dict[str, Any], jwks: dict[str, Any]) -> None:
        self.token = token
        head, body, _ = token.split(".")
        self.header: dict[str, Any] = json.loads(unb64(head))
        self.claims: dict[str, Any] = json.loads(unb64(body))
        entry = next(k for k in key_set["keys"] if k["kid"] == self.header["kid"])
        self.private_key = serialization.load_pem_private_key(
            entry["private_key_pem"].encode(), password=None
        )
        self.jwk = next(k for k in jwks["keys"] if k["kid"] == self.header["kid"])

    def signed(self, **changes: Any) -> str:
        """The real key's signature over the real claims with `changes` (None removes one)."""
        claims = {**self.claims, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.private_key, algorithm=keys.ALG, headers=self.header)

    def hmac_with(self, secret: bytes) -> str:
        header = {**self.header, "alg": "HS256"}
        head = b64(json.dumps(header, separators=(",", ":")).encode())
        body = b64(json.dumps(self.claims, separators=(",", ":")).encode())
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(mac)}"


@pytest.fixture(scope="module")
def user(api: Api, admin: Session) -> Session:
    return api.new_user(admin)


@pytest.fixture(scope="module")
def forger(api: Api, user: Session, secrets_client: Any) -> Forger:
    jwks = api.request("GET", "/.well-known/jwks.json").json()
    return Forger(user.access_token, signing_key_set(secrets_client), jwks)


def attacker_key(alg: str) -> Any:
    """A fresh private key of the kind `alg` signs with: not ours."""
    if alg == "EdDSA":
        return Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _none(f: Forger) -> str:
    return compact({**f.header, "alg": "none"}, {**f.claims, "roles": ["admin"]}, b"")


def _none_capitalised_with_signature(f: Forger) -> str:
    _, body, sig = f.token.split(".")
    header = b64(json.dumps({**f.header, "alg": "None"}).encode())
    return f"{header}.{body}.{sig}"


def _hs256_public_pem(f: Forger) -> str:
    public = f.private_key.public_key()
    return f.hmac_with(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _hs256_jwk_member(f: Forger) -> str:
    # The JWKS's key material as the attacker sees it: `n` of an RSA key, `x` of an OKP key.
    return f.hmac_with(str(f.jwk.get("n") or f.jwk["x"]).encode())


def _hs256_jwk_document(f: Forger) -> str:
    return f.hmac_with(json.dumps(f.jwk).encode())


def _other_alg_with_our_key(f: Forger) -> str:
    # A signature our own key really made, under an algorithm the server does not use.
    other = "PS256" if keys.ALG == "RS256" else "RS256"
    if other == "PS256":
        return jwt.encode(f.claims, f.private_key, other, headers={**f.header, "alg": other})
    return jwt.encode(f.claims, attacker_key("RS256"), other, headers={**f.header, "alg": other})


def _other_family_attacker_key(f: Forger) -> str:
    other = "EdDSA" if keys.ALG != "EdDSA" else "RS256"
    return jwt.encode(
        {**f.claims, "roles": ["admin"]},
        attacker_key(other),
        other,
        headers={**f.header, "alg": other},
    )


def _expired(f: Forger) -> str:
    now = int(time.time())
    return f.signed(iat=now - 3600, nbf=now - 3600, exp=now - 900)


def _not_yet_valid(f: Forger) -> str:
    now = int(time.time())
    return f.signed(iat=now + 3600, nbf=now + 3600, exp=now + 4500)


def _unknown_kid(f: Forger) -> str:
    return jwt.encode(
        f.claims, attacker_key(keys.ALG), keys.ALG, headers={**f.header, "kid": "not-our-key"}
    )


def _our_kid_other_key(f: Forger) -> str:
    return jwt.encode(
        {**f.claims, "roles": ["admin"]}, attacker_key(keys.ALG), keys.ALG, headers=f.header
    )


def _tampered_payload(f: Forger) -> str:
    head, _, sig = f.token.split(".")
    body = b64(json.dumps({**f.claims, "roles": ["admin", "user"]}).encode())
    return f"{head}.{body}.{sig}"


def _tampered_signature(f: Forger) -> str:
    head, body, sig = f.token.split(".")
    raw = bytearray(unb64(sig))
    raw[10] ^= 0x01
    return f"{head}.{body}.{b64(bytes(raw))}"


def _stripped_signature(f: Forger) -> str:
    head, body, _ = f.token.split(".")
    return f"{head}.{body}."


FORGERIES: list[tuple[str, Callable[[Forger], str], str]] = [
    ("alg none", _none, "unsupported_algorithm"),
    ("alg None, real signature", _none_capitalised_with_signature, "unsupported_algorithm"),
    ("HS256 keyed with the public key PEM", _hs256_public_pem, "unsupported_algorithm"),
    ("HS256 keyed with the JWKS key member", _hs256_jwk_member, "unsupported_algorithm"),
    ("HS256 keyed with the JWK document", _hs256_jwk_document, "unsupported_algorithm"),
    ("another algorithm, our key", _other_alg_with_our_key, "unsupported_algorithm"),
    ("another key family", _other_family_attacker_key, "unsupported_algorithm"),
    ("expired", _expired, "expired"),
    ("not yet valid", _not_yet_valid, "not_yet_valid"),
    ("wrong iss", lambda f: f.signed(iss="https://evil.example"), "wrong_issuer"),
    ("wrong aud", lambda f: f.signed(aud="another-api"), "wrong_audience"),
    ("no aud", lambda f: f.signed(aud=None), "missing_claim"),
    ("no exp", lambda f: f.signed(exp=None), "missing_claim"),
    ("unknown kid", _unknown_kid, "unknown_kid"),
    ("our kid, an attacker's key", _our_kid_other_key, "bad_signature"),
    ("tampered payload", _tampered_payload, "bad_signature"),
    ("tampered signature", _tampered_signature, "bad_signature"),
    ("signature stripped", _stripped_signature, "malformed"),
]


def test_the_untouched_token_passes_both_checks(api: Api, user: Session, forger: Forger) -> None:
    assert forger.claims["iss"] == ISSUER
    assert forger.claims["aud"] == AUDIENCE
    assert api.validate(user.access_token)["valid"] is True
    # A re-signed copy with nothing changed is as good as the original: the forger is faithful.
    resigned = forger.signed()
    assert api.validate(resigned)["valid"] is True
    response = api.request("GET", f"/auth/users/{user.user_id}", headers=user.headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("make", "reason"), [(m, r) for _, m, r in FORGERIES], ids=[n for n, _, _ in FORGERIES]
)
def test_a_forged_token_is_refused(
    api: Api, user: Session, forger: Forger, make: Callable[[Forger], str], reason: str
) -> None:
    token = make(forger)
    assert api.validate(token) == {"valid": False, "reason": reason}
    # Through the gateway and the authorizer: the route the token is good for in the original.
    response = api.request(
        "GET", f"/auth/users/{user.user_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401, response.text
    # The admin route the forgeries that add the admin role are after.
    response = api.request("GET", "/auth/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    "value",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt", "Bearer a.b.c.d"],
)
def test_no_or_a_malformed_authorization_header_is_401(api: Api, user: Session, value: str) -> None:
    headers = {"Authorization": value} if value else {}
    response = api.request("GET", f"/auth/users/{user.user_id}", headers=headers)
    assert response.status_code == 401, response.text


def test_validate_names_malformed_tokens(api: Api) -> None:
    assert api.validate("not.a.jwt") == {"valid": False, "reason": "malformed"}
    assert api.validate("x" * 9000) == {"valid": False, "reason": "malformed"}
    response = api.request("POST", "/auth/token/validate", json={"token": 12})
    assert_problem(response, 422)
