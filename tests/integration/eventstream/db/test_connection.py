"""The process's connection on a real Postgres: reused, replaced after a restart, re-logged-in."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from eventstream.db import connection
from eventstream.db.connection import (
    DatabaseUnavailableError,
    execute,
    get_connection,
    reset_connection,
    transaction,
)
from eventstream.db.credentials import DbCredentials
from localcloud.aws_endpoint import MotoServer, seed_secret
from localcloud.postgres import EmbeddedPostgres
from tests.conftest import REGION


@pytest.fixture
def db(clean_eventstream: pytest.MonkeyPatch, fresh_database: DbCredentials) -> DbCredentials:
    clean_eventstream.setenv("DATABASE_URL", fresh_database.to_url())
    return fresh_database


def test_the_connection_is_reused_across_calls(db: DbCredentials) -> None:
    first = get_connection()
    execute("SELECT 1")
    assert get_connection() is first
    reset_connection()
    assert get_connection() is not first


def test_parameters_are_bound_not_formatted(db: DbCredentials) -> None:
    execute("CREATE TABLE notes (body text)")
    hostile = "x'); DROP TABLE notes; --"
    execute("INSERT INTO notes (body) VALUES (:body)", {"body": hostile})
    assert execute("SELECT body FROM notes WHERE body = :body", {"body": hostile}) == [[hostile]]
    assert execute("SELECT count(*) FROM notes") == [[1]]


def test_transaction_commits_or_rolls_back(db: DbCredentials) -> None:
    execute("CREATE TABLE t (v int)")
    with transaction() as conn:
        conn.run("INSERT INTO t VALUES (:v)", v=1)

    def insert_then_fail() -> None:
        with transaction() as conn:
            conn.run("INSERT INTO t VALUES (:v)", v=2)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        insert_then_fail()
    assert execute("SELECT v FROM t") == [[1]]
    assert get_connection().run("SELECT 1") == [[1]]  # usable after the rollback


def test_a_restarted_postgres_is_reconnected_on_the_next_call(
    db: DbCredentials, running_postgres: EmbeddedPostgres
) -> None:
    before = get_connection()
    running_postgres.stop()
    with pytest.raises(DatabaseUnavailableError, match="connection refused"):
        execute("SELECT 1")
    running_postgres.start()
    assert execute("SELECT 1") == [[1]]
    assert get_connection() is not before


def test_a_dead_socket_is_noticed_before_it_is_used(
    db: DbCredentials, running_postgres: EmbeddedPostgres
) -> None:
    before = get_connection()
    running_postgres.stop()
    running_postgres.start()
    # The old session is gone; the call does not fail, it reconnects.
    assert execute("SELECT 1") == [[1]]
    assert get_connection() is not before


def test_a_session_killed_while_idle_is_replaced_unnoticed(db: DbCredentials) -> None:
    before = get_connection()
    pid = execute("SELECT pg_backend_pid()")[0][0]
    admin = connection.connect(db)
    try:
        admin.run("SELECT pg_terminate_backend(:pid)", pid=pid)
    finally:
        admin.close()
    deadline = time.monotonic() + 5
    while connection._looks_alive(before) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's goodbye takes a moment to arrive
    assert execute("SELECT pg_backend_pid()")[0][0] != pid


def test_a_session_dying_mid_query_fails_that_call_only(db: DbCredentials) -> None:
    pid = execute("SELECT pg_backend_pid()")[0][0]
    with pytest.raises(DatabaseUnavailableError):
        execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert execute("SELECT pg_backend_pid()")[0][0] != pid


def test_a_failed_login_fetches_the_secret_again(
    aws_env: MotoServer,
    clean_eventstream: pytest.MonkeyPatch,
    fresh_database: DbCredentials,
) -> None:
    name = f"test/rotated/{time.monotonic_ns()}"
    stale = replace(fresh_database, password="not-the-password")
    arn = seed_secret(aws_env.endpoint_url, REGION, name, stale.to_secret())
    clean_eventstream.setenv("DB_SECRET_ARN", arn)
    with pytest.raises(DatabaseUnavailableError, match="authentication failed"):
        get_connection()
    # The password is rotated in Secrets Manager; the cached copy is stale.
    seed_secret(aws_env.endpoint_url, REGION, name, fresh_database.to_secret())
    assert execute("SELECT current_database()") == [[fresh_database.dbname]]


def test_no_credentials_is_unavailable_not_a_crash(clean_eventstream: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatabaseUnavailableError, match="no credentials"):
        execute("SELECT 1")
