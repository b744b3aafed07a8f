"""The embedded Postgres' pure parts: DATABASE_URL and where its files go."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.postgres import (
    EmbeddedPostgres,
    PostgresError,
    credentials_from_database_url,
    postgres_bin_dir,
)


def test_database_url_gives_credentials() -> None:
    creds = credentials_from_database_url("postgresql://app:pw@db:5433/events")
    assert (creds.host, creds.port, creds.username, creds.dbname) == ("db", 5433, "app", "events")


def test_a_bad_database_url_is_a_postgres_error_without_the_password() -> None:
    with pytest.raises(PostgresError, match="DATABASE_URL") as info:
        credentials_from_database_url("mysql://app:hunter2@db/events")
    assert "hunter2" not in str(info.value)


def test_files_sit_in_the_state_folder(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "pgdata", port=55432)
    assert postgres.password_file == tmp_path / "pgdata.password"
    assert postgres.log_path.parent == tmp_path / "pgdata"
    assert not postgres.is_running()
    postgres.stop()  # nothing to stop, nothing created
    assert not (tmp_path / "pgdata").exists()


def test_credentials_before_the_first_start_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(PostgresError, match="start"):
        _ = EmbeddedPostgres(tmp_path / "pgdata", port=55432).credentials


def test_the_binaries_come_from_the_pgserver_wheel() -> None:
    bin_dir = postgres_bin_dir()
    assert "pgserver" in bin_dir.parts
    assert (bin_dir / "postgres").is_file()
