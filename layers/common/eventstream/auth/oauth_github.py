"""GitHub's OAuth web flow: the authorize URL, the code exchange, and who the user is.

GitHub answers a failed code exchange with 200 and an `error` member, so both are checked.
Its REST API wants a User-Agent and names the API version it should answer in.
"""

from __future__ import annotations

from typing import Any

from eventstream.auth.oauth_config import GitHubConfig
from eventstream.auth.oauth_http import ProviderError, request_json
from eventstream.auth.oauth_identity import ProviderIdentity
from eventstream.auth.oauth_request import AuthorizationRequest, with_query

SCOPE = "read:user user:email"
API_VERSION = "2022-11-28"


def authorize_url(cfg: GitHubConfig, redirect_uri: str, req: AuthorizationRequest) -> str:
    return with_query(
        cfg.authorize_url,
        {
            "client_id": cfg.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": req.state,
            "code_challenge": req.code_challenge,
            "code_challenge_method": "S256",
            "allow_signup": "true",
        },
    )


def exchange_code(cfg: GitHubConfig, code: str, code_verifier: str, redirect_uri: str) -> str:
    """The user's access token for `code`."""
    answer = request_json(
        cfg.token_url,
        form={
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
    )
    if not isinstance(answer, dict):
        raise ProviderError("invalid_response", 200)
    if "error" in answer:
        raise ProviderError(str(answer["error"])[:64], 200)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderError("invalid_response", 200)
    return token


def _api(cfg: GitHubConfig, path: str, token: str) -> Any:
    return request_json(
        f"{cfg.api_url.rstrip('/')}{path}",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        },
    )


def _primary_verified_email(cfg: GitHubConfig, token: str) -> str | None:
    emails = _api(cfg, "/user/emails", token)
    if not isinstance(emails, list):
        raise ProviderError("invalid_response", 200)
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary") and entry.get("verified") is True:
            email = entry.get("email")
            return email if isinstance(email, str) else None
    return None


def fetch_identity(
    cfg: GitHubConfig, code: str, code_verifier: str, redirect_uri: str
) -> ProviderIdentity:
    token = exchange_code(cfg, code, code_verifier, redirect_uri)
    user = _api(cfg, "/user", token)
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise ProviderError("invalid_response", 200)
    login = user.get("login")
    email = user.get("email")
    # GitHub only lets a verified address be the public one; without it, ask for the primary.
    verified = isinstance(email, str) and bool(email)
    if not verified:
        email = _primary_verified_email(cfg, token)
        verified = email is not None
    name = user.get("name")
    return ProviderIdentity(
        provider="github",
        subject=str(user["id"]),
        email=email if isinstance(email, str) else None,
        email_verified=verified,
        login=login if isinstance(login, str) else None,
        name=name if isinstance(name, str) else None,
    )
