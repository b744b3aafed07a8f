"""One real local cloud for the whole security suite, and the clients and logins tests attack with.

Every test module talks to the cloud from its own loopback address (127.0.0.N), so the per-IP
login limit one module trips never refuses another module's logins.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from eventstream.db.credentials import DbCredentials
from localcloud.aws_endpoint import aws_client
from localcloud.postgres import EmbeddedPostgres
from tests.support import ADMIN_PASSWORD, FIXTURES, PROJECT_DIR, RunningCloud, new_cloud

IP_MAX_FAILURES = 8  # LoginIpMaxFailures of the suite's cloud: low, so the limit is reachable
REGION = "us-east-1"
SIGNING_KEYS_SECRET = "eventstream/dev/signing-keys"
ISSUER = "eventstream-dev"
AUDIENCE = "eventstream-api"
PASSWORD = "correct horse battery staple"  # every test user's password

_addresses = (f"127.0.0.{n}" for n in itertools.count(10))
# Every credential the suite was handed, for test_secrets_in_logs to look for in the logs.
ISSUED_SECRETS: set[str] = {ADMIN_PASSWORD, PASSWORD}


def next_address() -> str:
    return next(_addresses)


@dataclass(frozen=True)
class Session:
    user_id: str
    username: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """An HTTP client of the cloud's API from one source address, with the auth calls spelled."""

    def __init__(self, cloud: RunningCloud, address: str) -> None:
        self.address = address
        self.http = httpx.Client(
            base_url=cloud.api_url,
            timeout=60.0,
            transport=httpx.HTTPTransport(local_address=address),
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        _remember_secrets(response)
        return response

    def login(self, username: str, password: str) -> httpx.Response:
        return self.request(
            "POST", "/auth/login", json={"username": username, "password": password}
        )

    def session(self, username: str, password: str = PASSWORD) -> Session:
        response = self.login(username, password)
        assert response.status_code == 200, response.text
        body = response.json()
        claims = json.loads(_b64(body["access_token"].split(".")[1]))
        return Session(claims["sub"], username, body["access_token"], body["refresh_token"])

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.request("POST", "/auth/token/refresh", json={"refresh_token": refresh_token})

    def validate(self, token: str) -> dict[str, Any]:
        response = self.request("POST", "/auth/token/validate", json={"token": token})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def new_user(self, admin: Session, *, roles: list[str] | None = None) -> Session:
        """A user created through the API by `admin`, logged in."""
        username = f"u-{uuid.uuid4().hex[:12]}"
        body: dict[str, Any] = {"username": username, "password": PASSWORD}
        if roles is not None:
            body["roles"] = roles
        created = self.request("POST", "/auth/users", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        return self.session(username)


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _remember_secrets(response: httpx.Response) -> None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict):
        for name in ("access_token", "refresh_token", "key"):
            if isinstance(body.get(name), str):
                ISSUED_SECRETS.add(body[name])


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 answer with `status`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = dict(response.json())
    assert body["status"] == status
    return body


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = new_cloud(
        tmp_path_factory.mktemp("security-cloud") / "state",
        [PROJECT_DIR / "template.yaml", FIXTURES / "security.yaml"],
    )
    running.parameters["LoginIpMaxFailures"] = str(IP_MAX_FAILURES)
    running.warm = True  # every route is called: cold starts in parallel, before the clock
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Iterator[Api]:
    client = Api(cloud, next_address())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fresh_api(cloud: RunningCloud) -> Iterator[Api]:
    """A client from an address no other test used: nothing counted against it yet."""
    client = Api(cloud, next_address())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def admin(api: Api) -> Session:
    return api.session("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def db_admin(cloud: RunningCloud) -> DbCredentials:
    """The embedded Postgres superuser (the owner of every table)."""
    return EmbeddedPostgres(cloud.state_dir / "pgdata", port=cloud.db_port).credentials


@pytest.fixture(scope="session")
def db_function_role(cloud: RunningCloud, db_admin: DbCredentials) -> DbCredentials:
    """The login the functions use, with the password the cloud wrote to its state folder."""
    password = (cloud.state_dir / "function-role.password").read_text().strip()
    return DbCredentials(db_admin.host, db_admin.port, "eventstream_fn", password, db_admin.dbname)


def query(creds: DbCredentials, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows as dicts, on a connection of its own (closed again)."""
    from eventstream.db.connection import connect

    conn = connect(creds)
    try:
        rows = conn.run(sql, **params)
        names = [c["name"] for c in conn.columns or []]
        return [dict(zip(names, row, strict=True)) for row in rows or []]
    finally:
        conn.close()


@pytest.fixture(scope="session")
def secrets_client(cloud: RunningCloud) -> Any:
    return aws_client("secretsmanager", cloud.aws_endpoint_url, REGION)


def signing_key_set(secrets_client: Any) -> dict[str, Any]:
    raw = secrets_client.get_secret_value(SecretId=SIGNING_KEYS_SECRET)["SecretString"]
    return dict(json.loads(raw))


def audit_entries(api: Api, admin: Session, **filters: str) -> list[dict[str, Any]]:
    response = api.request(
        "GET", "/auth/audit", params={"limit": "200", **filters}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


# Modules that change what the others rely on run last: the key rotation (new signing key),
# then the log scan (it looks for every secret the suite was handed).
_LAST = {"test_key_rotation.py": 1, "test_secrets_in_logs.py": 2}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _LAST.get(item.path.name, 0))
