"""The OAuth secret's JSON: defaults for the real providers, refusals that name no value."""

from __future__ import annotations

from typing import Any

import pytest

from eventstream.api.problems import Problem
from eventstream.auth.oauth_config import (
    GITHUB_TOKEN_URL,
    GOOGLE_ISSUER,
    GitHubConfig,
    GoogleConfig,
    OAuthConfigError,
    parse_config,
)


def doc(**extra: Any) -> dict[str, Any]:
    return {
        "redirect_base_url": "https://api.example.com/dev/",
        "github": {"client_id": "gh-id", "client_secret": "gh-secret"},
        "google": {"client_id": "g-id", "client_secret": "g-secret"},
        **extra,
    }


def test_defaults_point_at_the_real_providers() -> None:
    cfg = parse_config(doc())
    github = cfg.provider("github")
    google = cfg.provider("google")
    assert isinstance(github, GitHubConfig)
    assert isinstance(google, GoogleConfig)
    assert github.token_url == GITHUB_TOKEN_URL
    assert google.issuer == GOOGLE_ISSUER
    assert cfg.redirect_uri("github") == "https://api.example.com/dev/auth/oauth/github/callback"
    assert "gh-secret" not in repr(github)
    assert "g-secret" not in repr(google)


def test_a_provider_left_out_is_a_404_and_an_unknown_one_too() -> None:
    cfg = parse_config({"redirect_base_url": "http://127.0.0.1:3000", "github": doc()["github"]})
    with pytest.raises(Problem) as caught:
        cfg.provider("google")
    assert caught.value.status == 404
    assert caught.value.detail == "provider 'google' not configured"
    with pytest.raises(Problem) as unknown:
        cfg.provider("facebook")
    assert unknown.value.status == 404


def test_an_empty_secret_configures_nothing() -> None:
    cfg = parse_config({})
    for name in ("github", "google"):
        with pytest.raises(Problem, match="not configured"):
            cfg.provider(name)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"github": {"client_id": "x"}}, r"github\.client_secret is required"),
        ({"google": {"client_id": "", "client_secret": "s"}}, r"google\.client_id is required"),
        ({"github": {**doc()["github"], "token_url": "ftp://x"}}, r"github\.token_url"),
        ({"google": {**doc()["google"], "issuer": "https://i?x=1"}}, r"google\.issuer"),
        ({"redirect_base_url": None}, r"redirect_base_url is required"),
        ({"github": "yes"}, r"github must be an object"),
    ],
)
def test_malformed_secrets_are_refused_by_field(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(OAuthConfigError, match=message) as caught:
        parse_config(doc(**bad))
    assert "gh-secret" not in str(caught.value)
    assert "g-secret" not in str(caught.value)


def test_not_an_object() -> None:
    with pytest.raises(OAuthConfigError):
        parse_config(["github"])
