"""The login service's pure parts: the state cookie and the GitHub authorize URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from eventstream.auth import oauth_github
from eventstream.auth.oauth import STATE_COOKIE, _cookie, _cookie_state
from eventstream.auth.oauth_config import GitHubConfig
from eventstream.auth.oauth_request import AuthorizationRequest, pkce_challenge

CALLBACK = "https://api.example.com/dev/auth/oauth/github/callback"


def test_the_state_cookie_is_httponly_lax_and_scoped_to_the_callback() -> None:
    cookie = _cookie(STATE_COOKIE, "abc", redirect_uri=CALLBACK, max_age=600)
    attrs = [a.strip() for a in cookie.split(";")]
    assert attrs[0] == "es_oauth_state=abc"
    assert set(attrs[1:]) == {
        "Path=/dev/auth/oauth/github/callback",
        "Max-Age=600",
        "HttpOnly",
        # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
        "SameSite=Lax",
        "Secure",
    }


def test_a_plain_http_callback_cookie_is_not_secure() -> None:
    cookie = _cookie(STATE_COOKIE, "", redirect_uri="http://127.0.0.1:3000/cb", max_age=0)
    assert "Secure" not in cookie
    assert "Max-Age=0" in cookie


@pytest.mark.parametrize(
    ("header", "state"),
    [
        (None, None),
        ("", None),
        ("es_oauth_state=s1", "s1"),
        ("theme=dark; es_oauth_state=s2; other=1", "s2"),
        ("other=1", None),
        ('es_oauth_state="unterminated', None),
    ],
)
def test_the_state_is_read_back_from_the_cookie_header(
    header: str | None, state: str | None
) -> None:
    assert _cookie_state(header) == state


def test_the_github_authorize_url_carries_state_and_an_s256_challenge() -> None:
    cfg = GitHubConfig(
        client_id="Iv1.abc",
        client_secret="never-in-the-url",
        authorize_url="https://github.test/login/oauth/authorize",
    )
    req = AuthorizationRequest.new()
    url = urlsplit(oauth_github.authorize_url(cfg, CALLBACK, req))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == "github.test"
    assert url.path == "/login/oauth/authorize"
    assert query == {
        "client_id": "Iv1.abc",
        "redirect_uri": CALLBACK,
        "scope": "read:user user:email",
        "state": req.state,
        "code_challenge": pkce_challenge(req.code_verifier),
        "code_challenge_method": "S256",
        "allow_signup": "true",
    }
    assert "never-in-the-url" not in url.geturl()
    assert req.code_verifier not in url.geturl()  # only its challenge travels
