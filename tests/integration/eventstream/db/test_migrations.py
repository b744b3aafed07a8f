"""Migrations on a real Postgres: once each, in order, atomically, and safely in parallel."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import MigrationError, apply_migrations
from tests.support import PROJECT_DIR


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def rows(creds: DbCredentials, sql: str) -> list:
    conn = connect(creds)
    try:
        return conn.run(sql)
    finally:
        conn.close()


MIGRATIONS = {
    "001_create_a.sql": "CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1);",
    "002_create_b.sql": "CREATE TABLE b (id int PRIMARY KEY);",
}


def test_each_migration_is_applied_once(fresh_database: DbCredentials, tmp_path: Path) -> None:
    directory = write(tmp_path / "m", MIGRATIONS)
    assert apply_migrations(fresh_database, directory) == ["001_create_a", "002_create_b"]
    assert apply_migrations(fresh_database, directory) == []
    write(directory, {"003_create_c.sql": "CREATE TABLE c (id int);"})
    assert apply_migrations(fresh_database, directory) == ["003_create_c"]
    recorded = rows(fresh_database, "SELECT version, name FROM schema_migrations ORDER BY 1")
    assert recorded == [[1, "create_a"], [2, "create_b"], [3, "create_c"]]
    assert rows(fresh_database, "SELECT id FROM a") == [[1]]


def test_an_open_connection_can_be_used(fresh_database: DbCredentials, tmp_path: Path) -> None:
    conn = connect(fresh_database)
    try:
        assert apply_migrations(conn, write(tmp_path / "m", MIGRATIONS)) == [
            "001_create_a",
            "002_create_b",
        ]
        assert conn.run("SELECT count(*) FROM b") == [[0]]  # still usable afterwards
    finally:
        conn.close()


def test_concurrent_runners_apply_each_migration_exactly_once(
    fresh_database: DbCredentials, tmp_path: Path
) -> None:
    slow = {**MIGRATIONS, "003_slow.sql": "SELECT pg_sleep(0.2); CREATE TABLE c (id int);"}
    directory = write(tmp_path / "m", slow)
    start = threading.Barrier(3)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def runner() -> None:
        start.wait()
        try:
            results.append(apply_migrations(fresh_database, directory))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(results) == 3
    applied = sorted(label for result in results for label in result)
    assert applied == ["001_create_a", "002_create_b", "003_slow"]
    assert rows(fresh_database, "SELECT count(*) FROM schema_migrations") == [[3]]


def test_a_changed_applied_file_is_refused(fresh_database: DbCredentials, tmp_path: Path) -> None:
    directory = write(tmp_path / "m", MIGRATIONS)
    apply_migrations(fresh_database, directory)
    write(directory, {"002_create_b.sql": "CREATE TABLE b (id bigint PRIMARY KEY);"})
    write(directory, {"003_create_c.sql": "CREATE TABLE c (id int);"})
    with pytest.raises(MigrationError, match=r"002_create_b\.sql changed"):
        apply_migrations(fresh_database, directory)
    assert rows(fresh_database, "SELECT to_regclass('c') IS NULL") == [[True]]


def test_a_failing_migration_leaves_nothing_behind(
    fresh_database: DbCredentials, tmp_path: Path
) -> None:
    directory = write(
        tmp_path / "m",
        {**MIGRATIONS, "003_broken.sql": "CREATE TABLE c (id int);\nSELECT * FROM missing;"},
    )
    with pytest.raises(MigrationError, match=r"003_broken\.sql failed.*missing"):
        apply_migrations(fresh_database, directory)
    assert rows(fresh_database, "SELECT max(version) FROM schema_migrations") == [[2]]
    assert rows(fresh_database, "SELECT to_regclass('c') IS NULL") == [[True]]
    write(directory, {"003_broken.sql": "CREATE TABLE c (id int);"})
    assert apply_migrations(fresh_database, directory) == ["003_broken"]


def test_the_project_schema_applies(fresh_database: DbCredentials) -> None:
    applied = apply_migrations(fresh_database, PROJECT_DIR / "infra" / "migrations")
    assert applied[0] == "001_initial_schema"
    conn = connect(fresh_database)
    try:
        user_id = conn.run(
            "INSERT INTO users (username, password_hash) VALUES (:u, :h) RETURNING id",
            u="alice",
            h="argon2id$...",
        )[0][0]
        conn.run(
            "INSERT INTO topic_acl (user_id, topic_pattern, permission) VALUES (:u, :t, :p)",
            u=user_id,
            t="sensor/*",
            p="publish",
        )
        indexes = conn.run("SELECT indexname FROM pg_indexes WHERE tablename = 'topic_acl'")
        assert {"idx_acl_user", "idx_acl_topic"} <= {name for (name,) in indexes}
        conn.run("DELETE FROM users WHERE id = :u", u=user_id)
        assert conn.run("SELECT count(*) FROM topic_acl") == [[0]]
    finally:
        conn.close()
