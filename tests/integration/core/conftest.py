"""Core nodes as real processes (`python -m eventstream_core`) on a migrated, fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import apply_migrations
from localcloud.core_nodes import CoreNodes
from tests.support import PROJECT_DIR, free_port


@pytest.fixture
def core_database(fresh_database: DbCredentials) -> DbCredentials:
    apply_migrations(fresh_database, PROJECT_DIR / "infra" / "migrations")
    return fresh_database


@pytest.fixture
def start_core(core_database: DbCredentials, tmp_path: Path) -> Iterator[Callable[..., CoreNodes]]:
    """start_core(count=1, *flags, env=None): nodes up and answering pings; stopped after."""
    started: list[CoreNodes] = []

    def start(count: int = 1, *flags: str, env: dict[str, str] | None = None) -> CoreNodes:
        nodes = CoreNodes(
            count,
            core_database.to_url(),
            ports=[free_port() for _ in range(count)],
            log_dir=tmp_path / f"core-{len(started)}",
            args=flags,
            env=env,
        )
        nodes.start()
        started.append(nodes)
        return nodes

    yield start
    for nodes in started:
        nodes.stop(timeout_s=10)


def query(creds: DbCredentials, sql: str, **params: Any) -> list[list[Any]]:
    conn = connect(creds)
    try:
        return conn.run(sql, **params) or []
    finally:
        conn.close()
