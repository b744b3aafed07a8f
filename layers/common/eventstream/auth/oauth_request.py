"""One authorization request: its state, nonce and PKCE pair (RFC 7636, S256), and its URL.

The state and verifier are 256-bit random strings; only the state's SHA-256 is stored, so a
read of the table cannot be replayed at the callback.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from eventstream.auth.keys import b64url

STATE_TTL_S = 600  # the user has ten minutes at the provider
_RANDOM_BYTES = 32
# RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~]; ours are 43 base64url characters.
VERIFIER_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
MAX_STATE_CHARS = 128


def random_token() -> str:
    return b64url(secrets.token_bytes(_RANDOM_BYTES))


def pkce_challenge(verifier: str) -> str:
    """The S256 code_challenge of a verifier: BASE64URL(SHA256(ASCII(verifier)))."""
    if not 43 <= len(verifier) <= 128 or not set(verifier) <= VERIFIER_ALPHABET:
        raise ValueError("a PKCE verifier is 43-128 unreserved characters")
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def plausible_state(value: str | None) -> bool:
    """Cheap shape check before the database: our states are 43 base64url characters."""
    return bool(value) and len(value) <= MAX_STATE_CHARS and value.isascii()  # type: ignore[arg-type]


@dataclass(frozen=True)
class AuthorizationRequest:
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    nonce: str = field(repr=False)

    @classmethod
    def new(cls) -> AuthorizationRequest:
        return cls(state=random_token(), code_verifier=random_token(), nonce=random_token())

    @property
    def state_hash(self) -> str:
        return hash_state(self.state)

    @property
    def code_challenge(self) -> str:
        return pkce_challenge(self.code_verifier)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to whatever query it already has (Google's endpoint has none,
    but a configured one might)."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
