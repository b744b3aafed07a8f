"""Fixtures any suite may use: a real embedded Postgres, a real moto server, clean process state.

Session-scoped servers start only when a test asks for them. Tests that stop Postgres on purpose
use `running_postgres`, which starts it again for whoever comes next.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventstream.db.connection import connect, reset_connection
from eventstream.db.credentials import DbCredentials
from localcloud.aws_endpoint import LOCAL_CREDENTIALS, MotoServer
from localcloud.postgres import EmbeddedPostgres
from tests.support import free_port

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
