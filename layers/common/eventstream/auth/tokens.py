"""Access tokens (RS256 JWTs), opaque refresh tokens and API keys.

Access tokens are verified locally against public keys (no call to the auth service). The
algorithm is fixed here, never taken from the token: a header naming anything but RS256 is
refused before a key is looked up, so `alg: none` and HS/RS confusion cannot reach a key.

verify_access_token raises TokenError whose `reason` is one of REASONS:
    malformed             not a compact JWS, bad JSON, a header or claim of the wrong type
    unsupported_algorithm header alg is not RS256
    unknown_kid           no verification key has the token's kid (refresh the key set once)
    bad_signature         the signature does not match header and payload
    expired               exp + leeway is past
    not_yet_valid         nbf or iat is later than now + leeway
    wrong_issuer          iss is not ours
    wrong_audience        aud does not name us
    missing_claim         one of iss, aud, sub, exp, iat, jti, roles is absent

Refresh tokens and API keys are random secrets shown once; only their SHA-256 is stored. They
carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from eventstream.auth.keys import ACCESS_TOKEN_TTL_S, ALG, LEEWAY_S, SigningKey, b64url

REASONS = frozenset(
    {
        "malformed",
        "unsupported_algorithm",
        "unknown_kid",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "missing_claim",
    }
)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti", "roles")
MAX_TOKEN_CHARS = 8192  # far above ours; bounds the work an attacker can make us do
_PADDING, _HASH = PKCS1v15(), SHA256()  # stateless descriptors: made once, not per token

REFRESH_TOKEN_PREFIX = "esr_"  # noqa: S105 -- a public marker, not a secret
API_KEY_PREFIX = "esk_"
_RANDOM_BYTES = 32  # 256 bits
_API_KEY_RE = re.compile(r"esk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")


class TokenError(Exception):
    """A token that must not be accepted; `reason` is one of REASONS and safe to return."""

    def __init__(self, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown token error reason {reason!r}")
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    token: str = field(repr=False)  # a bearer credential: never in logs
    jti: str
    expires_at: int


@dataclass(frozen=True)
class Claims:
    sub: str
    roles: tuple[str, ...]
    exp: int
    iat: int
    jti: str


def issue_access_token(
    *,
    sub: str,
    roles: list[str],
    key: SigningKey,
    issuer: str,
    audience: str,
    now: float | None = None,
    ttl_s: int = ACCESS_TOKEN_TTL_S,
) -> IssuedToken:
    iat = int(time.time() if now is None else now)
    exp = iat + int(ttl_s)
    jti = secrets.token_urlsafe(16)
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "roles": list(roles),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": jti,
    }
    # Signed here, as it is verified here: PyJWT's import alone was ~35 ms of every token
    # function's cold start, for one RSA signature.
    header = {"alg": ALG, "kid": key.kid, "typ": "JWT"}
    signing_input = f"{b64url(_compact_json(header))}.{b64url(_compact_json(payload))}"
    signature = key.private_key.sign(signing_input.encode("ascii"), _PADDING, _HASH)
    return IssuedToken(token=f"{signing_input}.{b64url(signature)}", jti=jti, expires_at=exp)


def _compact_json(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _number(payload: Mapping[str, object], name: str) -> float:
    value = payload[name]
    # bool is an int subclass; `"exp": true` must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError("malformed")
    return float(value)


# Strict base64url, no padding (RFC 7515): one regex instead of a per-character scan.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_-]+")


def _segment(text: str) -> bytes:
    if len(text) % 4 == 1 or not _SEGMENT_RE.fullmatch(text):
        raise TokenError("malformed")
    try:
        # The regex has checked the alphabet, so a2b_base64 directly (str.replace is ~1 µs
        # faster here than urlsafe_b64decode's translate, ~5 µs faster than str.translate).
        standard = text.replace("-", "+").replace("_", "/")
        return binascii.a2b_base64(standard + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None


_decode_json = json.JSONDecoder().decode  # json.loads on bytes also sniffs the encoding


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = _decode_json(data.decode())
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed") from None
    if not isinstance(value, dict):
        raise TokenError("malformed")
    return value


# Every token a key signs has the same header segment, so its parse is kept: only a segment
# that parsed, and a few of them, so no token can make the cache grow.
_HEADERS: dict[str, dict[str, Any]] = {}
_HEADERS_KEPT = 16


def _header(segment: str) -> dict[str, Any]:
    header = _HEADERS.get(segment)
    if header is None:
        header = _json_object(_segment(segment))
        if len(_HEADERS) >= _HEADERS_KEPT:
            _HEADERS.clear()
        _HEADERS[segment] = header
    return header


def verify_access_token(
    token: str,
    keys: Mapping[str, RSAPublicKey],
    *,
    issuer: str,
    audience: str,
    now: float | None = None,
    leeway_s: float = LEEWAY_S,
) -> Claims:
    """The token's claims if it is ours and valid at `now`; TokenError otherwise.

    A compact-JWS check of our own rather than PyJWT's decode: with one algorithm it is a few
    lines, and PyJWT's per-character segment scan costs ~150 us per token, more than the
    signature itself (bench/authorizer_decision.py).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    header = _header(parts[0])
    # Decided on the header alone, before any key is chosen or used.
    if header.get("alg") != ALG:
        raise TokenError("unsupported_algorithm")
    if "crit" in header:  # no extensions are understood, so none may be required (RFC 7515)
        raise TokenError("malformed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("malformed")
    key = keys.get(kid)
    if key is None:
        raise TokenError("unknown_kid")
    if not isinstance(key, RSAPublicKey):
        raise TypeError(f"verification key {kid} is {type(key).__name__}, not RSAPublicKey")
    signature = _segment(parts[2])
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), _PADDING, _HASH)
    except InvalidSignature:
        raise TokenError("bad_signature") from None
    payload = _json_object(_segment(parts[1]))

    if any(name not in payload for name in REQUIRED_CLAIMS):
        raise TokenError("missing_claim")
    if payload["iss"] != issuer:
        raise TokenError("wrong_issuer")
    aud = payload["aud"]
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise TokenError("wrong_audience")
    now = time.time() if now is None else now
    exp, iat = _number(payload, "exp"), _number(payload, "iat")
    nbf = _number(payload, "nbf") if "nbf" in payload else iat
    if now >= exp + leeway_s:
        raise TokenError("expired")
    if max(nbf, iat) > now + leeway_s:
        raise TokenError("not_yet_valid")

    sub, roles, jti = payload["sub"], payload["roles"], payload["jti"]
    if not isinstance(sub, str) or not sub or not isinstance(jti, str):
        raise TokenError("malformed")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise TokenError("malformed")
    return Claims(sub=sub, roles=tuple(roles), exp=int(exp), iat=int(iat), jti=jti)


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, its hash for the database)."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    """64 lower-case hex characters, whatever the input: look the row up by it."""
    return _sha256_hex(token)


def refresh_token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_refresh_token(token), stored_hash)


def new_api_key() -> tuple[str, str, str]:
    """(key shown once, visible prefix stored in clear to find and list it, hash stored)."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(_RANDOM_BYTES)}"
    return key, prefix, hash_api_key(key)


def api_key_prefix(key: str) -> str | None:
    """The visible prefix of a well-formed key, else None: garbage never reaches the database."""
    match = _API_KEY_RE.fullmatch(key) if isinstance(key, str) else None
    return API_KEY_PREFIX + match.group(1) if match else None


def hash_api_key(key: str) -> str:
    return _sha256_hex(key)


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
