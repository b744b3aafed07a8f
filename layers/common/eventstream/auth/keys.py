"""RSA signing keys for access tokens (RS256): one Secrets Manager secret holds the whole key set.

Why RS256 and not EdDSA: every request verifies a token and only a login signs one, and an RSA
signature check (public exponent 65537) costs ~25 us here against ~110 us for Ed25519
(bench/authorizer_decision.py) — the authorizer's budget is 100 us at p99.

The secret's JSON:
    {"keys": [{"kid", "alg": "RS256", "private_key_pem", "created_at", "retired_at"}]}
with times in epoch seconds and `retired_at` null while a key may sign. The newest non-retired
key signs. A retired key keeps verifying for RETIRED_KEY_GRACE_S, long enough for every token it
signed to expire, and is then pruned at the next rotation (and ignored by verifiers before that).

Everything here except load/store is pure: the caller passes `now`, so tests need no clock.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import (
    RSAPrivateKey,
    RSAPublicKey,
    generate_private_key,
)

from eventstream.secrets import SecretError, json_secret

ALG = "RS256"
KEY_BITS = 2048  # NIST SP 800-57: 112-bit security, fine through 2030; raise with a rotation
MIN_KEY_BITS = 2048
SECRET_ARN_ENV = "SIGNING_KEYS_SECRET_ARN"  # noqa: S105 -- a variable name, not a secret
ACCESS_TOKEN_TTL_S = 900  # 15 minutes, the access-token lifetime
LEEWAY_S = 30  # clock skew tolerated by verifiers
KEY_CACHE_MAX_AGE_S = 300  # how long a worker may keep signing with a key set it cached
# A worker that cached the set just before a rotation can sign with the old key for up to
# KEY_CACHE_MAX_AGE_S more; its tokens must still verify until they expire.
RETIRED_KEY_GRACE_S = ACCESS_TOKEN_TTL_S + LEEWAY_S + KEY_CACHE_MAX_AGE_S


class KeySetError(Exception):
    """The key set is missing, unreadable or has no key that may sign; the message says which."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: RSAPrivateKey = field(repr=False)  # never in logs or tracebacks


def b64url(data: bytes) -> str:
    """base64url without padding, as JOSE writes it (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    """An unsigned big-endian integer, base64url without padding (RFC 7518 section 6.3.1)."""
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk_members(public_key: RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}


def thumbprint(public_key: RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): a kid anyone can recompute from the JWKS."""
    canonical = json.dumps(public_jwk_members(public_key), separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@functools.lru_cache(maxsize=32)
def _private_key(pem: str) -> RSAPrivateKey:
    # Cached: PEM parsing would otherwise run on every sign or verify with a cached key set.
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise KeySetError(f"signing key is {type(key).__name__}, not RSA")
    if key.key_size < MIN_KEY_BITS:
        raise KeySetError(f"signing key has {key.key_size} bits; at least {MIN_KEY_BITS}")
    return key


def generate_key(now: float) -> dict[str, Any]:
    """A new key entry, as stored in the secret."""
    private = generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        # Secrets Manager encrypts the secret with KMS; a passphrase would need its own secret.
        serialization.NoEncryption(),
    ).decode("ascii")
    return {
        "kid": thumbprint(private.public_key()),
        "alg": ALG,
        "private_key_pem": pem,
        "created_at": int(now),
        "retired_at": None,
    }


def new_key_set(now: float) -> dict[str, Any]:
    return {"keys": [generate_key(now)]}


def seed_value(now: float | None = None) -> dict[str, Any]:
    """The initial secret value a local cloud or a deploy step stores."""
    return new_key_set(time.time() if now is None else now)


def _entries(key_set: Mapping[str, Any]) -> list[dict[str, Any]]:
    keys = key_set.get("keys") if isinstance(key_set, Mapping) else None
    if not isinstance(keys, list):
        raise KeySetError('key set must be a JSON object with a "keys" list')
    for entry in keys:
        if not isinstance(entry, dict):
            raise KeySetError("key set entries must be JSON objects")
        missing = [k for k in ("kid", "private_key_pem", "created_at") if not entry.get(k)]
        if missing:
            raise KeySetError(f"key entry lacks {', '.join(missing)}")
        if entry.get("alg", ALG) != ALG:
            # Fixed server-side: a key of another algorithm must not slip into the set.
            raise KeySetError(f"key {entry['kid']} has alg {entry.get('alg')!r}, not {ALG}")
    return keys


