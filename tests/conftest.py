"""Fixtures any suite may use: a real embedded Postgres, a real moto server, clean process state.

Session-scoped servers start only when a test asks for them. Tests that stop Postgres on purpose
use `running_postgres`, which starts it again for whoever comes next.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventstream.db.connection import connect, reset_connection
from eventstream.db.credentials import DbCredentials
from localcloud.aws_endpoint import LOCAL_CREDENTIALS, MotoServer
from localcloud.postgres import EmbeddedPostgres
from localcloud.prometheus import PrometheusServer
from tests.support import LambdaContext, free_port

REGION = "us-east-1"


@pytest.fixture(scope="session")
def embedded_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """One Postgres for the session, in a temporary state folder, on a free port."""
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("state") / "pgdata", port=free_port())
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()


@pytest.fixture
def running_postgres(embedded_postgres: EmbeddedPostgres) -> Iterator[EmbeddedPostgres]:
    """The session's Postgres, up before and after the test even if the test stops it."""
    embedded_postgres.start()
    yield embedded_postgres
    embedded_postgres.start()


@pytest.fixture
def fresh_database(running_postgres: EmbeddedPostgres) -> Iterator[DbCredentials]:
    """Credentials for a new, empty database of its own, dropped after the test."""
    admin = running_postgres.credentials
    name = f"test_{uuid.uuid4().hex[:12]}"
    conn = connect(admin)
    try:
        conn.run(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    yield DbCredentials(admin.host, admin.port, admin.username, admin.password, name)
    reset_connection()  # the process's shared connection may point at it
    running_postgres.start()
    conn = connect(admin)
    try:
        conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server on a free port, for Secrets Manager and the other AWS APIs."""
    log_path: Path = tmp_path_factory.mktemp("moto") / "moto.log"
    with MotoServer("127.0.0.1", free_port(), log_path=log_path) as server:
        yield server


@pytest.fixture
def clean_eventstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No database settings in the environment and no cached settings, secrets or connection.

    Yields monkeypatch: set env vars with it, then the code under test reads them fresh.
    """
    from aws_lambda_powertools.utilities import parameters

    from eventstream.config import reset_settings

    for name in ("DB_SECRET_ARN", "DATABASE_URL", "EVENTSTREAM_VERSION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    def forget() -> None:
        reset_connection()
        reset_settings()
        parameters.clear_caches()  # cached secrets and the boto3 client built from the env

    forget()
    yield monkeypatch
    forget()


@pytest.fixture
def aws_env(clean_eventstream: pytest.MonkeyPatch, moto_server: MotoServer) -> MotoServer:
    """The environment a function gets in the local cloud: boto3 talks to moto, fake keys."""
    clean_eventstream.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    clean_eventstream.setenv("AWS_DEFAULT_REGION", REGION)
    clean_eventstream.setenv("AWS_REGION", REGION)
    clean_eventstream.setenv("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["aws_access_key_id"])
    clean_eventstream.setenv("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["aws_secret_access_key"])
    clean_eventstream.setenv("AWS_SESSION_TOKEN", LOCAL_CREDENTIALS["aws_session_token"])
    return moto_server


def apt_installed(package: str, find: Callable[[], str | None]) -> str:
    """The binary `find` locates, installing Debian's `package` with apt-get first when it is
    missing, as CI does: the project's own files must install what its tests need."""
    import os
    import shutil
    import subprocess

    if find() is None:
        # A failure, not a skip: a suite that cannot install its tools has not tested them.
        if shutil.which("apt-get") is None:
            pytest.fail(f"{package} is not installed and there is no apt-get to install it")
        if os.geteuid() != 0:
            pytest.fail(f"{package} is not installed and apt-get needs root to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
            check=True,
            env=env,
        )
    binary = find()
    assert binary is not None, f"apt-get installed {package} but it is not on PATH"
    return binary


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Debian's `prometheus` (with promtool), installed with apt-get when missing, as CI does."""
    from localcloud.prometheus import prometheus_binary as installed

    return apt_installed("prometheus", installed)


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's `chromium` for headless browser tests; its own build, never a downloaded one."""
    import shutil

    return apt_installed("chromium", lambda: shutil.which("chromium"))


@pytest.fixture
def prometheus(prometheus_binary: str, tmp_path: Path) -> Iterator[PrometheusServer]:
    """A real Prometheus on a free port, remote-write receiver on, storage in tmp_path."""
    with PrometheusServer(tmp_path / "tsdb", port=free_port(), binary=prometheus_binary) as server:
        yield server


@pytest.fixture
def lambda_context() -> LambdaContext:
    """For calling a handler directly: `@observed` (Powertools) needs Lambda's context."""
    return LambdaContext()
