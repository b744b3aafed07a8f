"""Finding migration files and checking them against what a database has already applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventstream.db.migrations import (
    MigrationError,
    discover_migrations,
    pending_migrations,
)
from tests.support import PROJECT_DIR


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def test_files_come_back_in_numeric_order(tmp_path: Path) -> None:
    write(tmp_path, {"010_c.sql": "c", "2_b.sql": "b", "001_a.sql": "a", "README.md": "x"})
    migrations = discover_migrations(tmp_path)
    assert [m.label for m in migrations] == ["001_a", "002_b", "010_c"]
    assert migrations[0].sql == "a"
    assert len(migrations[0].checksum) == 64


def test_a_misnamed_sql_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"001_a.sql": "a", "add-users.sql": "b"})
    with pytest.raises(MigrationError, match=r"add-users\.sql"):
        discover_migrations(tmp_path)


def test_duplicate_numbers_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"001_a.sql": "a", "001_b.sql": "b"})
    with pytest.raises(MigrationError, match=r"share number 1"):
        discover_migrations(tmp_path)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        discover_migrations(tmp_path / "nope")


def test_pending_skips_what_is_applied(tmp_path: Path) -> None:
    migrations = discover_migrations(write(tmp_path, {"001_a.sql": "a", "002_b.sql": "b"}))
    applied = {1: ("a", migrations[0].checksum)}
    assert [m.label for m in pending_migrations(migrations, applied)] == ["002_b"]


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    migrations = discover_migrations(write(tmp_path, {"001_a.sql": "a"}))
    with pytest.raises(MigrationError, match=r"001_a\.sql changed"):
        pending_migrations(migrations, {1: ("a", "0" * 64)})


def test_a_vanished_file_is_refused(tmp_path: Path) -> None:
    migrations = discover_migrations(write(tmp_path, {"002_b.sql": "b"}))
    with pytest.raises(MigrationError, match="001_a has no file"):
        pending_migrations(migrations, {1: ("a", "0" * 64), 2: ("b", migrations[0].checksum)})


def test_a_file_older_than_the_newest_applied_is_refused(tmp_path: Path) -> None:
    migrations = discover_migrations(write(tmp_path, {"001_a.sql": "a", "002_b.sql": "b"}))
    with pytest.raises(MigrationError, match="001_a would apply after the newer 002"):
        pending_migrations(migrations, {2: ("b", migrations[1].checksum)})


def test_the_project_migrations_are_well_formed() -> None:
    migrations = discover_migrations(PROJECT_DIR / "infra" / "migrations")
    assert migrations[0].label == "001_initial_schema"
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
