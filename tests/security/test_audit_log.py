"""The audit log is append-only for the functions' role and for the owner, and says who did what.

Connects to the cloud's Postgres as eventstream_fn (the login the functions use, password from
the state folder) and as the owner, and tries to rewrite history.
"""

from __future__ import annotations

from typing import Any

import pytest
from pg8000.native import DatabaseError

from eventstream.db.connection import sqlstate
from eventstream.db.credentials import DbCredentials
from tests.security.conftest import Api, Session, audit_entries, query

INSUFFICIENT_PRIVILEGE = "42501"
CHANGES = [
    "UPDATE audit_log SET outcome = 'success'",
    "UPDATE audit_log SET details = '{}'::jsonb WHERE action = 'login'",
    "DELETE FROM audit_log",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    "TRUNCATE audit_log",
]


def refused(creds: DbCredentials, sql: str) -> str:
    """The SQLSTATE `sql` fails with (inside a transaction that is rolled back either way)."""
    from eventstream.db.connection import connect

    conn = connect(creds)
    try:
        conn.run("START TRANSACTION")
        try:
            conn.run(sql)
        except DatabaseError as e:
            return str(sqlstate(e))
        finally:
            conn.run("ROLLBACK")
    finally:
        conn.close()
    raise AssertionError(f"{creds.username} could run: {sql}")


@pytest.fixture(scope="module", autouse=True)
def history(api: Api, admin: Session) -> list[dict[str, Any]]:
    """The newest entries before the attempts to rewrite them, two failed logins among them."""
    api.login("admin", "wrong password for the audit test")
    api.login("admin", "another wrong one")
    return audit_entries(api, admin)


def test_the_functions_connect_as_the_restricted_role(
    api: Api, admin: Session, db_admin: DbCredentials, db_function_role: DbCredentials
) -> None:
    assert api.request("GET", "/auth/users", headers=admin.headers).status_code == 200
    users = {
        r["usename"]
        for r in query(
            db_admin,
            "SELECT usename FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
            db=db_admin.dbname,
        )
    }
    assert db_function_role.username in users
    assert db_admin.username not in users  # no function holds an owner connection


@pytest.mark.parametrize("sql", CHANGES)
def test_the_functions_role_cannot_change_the_log(
    db_function_role: DbCredentials, sql: str
) -> None:
    assert refused(db_function_role, sql) == INSUFFICIENT_PRIVILEGE


def test_the_functions_role_can_append_and_change_other_tables(
    db_function_role: DbCredentials,
) -> None:
    # Control: the same login is not simply locked out of everything.
    from eventstream.db.connection import connect

    conn = connect(db_function_role)
    try:
        conn.run("START TRANSACTION")
        conn.run("INSERT INTO audit_log (action, outcome) VALUES ('login', 'success')")
        conn.run("UPDATE users SET email = email WHERE false")
        conn.run("DELETE FROM login_failures WHERE false")
        conn.run("ROLLBACK")
    finally:
        conn.close()


@pytest.mark.parametrize("sql", CHANGES)
def test_not_even_the_owner_can_change_the_log(db_admin: DbCredentials, sql: str) -> None:
    assert refused(db_admin, sql) == INSUFFICIENT_PRIVILEGE


def test_the_log_is_unchanged(api: Api, admin: Session, history: list[dict[str, Any]]) -> None:
    assert sum(e["action"] == "login" and e["outcome"] == "failure" for e in history) >= 2
    now = {e["id"]: e for e in audit_entries(api, admin)}
    assert [now.get(e["id"]) for e in history] == history


def test_an_entry_says_who_what_whom_when_where_and_which_request(api: Api, admin: Session) -> None:
    created = api.request(
        "POST",
        "/auth/users",
        json={"username": "audited-user", "password": "a long enough passphrase"},
        headers={**admin.headers, "User-Agent": "audit-probe/1.0"},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    [entry] = audit_entries(api, admin, user=user_id, action="user_created")
    assert entry["actor_id"] == admin.user_id
    assert entry["target_type"] == "user"
    assert entry["target_id"] == user_id
    assert entry["outcome"] == "success"
    assert entry["source_ip"] == api.address
    assert entry["user_agent"] == "audit-probe/1.0"
    assert entry["request_id"]
    assert entry["occurred_at"]
    assert entry["details"] == {"username": "audited-user", "roles": ["user"]}
    assert "password" not in str(entry)


def test_the_audit_filters_by_action_user_and_time(api: Api, admin: Session) -> None:
    logins = audit_entries(api, admin, action="login")
    assert logins
    assert {e["action"] for e in logins} == {"login"}
    mine = audit_entries(api, admin, user=admin.user_id)
    assert all(admin.user_id in (e["actor_id"], e["target_id"]) for e in mine)
    assert audit_entries(api, admin, **{"from": "2999-01-01T00:00:00Z"}) == []
    assert audit_entries(api, admin, to="2000-01-01T00:00:00Z") == []
