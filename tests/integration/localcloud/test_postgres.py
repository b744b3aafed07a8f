"""The embedded Postgres for real: first start, reuse, restart, stop from another handle."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from eventstream.db.connection import connect
from localcloud.postgres import EmbeddedPostgres, PostgresError
from tests.support import free_port


def query(postgres: EmbeddedPostgres, sql: str) -> list:
    conn = connect(postgres.credentials, timeout_s=5)
    try:
        return conn.run(sql)
    finally:
        conn.close()


def test_it_serves_the_eventstream_database_with_a_password(
    running_postgres: EmbeddedPostgres,
) -> None:
    creds = running_postgres.credentials
    assert running_postgres.is_running()
    assert (creds.host, creds.username, creds.dbname) == ("127.0.0.1", "postgres", "eventstream")
    assert query(running_postgres, "SELECT current_database()") == [["eventstream"]]
    assert running_postgres.password_file.parent == running_postgres.data_dir.parent
    assert running_postgres.password_file.stat().st_mode & 0o777 == 0o600


def test_new_wal_segments_are_not_zero_filled(running_postgres: EmbeddedPostgres) -> None:
    # The local cloud's setting against a ~25 ms commit stall per new 16 MB WAL segment.
    assert query(running_postgres, "SHOW wal_init_zero") == [["off"]]


def test_a_wrong_password_is_refused(running_postgres: EmbeddedPostgres) -> None:
    from dataclasses import replace

    from eventstream.db.connection import DatabaseUnavailableError

    with pytest.raises(DatabaseUnavailableError, match="authentication failed"):
        connect(replace(running_postgres.credentials, password="wrong"), timeout_s=5)


def test_data_survives_a_stop_and_start(running_postgres: EmbeddedPostgres) -> None:
    query(running_postgres, "CREATE TABLE IF NOT EXISTS kept (v int); INSERT INTO kept VALUES (7)")
    running_postgres.stop()
    assert not running_postgres.is_running()
    running_postgres.stop()  # stopping a stopped server is fine
    running_postgres.start()
    assert running_postgres.is_running()
    assert [7] in query(running_postgres, "SELECT v FROM kept")


def test_another_handle_on_the_data_dir_can_stop_and_start_it(
    running_postgres: EmbeddedPostgres,
) -> None:
    # As the e2e suite does: it knows only the state folder and the port.
    other = EmbeddedPostgres(running_postgres.data_dir, port=running_postgres.port)
    assert other.is_running()
    other.stop()
    assert not running_postgres.is_running()
    other.start()
    assert running_postgres.is_running()
    assert other.credentials == running_postgres.credentials


def test_start_while_running_keeps_the_server(running_postgres: EmbeddedPostgres) -> None:
    pid_before = (running_postgres.data_dir / "postmaster.pid").read_text().split()[0]
    running_postgres.start()
    assert (running_postgres.data_dir / "postmaster.pid").read_text().split()[0] == pid_before


def test_a_lost_password_file_is_replaced_by_a_new_password(
    running_postgres: EmbeddedPostgres,
) -> None:
    old = running_postgres.credentials.password
    running_postgres.stop()
    running_postgres.password_file.unlink()
    running_postgres.start()
    assert running_postgres.credentials.password != old
    assert query(running_postgres, "SELECT 1") == [[1]]


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        postgres = EmbeddedPostgres(tmp_path / "pgdata", port=port)
        with pytest.raises(PostgresError, match=f"port {port}"):
            postgres.start()
    assert not postgres.is_running()


def test_a_foreign_non_empty_folder_is_not_initialised(tmp_path: Path) -> None:
    (tmp_path / "pgdata").mkdir()
    (tmp_path / "pgdata" / "notes.txt").write_text("mine")
    with pytest.raises(PostgresError, match="not empty"):
        EmbeddedPostgres(tmp_path / "pgdata", port=free_port()).start()
    assert (tmp_path / "pgdata" / "notes.txt").read_text() == "mine"


def test_it_starts_again_after_the_server_was_killed(running_postgres: EmbeddedPostgres) -> None:
    pid = int((running_postgres.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    running_postgres.start()  # crash recovery, and stale lock files are not in the way
    assert running_postgres.is_running()
    assert query(running_postgres, "SELECT 1") == [[1]]
