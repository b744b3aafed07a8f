"""OpenID Connect login (Google): discovery, the code exchange, and the ID token's checks.

Discovery documents and signing keys are cached per worker: a login costs the token request
only. The ID token is the identity: signature by a key from the provider's JWKS, `iss`, `aud`
(our client id), `azp`, `exp`/`iat`, and the nonce this login sent.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import jwt

from eventstream.auth.oauth_config import GOOGLE_ISSUER, GoogleConfig
from eventstream.auth.oauth_http import TIMEOUT_S, USER_AGENT, ProviderError, request_json
from eventstream.auth.oauth_identity import ProviderIdentity
from eventstream.auth.oauth_request import AuthorizationRequest, with_query

SCOPE = "openid email profile"
DISCOVERY_TTL_S = 3600.0
JWKS_LIFESPAN_S = 3600
LEEWAY_S = 60  # clock skew between us and the provider
# Asymmetric only: the algorithm list is ours, so `none` and HS256-with-a-public-key never pass.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
# Google's documented quirk: its ID tokens may carry the issuer without the scheme.
ISSUER_ALIASES = {GOOGLE_ISSUER: ("accounts.google.com",)}


class IdTokenError(ProviderError):
    """An ID token we must not accept; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid_id_token:{reason}")
        self.reason = reason


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


_lock = threading.Lock()
_discovered: dict[str, tuple[float, Discovery]] = {}
_jwk_clients: dict[str, jwt.PyJWKClient] = {}


def _endpoint(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ProviderError("invalid_discovery", 200)
    return value


def discover(issuer: str, *, now: float | None = None) -> Discovery:
    """The issuer's metadata from /.well-known/openid-configuration, cached DISCOVERY_TTL_S."""
    now = time.monotonic() if now is None else now
    cached = _discovered.get(issuer)
    if cached is not None and now - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    doc = request_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    # OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if not isinstance(doc, dict) or doc.get("issuer") != issuer:
        raise ProviderError("invalid_discovery", 200)
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in offered if a in ALLOWED_ALGORITHMS)
    if not algorithms:
        raise ProviderError("invalid_discovery", 200)
    found = Discovery(
        issuer=issuer,
        authorization_endpoint=_endpoint(doc, "authorization_endpoint"),
        token_endpoint=_endpoint(doc, "token_endpoint"),
        jwks_uri=_endpoint(doc, "jwks_uri"),
        algorithms=algorithms,
    )
    with _lock:
        _discovered[issuer] = (now, found)
    return found


def _jwk_client(jwks_uri: str) -> jwt.PyJWKClient:
    with _lock:
        client = _jwk_clients.get(jwks_uri)
        if client is None:
            # Refetches the set by itself when a token names a kid it has not seen (rotation).
            client = jwt.PyJWKClient(
                jwks_uri,
                cache_keys=True,
                lifespan=JWKS_LIFESPAN_S,
                timeout=TIMEOUT_S,
                headers={"User-Agent": USER_AGENT},
            )
            _jwk_clients[jwks_uri] = client
        return client


def forget_cached_metadata() -> None:
    """Drop discovery documents and key sets (tests that restart a provider)."""
    with _lock:
        _discovered.clear()
        _jwk_clients.clear()


def authorize_url(cfg: GoogleConfig, redirect_uri: str, req: AuthorizationRequest) -> str:
    meta = discover(cfg.issuer)
    return with_query(
        meta.authorization_endpoint,
        {
            "response_type": "code",
            "client_id": cfg.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": req.state,
            "nonce": req.nonce,
            "code_challenge": req.code_challenge,
            "code_challenge_method": "S256",
        },
    )


_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm"),
)


def verify_id_token(
    id_token: str,
    key: Any,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Collection[str],
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims when every check passes; IdTokenError naming the first that fails."""
    try:
        claims = _decode(id_token, key, issuer, client_id, algorithms, now)
    except jwt.PyJWTError as e:
        for kind, reason in _REASONS:
            if isinstance(e, kind):
                raise IdTokenError(reason) from None
        raise IdTokenError("malformed") from None
    # With several audiences, azp must be us (OIDC Core §3.1.3.7); Google always sets it.
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise IdTokenError("wrong_audience")
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise IdTokenError("wrong_nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        raise IdTokenError("missing_claim")
    return claims


def _decode(
    id_token: str,
    key: Any,
    issuer: str,
    client_id: str,
    algorithms: Collection[str],
    now: float | None,
) -> dict[str, Any]:
    """jwt.decode, with the times checked here against `now` (PyJWT only reads the clock)."""
    now = time.time() if now is None else now
    claims: dict[str, Any] = jwt.decode(
        id_token,
        key,
        algorithms=[a for a in algorithms if a in ALLOWED_ALGORITHMS],
        audience=client_id,
        issuer=[issuer, *ISSUER_ALIASES.get(issuer, ())],
        options={
            "require": ["iss", "aud", "sub", "exp", "iat"],
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        },
    )
    try:
        exp, iat, nbf = (float(claims.get(k, 0)) for k in ("exp", "iat", "nbf"))
    except (TypeError, ValueError):
        raise jwt.DecodeError("time claims must be numbers") from None
    if exp <= now - LEEWAY_S:
        raise jwt.ExpiredSignatureError("expired")
    if iat > now + LEEWAY_S or nbf > now + LEEWAY_S:
        raise jwt.ImmatureSignatureError("not yet valid")
    return claims


def fetch_identity(
    cfg: GoogleConfig, code: str, code_verifier: str, redirect_uri: str, nonce: str
) -> ProviderIdentity:
    meta = discover(cfg.issuer)
    answer = request_json(
        meta.token_endpoint,
        form={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "code_verifier": code_verifier,
        },
    )
    id_token = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise ProviderError("invalid_response", 200)
    try:
        key = _jwk_client(meta.jwks_uri).get_signing_key_from_jwt(id_token).key
    except jwt.PyJWKClientConnectionError:
        raise ProviderError("jwks_unreachable", unavailable=True) from None
    except jwt.PyJWKClientError:
        raise IdTokenError("unknown_kid") from None  # even after refetching the key set
    except jwt.PyJWTError:
        raise IdTokenError("malformed") from None
    claims = verify_id_token(
        id_token,
        key,
        issuer=meta.issuer,
        client_id=cfg.client_id,
        nonce=nonce,
        algorithms=meta.algorithms,
    )
    email = claims.get("email")
    # Older Google tokens sent the flag as the string "true".
    verified = claims.get("email_verified") in (True, "true")
    name = claims.get("name")
    return ProviderIdentity(
        provider="google",
        subject=claims["sub"],
        email=email if isinstance(email, str) else None,
        email_verified=verified and isinstance(email, str),
        login=None,
        name=name if isinstance(name, str) else None,
    )
