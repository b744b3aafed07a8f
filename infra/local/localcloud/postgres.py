"""The local stand-in for RDS: a real Postgres from the binaries in the `pgserver` wheel.

Data lives in `data_dir` and is reused across runs; the superuser's generated password sits next
to it in a 0600 file. Postgres refuses to run as root, so under root the server runs as a
dedicated system user (`pgserver`, the name the wheel itself uses), created on first need.
The server is a daemon (pg_ctl): it outlives the process that started it until `stop()`, so any
process can stop or restart it knowing only the data directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eventstream.db.connection import DatabaseUnavailableError, connect, sqlstate
from eventstream.db.credentials import CredentialsError, DbCredentials
from localcloud.ports import port_problem

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
DATABASE = "eventstream"
SERVICE_USER = "pgserver"
CONFIG_NAME = "localcloud.conf"
INCLUDE_LINE = f"include_if_exists = '{CONFIG_NAME}'"
MAX_LOG_BYTES = 10 * 1024 * 1024
# Linux's sun_path holds 108 bytes with the NUL; longer socket paths fail to bind.
MAX_SOCKET_PATH = 107


class PostgresError(Exception):
    """The embedded Postgres cannot start or stop; the message says what to do about it."""


def postgres_bin_dir() -> Path:
    """The `bin` folder of the Postgres the pgserver wheel ships (found without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        bin_dir = Path(location) / "pginstall" / "bin"
        if (bin_dir / "postgres").is_file():
            return bin_dir
    raise PostgresError(
        "the pgserver wheel is not installed (pip install -e '.[local]'); "
        "or point DATABASE_URL at a Postgres of your own"
    )


def credentials_from_database_url(url: str) -> DbCredentials:
    """Credentials for an external Postgres named by DATABASE_URL; nothing is started."""
    try:
        return DbCredentials.from_url(url)
    except CredentialsError as e:
        raise PostgresError(f"DATABASE_URL is not usable: {e}") from None


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int


def _conf_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _client_host(host: str) -> str:
    # A wildcard listen address is not an address to connect to.
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1", "*": "127.0.0.1"}.get(host, host)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = int(port)
        self.host = host
        self.password_file = self.data_dir.parent / f"{self.data_dir.name}.password"
        self.log_path = self.data_dir / "postgres.log"
        self._lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.data_dir)!r}, port={self.port}, host={self.host!r})"

    # -- public -----------------------------------------------------------------------------

    @property
    def credentials(self) -> DbCredentials:
        password = self._read_password()
        if password is None:
            raise PostgresError(f"no password in {self.password_file}: start() the server first")
        return DbCredentials(
            host=_client_host(self.host),
            port=self.port,
            username=SUPERUSER,
            password=password,
            dbname=DATABASE,
        )

    def is_running(self) -> bool:
        return self._postmaster_pid() is not None

    def start(self, timeout_s: float = 30.0) -> None:
        """Initialise on first use, start listening on host:port, create the database.

        Returns once a client can log in. A server already running on this data directory is
        kept if it listens on the same port, and restarted if not.
        """
        bin_dir = postgres_bin_dir()
        deadline = time.monotonic() + timeout_s
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self._postmaster_pid() is not None:
                reusable = self._running_port() == self.port and self._read_password() is not None
                if reusable and self._ensure_database(deadline):
                    return
                self._stop_locked(timeout_s)
            self._check_port_free()
            self._clear_stale_lock_files()
            run_as = self._run_as()
            if run_as is not None:
                self._grant_access(run_as, bin_dir)
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(bin_dir, run_as)
            elif self._read_password() is None:
                self._reset_password(bin_dir, run_as)
            self._write_config(run_as)
            self._pg_ctl_start(bin_dir, run_as, timeout_s)
            if not self._ensure_database(deadline):
                raise PostgresError(f"Postgres exited right after starting; see {self.log_path}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (sessions are ended, a checkpoint is written); returns when it is down."""
        if not self.data_dir.exists():
            return
        with self._locked():
            self._stop_locked(timeout_s)

    # -- process ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # One start or stop at a time per data directory, across processes.
        with open(self._lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            return []

    def _running_port(self) -> int | None:
        lines = self._pid_file_lines()
        try:
            return int(lines[3])
        except (IndexError, ValueError):
            return None

    def _postmaster_pid(self) -> int | None:
        """The live postmaster of this data directory, if any (a stale postmaster.pid is not)."""
        lines = self._pid_file_lines()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        if not _process_alive(pid):
            return None
        # After a crash the pid may belong to another program: the postmaster's cwd is its data.
        try:
            if Path(os.readlink(f"/proc/{pid}/cwd")) != self.data_dir:
                return None
        except FileNotFoundError:
            return None
        except OSError:
            pass  # no /proc to ask: trust the pid
        return pid

    def _clear_stale_lock_files(self) -> None:
        """Remove the lock files of a postmaster that died (kill -9, a reboot).

        Postgres clears stale ones itself, except while the dead postmaster is an unreaped
        zombie; they are safe to remove once no live process works in the data directory.
        """
        stale = [self.data_dir / "postmaster.pid", *self.data_dir.glob(".s.PGSQL.*")]
        stale = [path for path in stale if path.exists()]
        if not stale:
            return
        # Backends of a killed postmaster exit by themselves once they notice; give them time.
        deadline = time.monotonic() + 5.0
        while _processes_in(self.data_dir):
            if time.monotonic() > deadline:
                return  # still in use: Postgres will refuse and say by whom
            time.sleep(0.05)
        log.warning("removing lock files of a postmaster that is gone: %s", self.data_dir)
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _stop_locked(self, timeout_s: float) -> None:
        pid = self._postmaster_pid()
        if pid is None:
            return
        # SIGINT is Postgres' fast shutdown, SIGQUIT its immediate one (recovery on next start).
        for sig, wait_s in (
            (signal.SIGINT, timeout_s),
            (signal.SIGQUIT, 5.0),
            (signal.SIGKILL, 5.0),
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if _wait_gone(pid, wait_s):
                return
            log.warning("postgres %d still up after %s", pid, sig.name)
        raise PostgresError(f"Postgres (pid {pid}) of {self.data_dir} would not stop")

    def _check_port_free(self) -> None:
        problem = port_problem(self.host, self.port)
        if problem is not None:
            raise PostgresError(self._explain(problem)) from None

    def _port_in_use(self) -> str:
        return self._explain(f"port {self.port} on {self.host} is in use by another program")

    def _explain(self, problem: str) -> str:
        if "in use" not in problem:
            return problem
        return problem + ": stop it or choose another port (--db-port / EVENTSTREAM_DB_PORT)"

    # -- running as root ---------------------------------------------------------------------

    def _run_as(self) -> _RunAs | None:
        """Who runs the server: None (ourselves) unless we are root, which Postgres refuses."""
        if os.geteuid() != 0:
            return None
        if (self.data_dir / "PG_VERSION").exists():
            owner = self.data_dir.stat()
            if owner.st_uid != 0:  # keep the user an existing cluster belongs to
                return _RunAs(owner.st_uid, owner.st_gid)
        entry = _service_user()
        run_as = _RunAs(entry.pw_uid, entry.pw_gid)
        if (self.data_dir / "PG_VERSION").exists():
            log.warning("handing root-owned %s to user %s", self.data_dir, entry.pw_name)
            _chown_tree(self.data_dir, run_as)
        return run_as

    def _grant_access(self, run_as: _RunAs, bin_dir: Path) -> None:
        """Let the server's user reach its data and binaries; adds search (x) bits only."""
        for path in [self.data_dir.parent, *self.data_dir.parent.parents, *bin_dir.parents]:
            _ensure_searchable(path, run_as)
        install = bin_dir.parent
        if not (bin_dir / "postgres").stat().st_mode & stat.S_IXOTH:
            # Same fix as pgserver's for installs made with a strict umask: readable by all.
            for root, dirs, files in os.walk(install):
                for name in dirs:
                    _add_mode(Path(root, name), 0o055)
                for name in files:
                    path = Path(root, name)
                    _add_mode(path, 0o055 if path.stat().st_mode & stat.S_IXUSR else 0o044)

    # -- cluster -----------------------------------------------------------------------------

    def _run(
        self,
        args: list[str],
        run_as: _RunAs | None,
        *,
        timeout_s: float,
        stdin: str | None = None,
    ) -> tuple[int, str]:
        """Run a Postgres program as the server's user; (exit code, combined output)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "HOME": str(self.data_dir),
        }
        if "TZ" in os.environ:
            env["TZ"] = os.environ["TZ"]
        user_args: dict[str, object] = {}
        if run_as is not None:
            user_args = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
        # A file, not a pipe: the daemon pg_ctl starts could inherit a pipe and hold it open.
        with tempfile.TemporaryFile("w+") as output:
            try:
                proc = subprocess.run(
                    args,
                    input=stdin,
                    stdin=None if stdin is not None else subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=self.data_dir,
                    env=env,
                    timeout=timeout_s,
                    check=False,
                    **user_args,  # type: ignore[arg-type]
                )
            except subprocess.TimeoutExpired:
                raise PostgresError(
                    f"{Path(args[0]).name} did not finish in {timeout_s:.0f} s; see {self.log_path}"
                ) from None
            output.seek(0)
            return proc.returncode, output.read()

    def _prepare_data_dir(self, run_as: _RunAs | None) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise PostgresError(
                f"{self.data_dir} is not empty but holds no Postgres cluster (no PG_VERSION): "
                "move it away or use another state directory"
            )
        if run_as is not None:
            os.chown(self.data_dir, run_as.uid, run_as.gid)
        self.data_dir.chmod(0o700)

    def _initdb(self, bin_dir: Path, run_as: _RunAs | None) -> None:
        self._prepare_data_dir(run_as)
        password = secrets.token_urlsafe(24)
        # initdb reads the password from a file its user can open; never from argv.
        with tempfile.TemporaryDirectory(dir=self.data_dir.parent, prefix=".pginit-") as tmp:
            pwfile = Path(tmp) / "password"
            pwfile.write_text(password)
            pwfile.chmod(0o600)
            if run_as is not None:
                os.chown(tmp, run_as.uid, run_as.gid)
                os.chown(pwfile, run_as.uid, run_as.gid)
            code, output = self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D", str(self.data_dir),
                    "-U", SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                    "--no-sync",  # a fresh local cluster: skipping fsync saves seconds
                ],
                run_as,
                timeout_s=120.0,
            )  # fmt: skip
        if code != 0:
            raise PostgresError(f"initdb of {self.data_dir} failed:\n{output.strip()}")
        self._write_password(password)
        log.info("initialised a Postgres cluster in %s", self.data_dir)

    def _reset_password(self, bin_dir: Path, run_as: _RunAs | None) -> None:
        """A cluster whose password file was lost: set a new password in single-user mode."""
        password = secrets.token_urlsafe(24)  # URL-safe alphabet: nothing to escape in SQL
        code, output = self._run(
            [str(bin_dir / "postgres"), "--single", "-D", str(self.data_dir), "postgres"],
            run_as,
            timeout_s=60.0,
            stdin=f"ALTER ROLE {SUPERUSER} WITH PASSWORD '{password}';\n",
        )
        if code != 0 or "ERROR" in output:
            raise PostgresError(f"could not reset the password of {self.data_dir}:\n{output}")
        self._write_password(password)
        log.warning("password file was missing: set a new password for %s", self.data_dir)

    def _write_config(self, run_as: _RunAs | None) -> None:
        socket_dir = str(self.data_dir)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > MAX_SOCKET_PATH:
            socket_dir = ""  # too long for a unix socket: TCP only, which is all clients use
        settings = {
            "listen_addresses": _conf_string(self.host),
            "port": str(self.port),
            "unix_socket_directories": _conf_string(socket_dir),
            "password_encryption": "'scram-sha-256'",
            # A young cluster has no old WAL segments to recycle, and zero-filling each new 16 MB
            # one stalled every commit for ~25 ms about once a second under load; a long-running
            # server (RDS) recycles its segments and never pays it.
            "wal_init_zero": "off",
        }
        config = self.data_dir / CONFIG_NAME
        config.write_text(
            "# Written by the local cloud at every start.\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        main = self.data_dir / "postgresql.conf"
        if INCLUDE_LINE not in main.read_text():
            with main.open("a") as f:
                f.write(f"\n{INCLUDE_LINE}\n")
        config.chmod(0o600)
        if run_as is not None:
            os.chown(config, run_as.uid, run_as.gid)

    def _pg_ctl_start(self, bin_dir: Path, run_as: _RunAs | None, timeout_s: float) -> None:
        if self.log_path.exists() and self.log_path.stat().st_size > MAX_LOG_BYTES:
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        code, output = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-D", str(self.data_dir),
                "-l", str(self.log_path),
                "-w", "-t", str(max(1, int(timeout_s))),
                "-s",
            ],
            run_as,
            timeout_s=timeout_s + 5,
        )  # fmt: skip
        if code == 0:
            return
        tail = self._log_since(log_offset)
        if "Address already in use" in tail:
            raise PostgresError(self._port_in_use())
        raise PostgresError(
            f"Postgres did not start on {self.host}:{self.port}:\n"
            f"{(output + tail).strip()[-2000:]}\n(full log: {self.log_path})"
        )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _ensure_database(self, deadline: float) -> bool:
        """Log in as a client would and create the `eventstream` database if it is missing.

        False if the server went away meanwhile (it was shutting down, or was killed).
        """
        admin = DbCredentials(
            host=_client_host(self.host),
            port=self.port,
            username=SUPERUSER,
            password=self._read_password() or "",
            dbname="postgres",
        )
        while True:
            try:
                conn = connect(admin, timeout_s=5.0, application_name="eventstream-localcloud")
                break
            except DatabaseUnavailableError as e:
                if e.reason == "authentication failed":
                    raise PostgresError(
                        f"the password in {self.password_file} does not open {self.data_dir}: "
                        "delete that file and start again to set a new one"
                    ) from None
                if self._postmaster_pid() is None:
                    return False
                if time.monotonic() > deadline:
                    raise PostgresError(
                        f"Postgres on {self.host}:{self.port} does not accept logins: {e}"
                    ) from None
                time.sleep(0.05)
        try:
            if not conn.run("SELECT 1 FROM pg_database WHERE datname = :name", name=DATABASE):
                try:
                    conn.run(f'CREATE DATABASE "{DATABASE}"')  # a constant: names cannot be bound
                except Exception as e:
                    if sqlstate(e) != "42P04":  # created meanwhile by a concurrent start
                        raise
        finally:
            conn.close()
        return True

    # -- password file -----------------------------------------------------------------------

    def _read_password(self) -> str | None:
        try:
            password = self.password_file.read_text().strip()
        except FileNotFoundError:
            return None
        return password or None

    def _write_password(self, password: str) -> None:
        tmp = self.password_file.with_name(f".{self.password_file.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        tmp.replace(self.password_file)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Someone else's process: ours (or root's) only if we are root.
        if os.geteuid() != 0:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"  # a zombie is dead, only not yet reaped by its parent


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is `directory` (a postmaster and its backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == directory and _process_alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _service_user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SERVICE_USER)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    if Path(useradd).exists():
        result = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode not in (0, 9):  # 9: created meanwhile by a concurrent start
            log.warning("useradd %s failed: %s", SERVICE_USER, result.stderr.strip())
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SERVICE_USER)
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("nobody")
    raise PostgresError(
        f"running as root, and Postgres refuses root: create a system user {SERVICE_USER!r} "
        "(useradd --system pgserver), run as another user, or set DATABASE_URL"
    )


def _chown_tree(top: Path, run_as: _RunAs) -> None:
    os.chown(top, run_as.uid, run_as.gid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(Path(root, name), run_as.uid, run_as.gid, follow_symlinks=False)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)


def _ensure_searchable(path: Path, run_as: _RunAs) -> None:
    info = path.stat()
    if info.st_uid == run_as.uid:
        ok = info.st_mode & stat.S_IXUSR
    elif info.st_gid == run_as.gid:
        ok = info.st_mode & stat.S_IXGRP
    else:
        ok = info.st_mode & stat.S_IXOTH
    if not ok:
        log.info("allowing others to traverse %s (for the Postgres user)", path)
        _add_mode(path, stat.S_IXGRP | stat.S_IXOTH)
