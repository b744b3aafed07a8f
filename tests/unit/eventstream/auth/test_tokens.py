"""Access tokens: issue, verify, and every forgery the issue lists; refresh tokens and API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from eventstream.auth import keys, tokens
from eventstream.auth.tokens import (
    REASONS,
    Claims,
    TokenError,
    api_key_matches,
    api_key_prefix,
    hash_api_key,
    hash_refresh_token,
    issue_access_token,
    new_api_key,
    new_refresh_token,
    refresh_token_matches,
    verify_access_token,
)

NOW = 1_800_000_000.0
ISS = "https://auth.eventstream.test"
AUD = "eventstream-api"


@pytest.fixture(scope="module")
def key_set() -> dict[str, Any]:
    return keys.new_key_set(NOW)


@pytest.fixture(scope="module")
def signer(key_set: dict[str, Any]) -> keys.SigningKey:
    return keys.signing_key(key_set)


@pytest.fixture(scope="module")
def public_keys(key_set: dict[str, Any]) -> dict[str, RSAPublicKey]:
    return keys.verification_keys(key_set, NOW)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def good_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "usr_1",
        "roles": ["user"],
        "iat": int(NOW),
        "nbf": int(NOW),
        "exp": int(NOW) + 900,
        "jti": "jti-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(signer: keys.SigningKey, claims: Mapping[str, Any], **header: Any) -> str:
    return jwt.encode(
        dict(claims), signer.private_key, algorithm="RS256", headers={"kid": signer.kid, **header}
    )


def issue(signer: keys.SigningKey, **kwargs: Any) -> str:
    args: dict[str, Any] = {
        "sub": "usr_1",
        "roles": ["user"],
        "key": signer,
        "issuer": ISS,
        "audience": AUD,
        "now": NOW,
    }
    args.update(kwargs)
    return issue_access_token(**args).token


def reason(token: str, public_keys: Mapping[str, Any], **kwargs: Any) -> str:
    args: dict[str, Any] = {"issuer": ISS, "audience": AUD, "now": NOW}
    args.update(kwargs)
    with pytest.raises(TokenError) as caught:
        verify_access_token(token, public_keys, **args)
    assert caught.value.reason in REASONS
    return caught.value.reason


class RecordingKeys(Mapping[str, Any]):
    """A key mapping that records every lookup: proves a refused token never reached a key."""

    def __init__(self, inner: Mapping[str, Any]) -> None:
        self.inner = inner
        self.looked_up: list[str] = []

    def __getitem__(self, kid: str) -> Any:
        self.looked_up.append(kid)
        return self.inner[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


# --- the good path -------------------------------------------------------------------------


def test_an_issued_token_verifies_with_its_claims(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    issued = issue_access_token(
        sub="usr_42", roles=["user", "admin"], key=signer, issuer=ISS, audience=AUD, now=NOW
    )
    assert issued.expires_at == int(NOW) + 900
    assert issued.token not in repr(issued)
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "RS256", "kid": signer.kid, "typ": "JWT"}
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "roles", "iat", "nbf", "exp", "jti"}
    claims = verify_access_token(issued.token, public_keys, issuer=ISS, audience=AUD, now=NOW + 1)
    assert claims == Claims(
        sub="usr_42", roles=("user", "admin"), exp=int(NOW) + 900, iat=int(NOW), jti=issued.jti
    )


def test_each_token_has_its_own_jti(signer: keys.SigningKey) -> None:
    first = issue_access_token(sub="u", roles=[], key=signer, issuer=ISS, audience=AUD, now=NOW)
    second = issue_access_token(sub="u", roles=[], key=signer, issuer=ISS, audience=AUD, now=NOW)
    assert first.jti != second.jti
    assert len(first.jti) >= 16


def test_clock_skew_within_leeway_is_tolerated(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    token = issue(signer, ttl_s=60)
    verify_access_token(token, public_keys, issuer=ISS, audience=AUD, now=NOW - 29)
    verify_access_token(token, public_keys, issuer=ISS, audience=AUD, now=NOW + 60 + 29)


# --- forgeries and invalid tokens: each must be refused with its reason -------------------


def test_alg_none_is_refused_before_any_key_is_used(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    for alg in ("none", "None", "NONE"):
        token = (
            f"{segment({'alg': alg, 'kid': signer.kid, 'typ': 'JWT'})}.{segment(good_claims())}."
        )
        recording = RecordingKeys(public_keys)
        assert reason(token, recording) == "unsupported_algorithm"
        assert recording.looked_up == []


def test_hs256_signed_with_the_public_key_bytes_is_refused(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    public = public_keys[signer.kid]
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_n = keys.public_jwk_members(public)["n"].encode()
    for secret in (pem, der, jwk_n):  # every form an attacker could take from the JWKS
        signing_input = f"{segment({'alg': 'HS256', 'kid': signer.kid})}.{segment(good_claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(mac)}"
        # A verifier that trusted the header and used the key bytes as an HMAC secret accepts it.
        head, body, sig = token.split(".")
        assert hmac.compare_digest(
            hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest(), unb64(sig)
        )
        recording = RecordingKeys(public_keys)
        assert reason(token, recording) == "unsupported_algorithm"
        assert recording.looked_up == []


def test_rs256_with_an_unrelated_rsa_key_is_refused(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(good_claims(), rsa_key, algorithm="RS256", headers={"kid": signer.kid})
    # Valid for a verifier that took the key from the token (the clock here is not NOW).
    lax = {"verify_iat": False, "verify_nbf": False}
    assert jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], audience=AUD, options=lax)
    assert reason(token, public_keys) == "bad_signature"


def test_ps256_with_our_key_is_refused(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    # Same key, another RSA scheme: the algorithm is ours to fix, not the token's to choose.
    token = jwt.encode(
        good_claims(), signer.private_key, algorithm="PS256", headers={"kid": signer.kid}
    )
    recording = RecordingKeys(public_keys)
    assert reason(token, recording) == "unsupported_algorithm"
    assert recording.looked_up == []


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "HS512", "", None, 1])
def test_any_other_alg_header_is_refused(
    alg: Any, signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    token = sign(signer, good_claims())
    _, body, sig = token.split(".")
    header = {"kid": signer.kid} if alg is None else {"alg": alg, "kid": signer.kid}
    assert reason(f"{segment(header)}.{body}.{sig}", public_keys) == "unsupported_algorithm"


def test_expired(signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]) -> None:
    token = issue(signer, ttl_s=900)
    assert reason(token, public_keys, now=NOW + 900 + 30) == "expired"
    assert reason(token, public_keys, now=NOW + 10 * 86400) == "expired"


def test_not_yet_valid(signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]) -> None:
    assert reason(issue(signer, now=NOW + 31), public_keys) == "not_yet_valid"
    # nbf alone in the future, iat now
    token = sign(signer, good_claims(nbf=int(NOW) + 120))
    assert reason(token, public_keys) == "not_yet_valid"
    # no nbf: iat in the future counts
    token = sign(signer, good_claims(nbf=None, iat=int(NOW) + 120))
    assert reason(token, public_keys) == "not_yet_valid"


def test_wrong_issuer(signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]) -> None:
    assert reason(issue(signer, issuer="https://evil.test"), public_keys) == "wrong_issuer"


def test_wrong_audience(signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]) -> None:
    assert reason(issue(signer, audience="another-api"), public_keys) == "wrong_audience"
    token = sign(signer, good_claims(aud=["another-api", "third"]))
    assert reason(token, public_keys) == "wrong_audience"


def test_unknown_kid(signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]) -> None:
    stranger = keys.signing_key(keys.new_key_set(NOW))
    assert reason(issue(stranger), public_keys) == "unknown_kid"
    # Our kid on a stranger's signature is a bad signature, not a pass.
    impostor = keys.SigningKey(kid=signer.kid, private_key=stranger.private_key)
    assert reason(issue(impostor), public_keys) == "bad_signature"


def test_a_tampered_payload_fails_the_signature(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    head, body, sig = issue(signer).split(".")
    claims = json.loads(unb64(body))
    claims["roles"] = ["admin"]
    assert reason(f"{head}.{segment(claims)}.{sig}", public_keys) == "bad_signature"
    claims = json.loads(unb64(body))
    claims["sub"] = "usr_2"
    assert reason(f"{head}.{segment(claims)}.{sig}", public_keys) == "bad_signature"


def test_a_tampered_signature_fails(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    head, body, sig = issue(signer).split(".")
    raw = bytearray(unb64(sig))
    raw[0] ^= 1
    assert reason(f"{head}.{body}.{b64(bytes(raw))}", public_keys) == "bad_signature"
    assert reason(f"{head}.{body}.", public_keys) in {"bad_signature", "malformed"}


def test_a_tampered_header_fails_the_signature(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    _, body, sig = issue(signer).split(".")
    head = segment({"alg": "RS256", "kid": signer.kid, "typ": "at+jwt"})
    assert reason(f"{head}.{body}.{sig}", public_keys) == "bad_signature"


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "iss", "aud", "jti", "roles"])
def test_a_missing_claim_is_refused(
    claim: str, signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    claims = good_claims()
    del claims[claim]
    assert reason(sign(signer, claims), public_keys) == "missing_claim"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": "now"},
        {"sub": 42},
        {"sub": ""},
        {"roles": "admin"},
        {"roles": [1]},
    ],
)
def test_claims_of_the_wrong_type_are_malformed(
    overrides: dict[str, Any], signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    assert reason(sign(signer, good_claims(**overrides)), public_keys) == "malformed"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "....", "x" * 10_000, "eyJhbGciOiJFZERTQSJ9.e30"],
)
def test_garbage_is_malformed(token: str, public_keys: dict[str, RSAPublicKey]) -> None:
    assert reason(token, public_keys) == "malformed"


def test_a_header_without_kid_or_with_crit_is_malformed(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    _, body, sig = sign(signer, good_claims()).split(".")
    assert reason(f"{segment({'alg': 'RS256'})}.{body}.{sig}", public_keys) == "malformed"
    crit = sign(signer, good_claims(), crit=["exp"])
    assert reason(crit, public_keys) == "malformed"


def test_parsed_headers_are_kept_for_few_segments_and_only_when_they_parse(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    _, body, sig = issue(signer).split(".")
    for i in range(100):  # a caller inventing headers cannot grow the cache
        head = segment({"alg": "RS256", "kid": f"kid-{i}"})
        assert reason(f"{head}.{body}.{sig}", public_keys) == "unknown_kid"
    assert len(tokens._HEADERS) <= tokens._HEADERS_KEPT
    not_json = b64(b"{not json")
    for _ in range(2):
        assert reason(f"{not_json}.{body}.{sig}", public_keys) == "malformed"
    assert not_json not in tokens._HEADERS
    # A kept header still goes through the signature, which covers the segment it was read from.
    good = issue(signer)
    verify_access_token(good, public_keys, issuer=ISS, audience=AUD, now=NOW)
    head, _, _ = good.split(".")
    assert head in tokens._HEADERS
    claims = json.loads(unb64(body))
    claims["roles"] = ["admin"]
    assert reason(f"{head}.{segment(claims)}.{sig}", public_keys) == "bad_signature"


def test_a_token_error_only_takes_documented_reasons() -> None:
    with pytest.raises(ValueError, match="unknown token error reason"):
        TokenError("something else")


def test_a_non_rsa_verification_key_is_a_programming_error(signer: keys.SigningKey) -> None:
    with pytest.raises(TypeError):
        verify_access_token(
            issue(signer), {signer.kid: b"secret"}, issuer=ISS, audience=AUD, now=NOW
        )


# --- refresh tokens and API keys -----------------------------------------------------------


def test_refresh_tokens_are_long_random_prefixed_and_stored_hashed() -> None:
    token, digest = new_refresh_token()
    assert re.fullmatch(r"esr_[A-Za-z0-9_-]{43,}", token)
    assert len(unb64(token.removeprefix("esr_"))) >= 32  # >= 256 bits
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hash_refresh_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in digest
    assert refresh_token_matches(token, digest)
    assert not refresh_token_matches(token + "x", digest)
    assert len({new_refresh_token()[0] for _ in range(100)}) == 100


def test_api_keys_have_a_visible_prefix_and_a_hidden_secret() -> None:
    key, prefix, digest = new_api_key()
    assert re.fullmatch(r"esk_[0-9a-f]{8}", prefix)
    assert key.startswith(prefix + "_")
    assert len(unb64(key.removeprefix(prefix + "_"))) >= 32
    assert digest == hash_api_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert api_key_prefix(key) == prefix
    assert api_key_matches(key, digest)
    assert not api_key_matches(key[:-1] + ("A" if key[-1] != "A" else "B"), digest)


@pytest.mark.parametrize(
    "candidate", ["", "esk_", "esk_abcd1234", "esk_ABCD1234_" + "a" * 43, "esr_x", "' OR 1=1 --"]
)
def test_malformed_api_keys_have_no_prefix(candidate: str) -> None:
    assert api_key_prefix(candidate) is None


def test_private_key_is_never_needed_to_verify(
    signer: keys.SigningKey, public_keys: dict[str, RSAPublicKey]
) -> None:
    assert all(not isinstance(k, RSAPrivateKey) for k in public_keys.values())
    verify_access_token(issue(signer), public_keys, issuer=ISS, audience=AUD, now=NOW)