def _expired(entry: Mapping[str, Any], now: float, grace_s: float) -> bool:
    retired = entry.get("retired_at")
    return retired is not None and now > retired + grace_s


def rotate(
    key_set: Mapping[str, Any], now: float, *, grace_s: float = RETIRED_KEY_GRACE_S
) -> dict[str, Any]:
    """A new key set: a fresh signer, the previous signer(s) retired at `now`, expired keys gone."""
    kept = []
    for entry in copy.deepcopy(_entries(key_set)):
        if entry.get("retired_at") is None:
            entry["retired_at"] = int(now)
        if not _expired(entry, now, grace_s):
            kept.append(entry)
    return {"keys": [generate_key(now), *kept]}


def signing_key(key_set: Mapping[str, Any]) -> SigningKey:
    """The newest key that is not retired."""
    active = [e for e in _entries(key_set) if e.get("retired_at") is None]
    if not active:
        raise KeySetError("key set has no active signing key; rotate to add one")
    newest = max(active, key=lambda e: e["created_at"])
    return SigningKey(kid=str(newest["kid"]), private_key=_private_key(newest["private_key_pem"]))


def verification_keys(
    key_set: Mapping[str, Any], now: float, *, grace_s: float = RETIRED_KEY_GRACE_S
) -> dict[str, RSAPublicKey]:
    """kid → public key for every key whose tokens may still be valid at `now`."""
    return {
        str(e["kid"]): _private_key(e["private_key_pem"]).public_key()
        for e in _entries(key_set)
        if not _expired(e, now, grace_s)
    }


def jwks(
    key_set: Mapping[str, Any], now: float, *, grace_s: float = RETIRED_KEY_GRACE_S
) -> dict[str, Any]:
    """The RFC 7517 JWK Set of the verification keys: public parts only."""
    return {
        "keys": [
            {
                **public_jwk_members(public),
                "kid": kid,
                "alg": ALG,
                "use": "sig",
            }
            for kid, public in verification_keys(key_set, now, grace_s=grace_s).items()
        ]
    }


def load_key_set(max_age_s: int = KEY_CACHE_MAX_AGE_S, force_fetch: bool = False) -> dict:
    """The key set from the secret named by SIGNING_KEYS_SECRET_ARN, cached for max_age_s.

    force_fetch bypasses the cache: verifiers do it once when a token names an unknown kid.
    """
    arn = os.environ.get(SECRET_ARN_ENV)
    if not arn:
        raise KeySetError(f"{SECRET_ARN_ENV} is not set")
    try:
        value = json_secret(arn, max_age_s=max_age_s, force_fetch=force_fetch)
    except SecretError as e:
        raise KeySetError(str(e)) from e
    _entries(value)
    return value


def store_key_set(client: Any, secret_id: str, key_set: Mapping[str, Any]) -> str:
    """Write the key set as the secret's new version, creating the secret if absent; its ARN.

    `client` is a boto3 Secrets Manager client, built by the caller for whichever endpoint.
    """
    _entries(key_set)
    text = json.dumps(key_set, separators=(",", ":"))
    try:
        return client.put_secret_value(SecretId=secret_id, SecretString=text)["ARN"]
    except client.exceptions.ResourceNotFoundException:
        return client.create_secret(Name=secret_id, SecretString=text)["ARN"]


def rotate_stored_keys(
    client: Any, secret_id: str, now: float | None = None, *, grace_s: float = RETIRED_KEY_GRACE_S
) -> dict[str, Any]:
    """The operator's rotation: read the current set (uncached), rotate it, store it; the new set.

    Verifiers pick the new key up on their first token with its kid; signers within their
    cache age (covered by RETIRED_KEY_GRACE_S).
    """
    raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        current = json.loads(raw)
    except ValueError:
        raise KeySetError(f"secret {secret_id} is not JSON") from None
    rotated = rotate(current, time.time() if now is None else now, grace_s=grace_s)
    store_key_set(client, secret_id, rotated)
    return rotated
