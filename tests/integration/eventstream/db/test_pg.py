"""The connection that prepares its statements answers as pg8000's own `run` does."""

from __future__ import annotations

from collections.abc import Iterator

import pg8000.native
import pytest

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.db.pg import Connection

SQL = "SELECT CAST(:a AS int) + CAST(:b AS int), ':not_a_param', CAST(:a AS int) -- :c"


@pytest.fixture
def conn(fresh_database: DbCredentials) -> Iterator[pg8000.native.Connection]:
    c = connect(fresh_database)
    yield c
    c.close()


def test_connect_gives_the_caching_connection(conn: pg8000.native.Connection) -> None:
    assert isinstance(conn, Connection)


def test_the_same_text_with_new_values_binds_the_new_values(
    conn: pg8000.native.Connection, fresh_database: DbCredentials
) -> None:
    plain = pg8000.native.Connection(
        user=fresh_database.username,
        password=fresh_database.password,
        host=fresh_database.host,
        port=fresh_database.port,
        database=fresh_database.dbname,
    )
    try:
        for a, b in [(1, 2), (40, 2), (-5, 5)]:
            assert (
                conn.run(SQL, a=a, b=b) == plain.run(SQL, a=a, b=b) == [[a + b, ":not_a_param", a]]
            )
        # Keyword order must not matter: values go by name.
        assert conn.run(SQL, b=1, a=7) == [[8, ":not_a_param", 7]]
    finally:
        plain.close()


def test_types_and_statements_without_parameters_still_work(
    conn: pg8000.native.Connection,
) -> None:
    assert conn.run("SELECT 1") == [[1]]
    assert conn.run("SELECT :v", v="x", types={"v": 25}) == [["x"]]  # 25: text
    conn.run("CREATE TEMP TABLE t (n int)")
    conn.run("INSERT INTO t VALUES (:n)", n=3)
    assert conn.row_count == 1


def test_a_statement_is_prepared_once_and_survives_an_ordinary_error(
    conn: pg8000.native.Connection,
) -> None:
    conn.run("CREATE TABLE u (name text PRIMARY KEY)")
    insert = "INSERT INTO u VALUES (:name)"
    conn.run(insert, name="a")
    prepared = conn._prepared[insert]
    with pytest.raises(pg8000.native.DatabaseError):  # unique violation: the plan is fine
        conn.run(insert, name="a")
    conn.run(insert, name="b")
    assert conn._prepared[insert] is prepared
    assert conn.run("SELECT count(*) FROM u WHERE name <> :x", x="") == [[2]]


def test_a_table_changed_under_a_prepared_statement_is_prepared_afresh(
    conn: pg8000.native.Connection,
) -> None:
    conn.run("CREATE TABLE v (a int)")
    conn.run("INSERT INTO v VALUES (1)")
    query = "SELECT * FROM v WHERE a = :a"
    assert conn.run(query, a=1) == [[1]]
    conn.run("ALTER TABLE v ADD COLUMN b int DEFAULT 2")
    with pytest.raises(pg8000.native.DatabaseError, match="0A000"):
        conn.run(query, a=1)  # Postgres refuses the old plan once
    assert conn.run(query, a=1) == [[1, 2]]
