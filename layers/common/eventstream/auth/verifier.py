"""Access-token checks with the public keys cached in the worker: no call to the auth service.

Keys are loaded once per worker and fetched again when a token names an unknown kid (a rotation
happened), at most once per UNKNOWN_KID_REFETCH_S so a stream of forged kids cannot turn every
request into a Secrets Manager call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from eventstream.auth import keys
from eventstream.auth.tokens import (
    Claims,
    IssuedToken,
    TokenError,
    issue_access_token,
    verify_access_token,
)
from eventstream.config import get_settings

UNKNOWN_KID_REFETCH_S = 10.0

KeySetLoader = Callable[..., Mapping[str, Any]]


class TokenVerifier:
    def __init__(self, load: KeySetLoader = keys.load_key_set) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] | None = None
        self._last_fetch = 0.0

    def _refresh(self, *, force: bool) -> dict[str, RSAPublicKey]:
        key_set = self._load(force_fetch=force)
        self._keys = keys.verification_keys(key_set, time.time())
        self._last_fetch = time.monotonic()
        return self._keys

    def verify(self, token: str, *, now: float | None = None) -> Claims:
        settings = get_settings()
        current = self._keys
        if current is None:
            with self._lock:
                current = self._keys or self._refresh(force=False)
        try:
            return verify_access_token(
                token,
                current,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                now=now,
            )
        except TokenError as e:
            if e.reason != "unknown_kid":
                raise
            with self._lock:
                if time.monotonic() - self._last_fetch < UNKNOWN_KID_REFETCH_S:
                    raise
                current = self._refresh(force=True)
            return verify_access_token(
                token,
                current,
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                now=now,
            )


_verifier: TokenVerifier | None = None


def verifier() -> TokenVerifier:
    """The worker's verifier: built on first use, kept across warm invocations."""
    global _verifier
    if _verifier is None:
        _verifier = TokenVerifier()
    return _verifier


def issue_access(sub: str, roles: tuple[str, ...] | list[str]) -> IssuedToken:
    """An access token signed with the current key (the key set is cached by Powertools)."""
    settings = get_settings()
    key = keys.signing_key(keys.load_key_set())
    return issue_access_token(
        sub=sub,
        roles=list(roles),
        key=key,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
