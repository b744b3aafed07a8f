"""OAuth login through the local cloud, at a real OpenID provider and a GitHub-wire-format server.

Each login runs as a browser would: start → the provider's sign-in → the redirect back to the
callback with the state cookie → a token pair, which the validate route then accepts.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from localcloud.aws_endpoint import seed_secret
from tests.e2e.oauth_providers import GitHubServer, GitHubUser, OidcAccount, OidcProvider
from tests.support import ADMIN_PASSWORD, RunningCloud

REGION = "us-east-1"
OAUTH_SECRET = "eventstream/dev/oauth"
RUN = uuid.uuid4().hex[:6]  # the cloud is shared by the session: identities unique per run


@dataclass
class Providers:
    api_url: str
    github: GitHubServer
    oidc: OidcProvider
    admin: dict[str, str]

    @property
    def octocat(self) -> GitHubUser:
        return self.github.users[f"octo{RUN}"]


@pytest.fixture(scope="module")
def providers(cloud: RunningCloud) -> Iterator[Providers]:
    github = GitHubServer(
        client_id=f"Iv1.{secrets.token_hex(8)}",
        client_secret=secrets.token_hex(20),
        redirect_uri=f"{cloud.api_url}/auth/oauth/github/callback",
    )
    for user in (
        # Keeps the address private: the service must ask /user/emails.
        GitHubUser(
            id=int(RUN, 16) * 10 + 1,
            login=f"octo{RUN}",
            name="The Octocat",
            public_email=None,
            emails=[
                {"email": f"old.{RUN}@example.com", "primary": False, "verified": True},
                {"email": f"octo.{RUN}@example.com", "primary": True, "verified": True},
            ],
        ),
        GitHubUser(
            id=int(RUN, 16) * 10 + 2,
            login=f"Hubot_{RUN}",
            name=None,
            public_email=f"hubot.{RUN}@example.com",
        ),
    ):
        github.users[user.login] = user
    google_redirect = f"{cloud.api_url}/auth/oauth/google/callback"
    oidc = OidcProvider(
        client={
            "client_id": f"{RUN}.apps.googleusercontent.test",
            "client_secret": secrets.token_urlsafe(24),
            "redirect_uris": [google_redirect],
        },
        accounts=[
            OidcAccount(
                "jane", "jane-pw", f"g-jane-{RUN}", f"jane.{RUN}@example.com", True, "Jane"
            ),
            # Claims the same address as jane's local account, unverified: must not get it.
            OidcAccount("mallory", "m-pw", f"g-mal-{RUN}", f"jane.{RUN}@example.com", False, "M"),
        ],
    )
    github.start()
    try:
        oidc.start()
        # The operator's step after registering the apps: put their ids in the secret.
        seed_secret(
            cloud.aws_endpoint_url,
            REGION,
            OAUTH_SECRET,
            {
                "redirect_base_url": cloud.api_url,
                "github": github.config(),
                "google": {
                    "client_id": oidc.client["client_id"],
                    "client_secret": oidc.client["client_secret"],
                    "issuer": oidc.issuer,
                },
            },
        )
        with httpx.Client(base_url=cloud.api_url, timeout=30) as api:
            login = api.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield Providers(cloud.api_url, github, oidc, admin)
    finally:
        oidc.stop()
        github.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """A fresh browser: its own cookie jar."""
    with httpx.Client(timeout=30) as client:
        yield client


def start(p: Providers, browser: httpx.Client, provider: str) -> httpx.Response:
    resp = browser.get(f"{p.api_url}/auth/oauth/{provider}/start")
    assert resp.status_code == 302, resp.text
    return resp


def github_authorize(p: Providers, browser: httpx.Client, login: str) -> str:
    """Start, sign in at GitHub as `login`: the callback URL GitHub redirects back to."""
    location = start(p, browser, "github").headers["location"]
    assert browser.get(location).status_code == 200  # GitHub's sign-in page
    approved = browser.post(location, data={"login": login})
    assert approved.status_code == 302, approved.text
    return approved.headers["location"]


def github_login(p: Providers, browser: httpx.Client, login: str) -> httpx.Response:
    return browser.get(github_authorize(p, browser, login))


def google_login(p: Providers, browser: httpx.Client, login: str, password: str) -> httpx.Response:
    location = start(p, browser, "google").headers["location"]
    page = browser.get(location, follow_redirects=True)  # the provider's sign-in form
    if str(page.url).startswith(p.api_url):
        return page  # still signed in at the provider (its session cookie): straight back
    assert page.status_code == 200, page.text
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None, page.text
    return browser.post(
        urljoin(str(page.url), action.group(1)),
        data={"login": login, "password": password},
        follow_redirects=True,  # → consent (granted) → back to our callback
    )


def validate(p: Providers, token: str) -> dict[str, Any]:
    resp = httpx.post(f"{p.api_url}/auth/token/validate", json={"token": token}, timeout=30)
    assert resp.status_code == 200
    return resp.json()


def audit_reasons(p: Providers) -> list[str]:
    resp = httpx.get(
        f"{p.api_url}/auth/audit",
        params={"action": "oauth_login", "limit": 50},
        headers=p.admin,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return [e["details"].get("reason", "") for e in resp.json()["items"]]


def test_start_redirects_to_github_with_state_and_pkce(
    providers: Providers, browser: httpx.Client
) -> None:
    resp = start(providers, browser, "github")
    url = urlsplit(resp.headers["location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (
        f"{url.scheme}://{url.netloc}{url.path}" == f"{providers.github.url}/login/oauth/authorize"
    )
    assert query["client_id"] == providers.github.client_id
    assert query["redirect_uri"] == providers.github.redirect_uri
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) == 43
    assert "user:email" in query["scope"].split()
    assert resp.headers["cache-control"] == "no-store"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"es_oauth_state={query['state']};")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/auth/oauth/github/callback" in cookie


def test_github_login_creates_a_user_whose_tokens_validate(
    providers: Providers, browser: httpx.Client
) -> None:
    resp = github_login(providers, browser, f"octo{RUN}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["account"] == "created"
    assert body["user"]["username"] == f"octo{RUN}"
    assert body["user"]["email"] == f"octo.{RUN}@example.com"  # the primary verified one
    assert body["user"]["roles"] == ["user"]
    assert resp.headers["cache-control"] == "no-store"
    assert "Max-Age=0" in resp.headers["set-cookie"]  # the state cookie is spent
    checked = validate(providers, body["access_token"])
    assert checked["valid"] is True
    assert checked["sub"] == body["user"]["id"]
    # What reached GitHub: exactly the documented form fields, asking for JSON.
    sent = providers.github.token_requests[-1]
    assert set(sent["form"]) == {
        "client_id",
        "client_secret",
        "code",
        "redirect_uri",
        "code_verifier",
    }
    assert sent["headers"]["accept"] == "application/json"
    assert sent["form"]["redirect_uri"] == providers.github.redirect_uri
    api_paths = [path for path, _ in providers.github.api_requests[-2:]]
    assert api_paths == ["/api/user", "/api/user/emails"]
    _, headers = providers.github.api_requests[-1]
    assert headers["authorization"].startswith("Bearer gho_")
    assert headers["x-github-api-version"] == "2022-11-28"


def test_a_second_github_login_is_the_same_user(
    providers: Providers, browser: httpx.Client
) -> None:
    first = github_login(providers, browser, f"Hubot_{RUN}")
    assert first.status_code == 200, first.text
    assert first.json()["account"] == "created"
    assert first.json()["user"]["username"] == f"hubot_{RUN}"
    # A public address: no need to ask /user/emails.
    assert providers.github.api_requests[-1][0] == "/api/user"
    again = github_login(providers, browser, f"Hubot_{RUN}")
    assert again.status_code == 200, again.text
    assert again.json()["account"] == "existing"
    assert again.json()["user"]["id"] == first.json()["user"]["id"]


def test_google_login_links_the_local_user_with_the_verified_email(
    providers: Providers, browser: httpx.Client
) -> None:
    created = httpx.post(
        f"{providers.api_url}/auth/users",
        headers=providers.admin,
        json={
            "username": f"jane{RUN}",
            "password": "a long and local passphrase",
            "email": f"Jane.{RUN}@Example.com",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    local_id = created.json()["id"]

    resp = google_login(providers, browser, "jane", "jane-pw")
    assert resp.status_code == 200, resp.text
    assert str(resp.url).startswith(f"{providers.api_url}/auth/oauth/google/callback?")
    body = resp.json()
    assert body["account"] == "linked"
    assert body["user"]["id"] == local_id
    assert validate(providers, body["access_token"])["sub"] == local_id

    # Later, from another browser (no provider session): a new sign-in, the same user.
    with httpx.Client(timeout=30) as other:
        again = google_login(providers, other, "jane", "jane-pw")
    assert again.status_code == 200, again.text
    assert again.json()["account"] == "existing"
    assert again.json()["user"]["id"] == local_id
    # And in the same browser the provider's session signs jane in without the form.
    sso = google_login(providers, browser, "nobody", "no-password")
    assert sso.status_code == 200, sso.text
    assert sso.json()["user"]["id"] == local_id


def test_an_unverified_email_gets_a_new_account_not_the_local_one(
    providers: Providers, browser: httpx.Client
) -> None:
    resp = google_login(providers, browser, "mallory", "m-pw")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["account"] == "created"
    assert body["user"]["username"] == f"jane.{RUN}"  # from the email's local part
    assert body["user"]["email"] is None  # an address nobody vouched for is not stored


def test_a_replayed_callback_is_refused(providers: Providers, browser: httpx.Client) -> None:
    callback = github_authorize(providers, browser, f"octo{RUN}")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert browser.get(callback).status_code == 200
    # The same URL again, with the cookie the browser had: the state was used up.
    replay = httpx.get(callback, cookies={"es_oauth_state": state}, timeout=30)
    assert replay.status_code == 400
    assert replay.headers["content-type"] == "application/problem+json"
    assert "already used" in replay.json()["detail"]
    assert "unknown_state" in audit_reasons(providers)


def test_a_tampered_state_is_refused(providers: Providers, browser: httpx.Client) -> None:
    callback = github_authorize(providers, browser, f"octo{RUN}")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    tampered = query["state"][:-1] + ("A" if query["state"][-1] != "A" else "B")
    url = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, 'state': tampered})}"
    # The browser's cookie holds the real state: the mismatch is caught before the database.
    mismatch = browser.get(url)
    assert mismatch.status_code == 400
    assert "not started in this browser" in mismatch.json()["detail"]
    # A forger who also sets the cookie: no stored request has that state.
    forged = httpx.get(url, cookies={"es_oauth_state": tampered}, timeout=30)
    assert forged.status_code == 400
    assert "start again" in forged.json()["detail"]
    # The untouched state still works: refusals did not burn it.
    assert browser.get(callback).status_code == 200


def test_a_state_from_another_provider_is_refused(
    providers: Providers, browser: httpx.Client
) -> None:
    callback = github_authorize(providers, browser, f"octo{RUN}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    wrong = httpx.get(
        f"{providers.api_url}/auth/oauth/google/callback?{urlencode(query)}",
        cookies={"es_oauth_state": query["state"]},
        timeout=30,
    )
    assert wrong.status_code == 400
    assert "wrong_provider" in audit_reasons(providers)
    # Presented once, anywhere, the state is gone.
    assert browser.get(callback).status_code == 400


def test_a_bad_code_is_refused_by_the_provider(providers: Providers, browser: httpx.Client) -> None:
    callback = github_authorize(providers, browser, f"octo{RUN}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    query["code"] = "0" * 20
    resp = browser.get(f"{providers.api_url}/auth/oauth/github/callback?{urlencode(query)}")
    assert resp.status_code == 401
    assert providers.github.token_requests[-1]["form"]["code"] == "0" * 20
    assert "exchange_failed" in audit_reasons(providers)


def test_a_declined_authorization_is_refused(providers: Providers, browser: httpx.Client) -> None:
    state = parse_qs(urlsplit(start(providers, browser, "github").headers["location"]).query)[
        "state"
    ][0]
    resp = browser.get(
        f"{providers.api_url}/auth/oauth/github/callback",
        params={"error": "access_denied", "state": state},
    )
    assert resp.status_code == 401
    assert "access_denied" in resp.json()["detail"]


def test_a_disabled_user_is_refused(providers: Providers, browser: httpx.Client) -> None:
    login = f"Hubot_{RUN}"
    first = github_login(providers, browser, login)
    assert first.status_code == 200, first.text
    user_id = first.json()["user"]["id"]
    patched = httpx.patch(
        f"{providers.api_url}/auth/users/{user_id}",
        headers=providers.admin,
        json={"disabled": True},
        timeout=30,
    )
    assert patched.status_code == 200, patched.text
    try:
        refused = github_login(providers, browser, login)
        assert refused.status_code == 403
        assert "access_token" not in refused.text
    finally:
        httpx.patch(
            f"{providers.api_url}/auth/users/{user_id}",
            headers=providers.admin,
            json={"disabled": False},
            timeout=30,
        )


@pytest.mark.parametrize("route", ["start", "callback"])
def test_an_unknown_provider_is_404(providers: Providers, route: str) -> None:
    resp = httpx.get(f"{providers.api_url}/auth/oauth/facebook/{route}", timeout=30)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
