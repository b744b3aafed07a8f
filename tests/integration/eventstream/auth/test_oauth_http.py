"""Outbound calls to providers against a local HTTP server: JSON, forms, errors, no redirects."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from eventstream.auth import oauth_oidc
from eventstream.auth.oauth_http import ProviderError, request_json
from tests.support import free_port

# path -> (status, headers, body); the handler records what it was sent.
ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {}
SEEN: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        SEEN.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self.rfile.read(length),
            }
        )
        status, headers, body = ROUTES.get(self.path, (404, {}, b'{"error":"not_found"}'))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    ROUTES.clear()
    SEEN.clear()
    oauth_oidc.forget_cached_metadata()
    yield
    oauth_oidc.forget_cached_metadata()


def route(path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ROUTES[path] = (status, {"Content-Type": "application/json", **(headers or {})}, raw)


def error_of(url: str, **kwargs: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        request_json(url, **kwargs)
    return caught.value


def test_a_form_post_is_url_encoded_and_asks_for_json(server: str) -> None:
    route("/token", 200, {"access_token": "t"})
    assert request_json(f"{server}/token", form={"code": "a b&c", "x": "1"}) == {
        "access_token": "t"
    }
    sent = SEEN[-1]
    assert sent["method"] == "POST"
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["accept"] == "application/json"
    assert sent["headers"]["user-agent"].startswith("eventstream-auth/")
    assert parse_qs(sent["body"].decode()) == {"code": ["a b&c"], "x": ["1"]}


def test_an_oauth_error_body_names_the_error(server: str) -> None:
    route("/token", 400, {"error": "invalid_grant", "error_description": "expired"})
    error = error_of(f"{server}/token", form={"code": "x"})
    assert (error.error, error.status, error.unavailable) == ("invalid_grant", 400, False)


def test_a_5xx_or_an_unreachable_provider_is_unavailable(server: str) -> None:
    route("/down", 503, b"<html>maintenance</html>")
    assert error_of(f"{server}/down").unavailable is True
    gone = error_of(f"http://127.0.0.1:{free_port()}/token")
    assert (gone.error, gone.unavailable) == ("unreachable", True)


def test_redirects_are_not_followed(server: str) -> None:
    route("/moved", 302, {}, {"Location": f"{server}/elsewhere"})
    route("/elsewhere", 200, {"ok": True})
    error = error_of(f"{server}/moved", form={"client_secret": "s"})
    assert error.status == 302
    assert [s["path"] for s in SEEN] == ["/moved"]  # the secret went nowhere else


def test_a_body_that_is_not_json_is_refused(server: str) -> None:
    route("/html", 200, b"<html></html>")
    assert error_of(f"{server}/html").error == "invalid_response"


def test_only_http_urls_are_called() -> None:
    assert error_of("file:///etc/passwd").error == "invalid_endpoint"


def discovery(issuer: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
    }
    doc.update(changes or {})
    return doc


def test_discovery_is_cached_and_keeps_only_asymmetric_algorithms(server: str) -> None:
    route("/.well-known/openid-configuration", 200, discovery(server))
    first = oauth_oidc.discover(server)
    again = oauth_oidc.discover(server)
    assert first == again
    assert first.algorithms == ("RS256",)
    assert first.token_endpoint == f"{server}/token"
    assert len(SEEN) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"issuer": "https://someone-else.test"},
        {"token_endpoint": None},
        {"jwks_uri": "ftp://x/jwks"},
        {"id_token_signing_alg_values_supported": ["HS256"]},
    ],
)
def test_a_discovery_document_that_does_not_fit_is_refused(
    server: str, changes: dict[str, Any]
) -> None:
    route("/.well-known/openid-configuration", 200, discovery(server, changes))
    with pytest.raises(ProviderError, match="invalid_discovery"):
        oauth_oidc.discover(server)
