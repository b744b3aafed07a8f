"""Who a provider says the user is, and the local username a first login derives from it."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from eventstream.auth.models import EMAIL_RE, USERNAME_RE

_NOT_ALLOWED = re.compile(r"[^a-z0-9_.-]+")
_RUNS = re.compile(r"[-_.]{2,}")
BASE_MAX = 56  # USERNAME_RE allows 64; room for a "-<suffix>"
NUMBERED_TRIES = 8


@dataclass(frozen=True)
class ProviderIdentity:
    provider: str
    subject: str  # the provider's stable id: GitHub's numeric id, the OIDC `sub`
    email: str | None
    email_verified: bool
    login: str | None = None  # a handle to derive a username from (GitHub login)
    name: str | None = None

    @property
    def verified_email(self) -> str | None:
        """The email when the provider vouches for it and it looks like one; else None."""
        if self.email_verified and self.email and EMAIL_RE.fullmatch(self.email):
            return self.email
        return None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALLOWED.sub("-", ascii_text.lower())
    slug = _RUNS.sub("-", slug)
    return slug.strip("-_.")[:BASE_MAX].rstrip("-_.")


def username_base(identity: ProviderIdentity) -> str:
    """A valid username from the login, the email's local part or the name, in that order."""
    hints = [identity.login, (identity.email or "").partition("@")[0], identity.name]
    for hint in hints:
        slug = _slug(hint or "")
        if USERNAME_RE.fullmatch(slug):
            return slug
        if slug and USERNAME_RE.fullmatch(f"{slug}-{identity.provider}"):
            return f"{slug}-{identity.provider}"  # too short alone ("al" -> "al-github")
    return f"{identity.provider}-user"


def username_candidates(identity: ProviderIdentity) -> Iterator[str]:
    """The base, then base-2 … base-9, then random suffixes: the caller takes the first free."""
    base = username_base(identity)
    yield base
    for n in range(2, NUMBERED_TRIES + 2):
        yield f"{base}-{n}"
    while True:
        yield f"{base}-{secrets.token_hex(3)}"
