"""Numbered SQL migrations (`NNN_name.sql`), each applied once, in order, in its own transaction.

Safe to run from several processes at once: a session advisory lock lets one runner work while
the others wait, then find nothing left to do. A migration file must not contain its own
BEGIN/COMMIT, nor statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pg8000.native import Connection, DatabaseError

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials

MIGRATION_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_]+)\.sql$")
# Any fixed 64-bit key: it only has to be the same for every runner of this project.
ADVISORY_LOCK_KEY = 0x6576_656E_7473_7472  # "eventstr"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """A migration set that cannot be applied safely; the message names the file and the fix."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str  # sha256 of the file's bytes

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.name}"


def discover_migrations(directory: Path) -> list[Migration]:
    """The directory's migrations in order; refuses misnamed .sql files and duplicate numbers."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    by_version: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: name migration files NNN_name.sql (e.g. 002_add_topics.sql)"
            )
        data = path.read_bytes()
        migration = Migration(
            version=int(match["version"]),
            name=match["name"],
            path=path,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
        if migration.version in by_version:
            other = by_version[migration.version].path.name
            raise MigrationError(
                f"{path.name} and {other} share number {migration.version}: renumber one of them"
            )
        by_version[migration.version] = migration
    return [by_version[v] for v in sorted(by_version)]


def pending_migrations(
    migrations: list[Migration], applied: dict[int, tuple[str, str]]
) -> list[Migration]:
    """What is left to apply, after checking that history and files agree.

    applied maps version -> (name, checksum) as recorded in schema_migrations.
    """
    files = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = files.get(version)
        label = f"{version:03d}_{name}"
        if migration is None:
            raise MigrationError(f"applied migration {label} has no file any more: restore it")
        if migration.checksum != checksum or migration.name != name:
            raise MigrationError(
                f"{migration.path.name} changed after it was applied (as {label}): "
                "restore it and put the change in a new migration"
            )
    pending = [m for m in migrations if m.version not in applied]
    newest = max(applied, default=0)
    late = [m.label for m in pending if m.version < newest]
    if late:
        raise MigrationError(
            f"{', '.join(late)} would apply after the newer {newest:03d}: renumber above {newest}"
        )
    return pending


@contextlib.contextmanager
def _connection(target: DbCredentials | Connection) -> Iterator[Connection]:
    if isinstance(target, DbCredentials):
        conn = connect(target, timeout_s=10.0, application_name="eventstream-migrations")
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.close()
    else:
        yield target


def apply_migrations(target: DbCredentials | Connection, directory: Path) -> list[str]:
    """Apply the directory's pending migrations; their labels (`001_initial_schema`), in order.

    target is either credentials (a connection is opened and closed) or an open connection
    that is not inside a transaction.
    """
    migrations = discover_migrations(directory)
    applied_now: list[str] = []
    with _connection(target) as conn:
        conn.run("SELECT pg_advisory_lock(:key)", key=ADVISORY_LOCK_KEY)
        try:
            conn.run(CREATE_TABLE)
            rows = conn.run("SELECT version, name, checksum FROM schema_migrations")
            applied = {int(v): (str(n), str(c)) for v, n, c in rows}
            for migration in pending_migrations(migrations, applied):
                _apply_one(conn, migration)
                applied_now.append(migration.label)
        finally:
            # On a dead connection the session, and so the lock, is gone already.
            with contextlib.suppress(Exception):
                conn.run("SELECT pg_advisory_unlock(:key)", key=ADVISORY_LOCK_KEY)
    return applied_now


def _apply_one(conn: Connection, migration: Migration) -> None:
    conn.run("START TRANSACTION")
    try:
        conn.run(migration.sql)  # no parameters: the simple protocol, so several statements
        conn.run(
            "INSERT INTO schema_migrations (version, name, checksum) "
            "VALUES (:version, :name, :checksum)",
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
        )
        conn.run("COMMIT")
    except DatabaseError as e:
        with contextlib.suppress(Exception):
            conn.run("ROLLBACK")
        message = e.args[0].get("M", e) if e.args and isinstance(e.args[0], dict) else e
        raise MigrationError(
            f"{migration.path.name} failed, nothing of it applied: {message}"
        ) from e
