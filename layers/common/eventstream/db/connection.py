"""One Postgres connection per process, reused across warm invocations, replaced when it dies.

Lambda runs one invocation at a time per process, so one connection is all a process needs; the
lock only makes it safe for the odd threaded caller. pg8000.native throughout: `:name` parameters,
never string formatting.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from eventstream.config import get_settings
from eventstream.db.credentials import CredentialsError, DbCredentials, load_credentials

if TYPE_CHECKING:
    from pg8000.native import Connection

AUTH_FAILED_STATES = frozenset({"28P01", "28000"})  # invalid_password, invalid_authorization
# SQLSTATEs after which the session is gone: connection exceptions, shutdowns, crash recovery.
_SESSION_LOST_PREFIXES = ("08", "57P")
_REFUSED_REASONS = {
    "3D000": "database does not exist",
    "53300": "too many connections",
    "57P03": "starting up or shutting down",
}


class DatabaseUnavailableError(Exception):
    """The database cannot be reached or logged into; `reason` is short and safe to show."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"database unavailable: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason


_lock = threading.RLock()
_conn: Connection | None = None
_owner_pid = 0


UNIQUE_VIOLATION = "23505"


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a pg8000 DatabaseError (its first arg is the server's error fields)."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        code = args[0].get("C")
        return str(code) if code else None
    return None


def _network_reason(error: BaseException) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, TimeoutError):  # socket.timeout is TimeoutError since 3.10
            return "timeout"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ConnectionError):
            return "connection lost"
        cause = cause.__cause__
    return "network error"


def _set_socket_timeout(conn: Connection, timeout_s: float | None) -> None:
    sock = getattr(conn, "_usock", None)
    if sock is not None:
        sock.settimeout(timeout_s)


def connect(
    creds: DbCredentials, *, timeout_s: float | None = None, application_name: str = "eventstream"
) -> Connection:
    """A new connection the caller owns; any failure to connect is a DatabaseUnavailableError."""
    import pg8000.native  # here, not at import: ~80 ms a handler that never queries should not pay

    from eventstream.db.pg import Connection

    try:
        conn = Connection(
            user=creds.username,
            password=creds.password,
            host=creds.host,
            port=creds.port,
            database=creds.dbname,
            timeout=timeout_s,
            application_name=application_name,
        )
    except (pg8000.native.InterfaceError, OSError) as e:
        # OSError too: pg8000 lets a reset during its SSL probe through unwrapped.
        raise DatabaseUnavailableError(_network_reason(e), f"{creds.host}:{creds.port}") from e
    except pg8000.native.DatabaseError as e:
        code = sqlstate(e) or "unknown"
        if code in AUTH_FAILED_STATES:
            raise DatabaseUnavailableError("authentication failed", creds.username) from e
        raise DatabaseUnavailableError(_REFUSED_REASONS.get(code, f"refused ({code})")) from e
    # The timeout bounds connecting; a query is bounded by its caller or the function's timeout.
    _set_socket_timeout(conn, None)
    sock = getattr(conn, "_usock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        # pg8000 writes one statement in several sends: Nagle would hold the last for ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _looks_alive(conn: Connection) -> bool:
    """An idle connection has nothing to read: data or EOF means the server has hung up.

    A restarted Postgres leaves a FATAL message and an EOF on the old socket; seeing them here,
    without a round trip, lets the call reconnect instead of failing.
    """
    sock = getattr(conn, "_usock", None)
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable
    except (OSError, ValueError):
        return False


def _discard() -> None:
    global _conn
    conn, _conn = _conn, None
    # A forked child must not send Terminate on its parent's socket: only the owner closes it.
    if conn is not None and _owner_pid == os.getpid():
        with contextlib.suppress(Exception):
            conn.close()


def _open() -> Connection:
    timeout_s = get_settings().db_connect_timeout_s
    try:
        creds = load_credentials()
    except CredentialsError as e:
        raise DatabaseUnavailableError("no credentials", str(e)) from e
    try:
        return connect(creds, timeout_s=timeout_s)
    except DatabaseUnavailableError as e:
        if e.reason != "authentication failed":
            raise
        first_error = e
    # The cached secret may predate a rotation: read it again, once.
    try:
        fresh = load_credentials(force_fetch=True)
    except CredentialsError as e:
        raise DatabaseUnavailableError("no credentials", str(e)) from e
    if fresh == creds:
        raise first_error
    return connect(fresh, timeout_s=timeout_s)


def get_connection() -> Connection:
    """The process's connection: reused while it is alive, opened again when it is not."""
    global _conn, _owner_pid
    with _lock:
        if _conn is not None and (_owner_pid != os.getpid() or not _looks_alive(_conn)):
            _discard()
        if _conn is None:
            _conn = _open()
            _owner_pid = os.getpid()
        return _conn


def reset_connection() -> None:
    """Close the process's connection; the next call opens a new one."""
    with _lock:
        _discard()


@contextlib.contextmanager
def _guarded(conn: Connection, timeout_s: float | None) -> Iterator[None]:
    """Bound the call by timeout_s and turn a lost session into DatabaseUnavailableError."""
    from pg8000.exceptions import DatabaseError, InterfaceError

    if timeout_s is not None:
        _set_socket_timeout(conn, timeout_s)
    try:
        yield
    except InterfaceError as e:
        if conn is _conn:
            _discard()
        raise DatabaseUnavailableError(_network_reason(e)) from e
    except DatabaseError as e:
        if (sqlstate(e) or "").startswith(_SESSION_LOST_PREFIXES):
            if conn is _conn:
                _discard()
            raise DatabaseUnavailableError("connection lost", sqlstate(e) or "") from e
        raise
    finally:
        if timeout_s is not None and getattr(conn, "_usock", None) is not None:
            _set_socket_timeout(conn, None)


def execute(
    sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
) -> list[list[Any]]:
    """Run one statement with `:name` parameters on the process's connection; its rows.

    timeout_s bounds the round trip (a health check must not hang on a black-holed network).
    """
    with _lock:
        conn = get_connection()
        with _guarded(conn, timeout_s):
            rows = conn.run(sql, **dict(params or {}))
        return rows or []


@contextlib.contextmanager
def transaction(*, timeout_s: float | None = None) -> Iterator[Connection]:
    """A transaction on the process's connection: committed on success, rolled back on error.

    Use `conn.run(sql, **params)` inside; the lock is held throughout, so threads take turns.
    """
    with _lock:
        conn = get_connection()
        with _guarded(conn, timeout_s):
            conn.run("START TRANSACTION")
            try:
                yield conn
            except BaseException:
                try:
                    conn.run("ROLLBACK")
                except Exception:
                    # A failed rollback leaves the session in an unknown state: drop it.
                    if conn is _conn:
                        _discard()
                raise
            conn.run("COMMIT")


@contextlib.contextmanager
def autocommit(*, timeout_s: float | None = None) -> Iterator[Connection]:
    """The process's connection for single statements, each its own transaction: one round trip
    where `transaction()` takes three (a read on the hot path needs no BEGIN and COMMIT)."""
    with _lock:
        conn = get_connection()
        with _guarded(conn, timeout_s):
            yield conn
