"""What a fresh local cloud sets up before functions run: their database login, the token
signing keys, and the first admin user."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from eventstream.db.credentials import DbCredentials

FUNCTION_ROLE = "eventstream_fn"  # logs in; member of eventstream_app (migration 002)
ADMIN_PASSWORD_ENV = "EVENTSTREAM_ADMIN_PASSWORD"  # noqa: S105 -- the variable's name


def _private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def function_credentials(
    admin: DbCredentials, state_dir: Path, warn: Callable[[str], None]
) -> DbCredentials:
    """A login for the functions that cannot alter the audit log, as on AWS; the admin
    credentials (with a warning) where the server will not let us create roles."""
    from pg8000.native import DatabaseError, identifier, literal

    from eventstream.db.connection import connect, sqlstate

    password_file = state_dir / "function-role.password"
    password = password_file.read_text().strip() if password_file.exists() else ""
    if not password:
        password = secrets.token_urlsafe(24)
        _private_file(password_file, password)
    conn = connect(admin)
    try:
        exists = conn.run("SELECT 1 FROM pg_roles WHERE rolname = :r", r=FUNCTION_ROLE)
        verb = "ALTER" if exists else "CREATE"
        # DDL takes no bind parameters: quoted with pg8000's own identifier/literal quoting.
        conn.run(f"{verb} ROLE {identifier(FUNCTION_ROLE)} LOGIN PASSWORD {literal(password)}")
        conn.run(f"GRANT eventstream_app TO {identifier(FUNCTION_ROLE)}")
    except DatabaseError as e:
        warn(
            f"  warning      cannot create role {FUNCTION_ROLE} ({sqlstate(e)}): functions use "
            f"{admin.username}, and only a trigger keeps the audit log append-only"
        )
        return admin
    finally:
        conn.close()
    return replace(admin, username=FUNCTION_ROLE, password=password)


def signing_key_set(state_dir: Path) -> dict[str, Any]:
    """The token signing keys, kept in the state folder so tokens survive a restart."""
    from eventstream.auth.keys import seed_value

    path = state_dir / "signing-keys.json"
    if path.exists():
        return json.loads(path.read_text())
    key_set = seed_value()
    _private_file(path, json.dumps(key_set))
    return key_set


def ensure_admin(admin: DbCredentials, say: Callable[[str], None]) -> None:
    """Create `admin` on first start: EVENTSTREAM_ADMIN_PASSWORD, or generated and shown once."""
    from eventstream.auth.bootstrap import ensure_admin as create_if_missing
    from eventstream.db.connection import connect

    conn = connect(admin)
    try:
        conn.run("START TRANSACTION")
        created = create_if_missing(conn, os.environ.get(ADMIN_PASSWORD_ENV) or None)
        conn.run("COMMIT")
    finally:
        conn.close()
    if created is None:
        return
    _, password = created
    if os.environ.get(ADMIN_PASSWORD_ENV):
        say(f"  admin        user 'admin' created with the password in {ADMIN_PASSWORD_ENV}")
    else:
        say(f"  admin        user 'admin' created; password (shown once): {password}")
