"""OAuth provider settings from the Secrets Manager secret named by OAUTH_SECRET_ARN.

The secret's JSON (a provider left out is not offered; its routes answer 404):
    {"redirect_base_url": "https://api.example.com/v1",
     "github": {"client_id", "client_secret", "authorize_url"?, "token_url"?, "api_url"?},
     "google": {"client_id", "client_secret", "issuer"?}}
The optional URLs default to the real providers; tests point them at local servers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from eventstream.api.problems import Problem

SECRET_ARN_ENV = "OAUTH_SECRET_ARN"  # noqa: S105 -- a variable name, not a secret
SECRET_MAX_AGE_S = 300
PROVIDERS = ("github", "google")

GITHUB_AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"  # noqa: S105 -- a URL
GITHUB_API_URL = "https://api.github.com"
GOOGLE_ISSUER = "https://accounts.google.com"


class OAuthConfigError(Exception):
    """The secret is missing or malformed; the message names the field, never a value."""


@dataclass(frozen=True)
class GitHubConfig:
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str = GITHUB_AUTHORIZE_URL
    token_url: str = GITHUB_TOKEN_URL
    api_url: str = GITHUB_API_URL


@dataclass(frozen=True)
class GoogleConfig:
    client_id: str
    client_secret: str = field(repr=False)
    issuer: str = GOOGLE_ISSUER


ProviderConfig = GitHubConfig | GoogleConfig


@dataclass(frozen=True)
class OAuthConfig:
    redirect_base_url: str
    providers: Mapping[str, ProviderConfig]

    def provider(self, name: str) -> ProviderConfig:
        """The named provider's settings, or the 404 the routes answer."""
        if name not in PROVIDERS:
            raise Problem(404, f"unknown OAuth provider {name[:32]!r}")
        found = self.providers.get(name)
        if found is None:
            raise Problem(404, f"provider {name!r} not configured")
        return found

    def redirect_uri(self, provider: str) -> str:
        return f"{self.redirect_base_url.rstrip('/')}/auth/oauth/{provider}/callback"


def _url(doc: Mapping[str, Any], key: str, default: str | None, where: str) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or not value:
        raise OAuthConfigError(f"{where}.{key} is required")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise OAuthConfigError(f"{where}.{key} must be an http(s) URL without query or fragment")
    return value


def _provider(doc: Mapping[str, Any], name: str, urls: Mapping[str, str]) -> dict[str, str]:
    """One provider's section: its credentials and its URLs (`urls` maps each to its default)."""
    section = doc[name]
    if not isinstance(section, Mapping):
        raise OAuthConfigError(f"{name} must be an object")
    fields = {}
    for key in ("client_id", "client_secret"):
        value = section.get(key)
        if not isinstance(value, str) or not value.strip():
            raise OAuthConfigError(f"{name}.{key} is required")
        fields[key] = value.strip()
    for key, default in urls.items():
        fields[key] = _url(section, key, default, name)
    return fields


def parse_config(doc: Any) -> OAuthConfig:
    if not isinstance(doc, Mapping):
        raise OAuthConfigError("the OAuth secret must be a JSON object")
    providers: dict[str, ProviderConfig] = {}
    if doc.get("github") is not None:
        providers["github"] = GitHubConfig(
            **_provider(
                doc,
                "github",
                {
                    "authorize_url": GITHUB_AUTHORIZE_URL,
                    "token_url": GITHUB_TOKEN_URL,
                    "api_url": GITHUB_API_URL,
                },
            )
        )
    if doc.get("google") is not None:
        providers["google"] = GoogleConfig(**_provider(doc, "google", {"issuer": GOOGLE_ISSUER}))
    if not providers:
        return OAuthConfig(redirect_base_url="", providers={})
    return OAuthConfig(
        redirect_base_url=_url(doc, "redirect_base_url", None, "secret"), providers=providers
    )


def load_config(*, force_fetch: bool = False) -> OAuthConfig:
    """The providers as the secret says now (cached by Powertools for SECRET_MAX_AGE_S)."""
    arn = os.environ.get(SECRET_ARN_ENV)
    if not arn:
        raise OAuthConfigError(f"{SECRET_ARN_ENV} is not set")
    from eventstream.secrets import SecretError, json_secret

    try:
        doc = json_secret(arn, max_age_s=SECRET_MAX_AGE_S, force_fetch=force_fetch)
    except SecretError as e:
        raise OAuthConfigError(str(e)) from e
    return parse_config(doc)
