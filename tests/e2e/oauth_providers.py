"""The two login providers the OAuth tests sign in at, both listening on 127.0.0.1.

GitHubServer speaks GitHub's OAuth web flow and REST wire format (form-encoded token request,
`Accept: application/json` answers, errors as 200 with an `error` member, /user and
/user/emails with a Bearer token and a User-Agent) and refuses anything GitHub would refuse.

OidcProvider runs panva's certified `oidc-provider` from npm (tests/fixtures/oidc) in Node.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support import FIXTURES

OIDC_DIR = FIXTURES / "oidc"
TOKEN_FIELDS = {"client_id", "client_secret", "code", "redirect_uri", "code_verifier"}


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str | None
    public_email: str | None  # what /user shows; None when the user keeps it private
    emails: list[dict[str, Any]] = field(default_factory=list)  # what /user/emails lists


@dataclass
class _Grant:
    login: str
    redirect_uri: str
    challenge: str
    scope: str


def _s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


class GitHubServer:
    """github.com's /login/oauth/* and api.github.com's /user, /user/emails, in one server."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.users: dict[str, GitHubUser] = {}
        self.token_requests: list[dict[str, Any]] = []  # what the client sent, for assertions
        self.api_requests: list[tuple[str, dict[str, str]]] = []
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def config(self) -> dict[str, str]:
        """The `github` member of the OAuth secret that points the service here."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authorize_url": f"{self.url}/login/oauth/authorize",
            "token_url": f"{self.url}/login/oauth/access_token",
            "api_url": f"{self.url}/api",
        }

    def start(self) -> GitHubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- the endpoints ------------------------------------------------------------------------

    def authorize(self, query: dict[str, str], login: str) -> tuple[int, dict[str, str]]:
        """The user `login` approves the app: a redirect back with a code, as GitHub does."""
        problems = []
        if query.get("client_id") != self.client_id:
            problems.append("client_id")
        if query.get("redirect_uri") != self.redirect_uri:
            problems.append("redirect_uri")
        if (
            query.get("code_challenge_method") != "S256"
            or len(query.get("code_challenge", "")) != 43
        ):
            problems.append("pkce")
        if not query.get("state"):
            problems.append("state")
        if problems or login not in self.users:
            return 400, {"error": ",".join(problems) or "unknown login"}
        code = secrets.token_hex(10)  # GitHub's codes are 20 hex characters
        with self._lock:
            self._codes[code] = _Grant(
                login, query["redirect_uri"], query["code_challenge"], query.get("scope", "")
            )
        back = {"code": code, "state": query["state"]}
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}

    def access_token(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("ascii"), strict_parsing=True).items()}
        self.token_requests.append({"headers": headers, "form": form})
        if set(form) != TOKEN_FIELDS:
            return {"error": "unexpected_fields", "fields": sorted(form)}
        if form["client_id"] != self.client_id or form["client_secret"] != self.client_secret:
            return {"error": "incorrect_client_credentials"}
        with self._lock:
            grant = self._codes.pop(form["code"], None)  # codes work once
        if grant is None or _s256(form["code_verifier"]) != grant.challenge:
            return {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            }
        if form["redirect_uri"] != grant.redirect_uri:
            return {"error": "redirect_uri_mismatch"}
        token = f"gho_{secrets.token_urlsafe(27)}"
        with self._lock:
            self._tokens[token] = grant
        return {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}

    def api(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        self.api_requests.append((path, headers))
        if not headers.get("user-agent"):
            # GitHub refuses API requests without a User-Agent.
            return 403, {"message": "Request forbidden by administrative rules."}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        grant = self._tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if grant is None:
            return 401, {"message": "Bad credentials", "status": "401"}
        user = self.users[grant.login]
        if path == "/api/user":
            return 200, {
                "login": user.login,
                "id": user.id,
                "node_id": f"U_{user.id}",
                "type": "User",
                "site_admin": False,
                "name": user.name,
                "email": user.public_email,
            }
        if path == "/api/user/emails" and "user:email" in grant.scope.split():
            return 200, user.emails
        return 404, {"message": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        github = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.startswith("/api/"):
                    status, body = github.api(parts.path, self._headers())
                    self._send(status, body)
                elif parts.path == "/login/oauth/authorize":
                    # GitHub's sign-in page; the user's answer is the POST below.
                    page = b"<form method=post><input name=login><button>Authorize</button></form>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                else:
                    self._send(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = self._headers()
                if parts.path == "/login/oauth/authorize":
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    login = parse_qs(body.decode()).get("login", [""])[0]
                    status, extra = github.authorize(query, login)
                    if status == 302:
                        self._send(302, None, extra)
                    else:
                        self._send(status, extra)
                elif parts.path == "/login/oauth/access_token":
                    if headers.get("content-type") != "application/x-www-form-urlencoded":
                        self._send(415, {"error": "unsupported content type"})
                    elif headers.get("accept") != "application/json":
                        # Without it GitHub answers form-encoded, which a JSON client cannot read.
                        self.send_response(200)
                        self.send_header("Content-Type", "application/x-www-form-urlencoded")
                        self.end_headers()
                        self.wfile.write(b"error=accept_header_missing")
                    else:
                        self._send(200, github.access_token(headers, body))
                else:
                    self._send(404, {"message": "Not Found"})

        return Handler


def npm_install(folder: Path = OIDC_DIR) -> None:
    """node_modules from package-lock.json: offline from npm's cache when it can, else online."""
    marker = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the OIDC tests need Node.js 20+ and npm")
    base = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    offline = subprocess.run([*base, "--offline"], cwd=folder, capture_output=True, timeout=120)
    if offline.returncode != 0:
        subprocess.run(base, cwd=folder, check=True, capture_output=True, timeout=300)


@dataclass
class OidcAccount:
    login: str
    password: str
    sub: str
    email: str
    email_verified: bool
    name: str


class OidcProvider:
    """`node provider.mjs`: a real OpenID provider with a fixed client and these accounts."""

    def __init__(self, client: dict[str, Any], accounts: list[OidcAccount]) -> None:
        self.client = client
        self.accounts = {a.login: a for a in accounts}
        self.issuer = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> OidcProvider:
        npm_install()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed: the OIDC tests need Node.js 20+")
        env = {
            **os.environ,
            "OIDC_CLIENT": json.dumps(self.client),
            "OIDC_ACCOUNTS": json.dumps(
                {
                    a.login: {
                        "sub": a.sub,
                        "password": a.password,
                        "email": a.email,
                        "email_verified": a.email_verified,
                        "name": a.name,
                    }
                    for a in self.accounts.values()
                }
            ),
        }
        self.proc = subprocess.Popen(
            [node, "provider.mjs"],
            cwd=OIDC_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its warnings about Node 20 and the memory adapter
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the script prints its issuer once it listens
        if not line.startswith("issuer "):
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {line!r}")
        self.issuer = line.split()[1]
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
