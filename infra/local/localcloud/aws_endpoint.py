"""The local AWS endpoint: moto in server mode (Secrets Manager, Logs, X-Ray, SNS, SQS, ...).

moto keeps everything in memory, so what the local cloud needs there (secrets) is seeded again at
every start.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud.lifecycle import ServerProcess, terminate
from localcloud.ports import port_problem
from localcloud.priority import AWS_ENDPOINT_NICENESS

# Fake keys: moto accepts any, and a developer's real ones must never be picked up by accident.
LOCAL_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}

# `python -m moto.server ...` below request serving's priority, plus a thread that ends the
# server when the read end of a pipe reaches EOF: the parent's end closes however the parent
# dies (even SIGKILL), so no orphan; the thread that stores function output in CloudWatch
# Logs (localcloud.runtime.log_delivery) from a second pipe; and the one that keeps the X-Ray
# daemon's segments for moto's X-Ray service (localcloud.xray_store) from a third.
_BOOTSTRAP = f"""\
import functools, os, sys, threading
from localcloud.priority import lower_priority
lower_priority({AWS_ENDPOINT_NICENESS})
watch_fd, logs_fd, xray_fd = (int(sys.argv.pop(1)) for _ in range(3))
region = sys.argv.pop(1)
def watch():
    try:
        while os.read(watch_fd, 1):
            pass
    finally:
        os._exit(0)
threading.Thread(target=watch, daemon=True).start()
import moto.backends
# moto lists and stats its ~180 package folders twice per request to route it (moto 5.2): half
# of its CPU per PutLogEvents or PutTraceSegments. The folders do not change while it runs.
moto.backends.list_of_moto_modules = functools.cache(
    lambda list_modules=moto.backends.list_of_moto_modules: tuple(list_modules())
)
from moto.server import main
# Before the delivery threads start: a thread importing moto while this one does can fail.
import moto.xray.models
from localcloud.runtime.log_delivery import deliver
threading.Thread(target=deliver, args=(logs_fd, region), daemon=True).start()
from localcloud import xray_store
threading.Thread(target=xray_store.deliver, args=(xray_fd, region), daemon=True).start()
main(sys.argv[1:])
"""


class AwsEndpointError(Exception):
    """moto cannot start on the requested address; the message says what to do about it."""


class MotoServer(ServerProcess):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        log_path: Path | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.host = host
        self.port = int(port)
        self.log_path = log_path
        self.region = region  # where what is written to `logs_fd` and `xray_fd` is stored
        self._proc: subprocess.Popen[bytes] | None = None
        self._watch_fd: int | None = None
        # Write end of the pipe to the delivery thread: lines made by log_delivery.entry.
        self.logs_fd: int | None = None
        # Write end of the pipe for X-Ray segment documents, one a line (the X-Ray daemon's).
        self.xray_fd: int | None = None

    def __repr__(self) -> str:
        return f"MotoServer({self.host!r}, {self.port})"

    @property
    def endpoint_url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start moto and return once it answers HTTP."""
        if self.is_running():
            return
        self._check_port_free()
        read_fd, write_fd = os.pipe()
        logs_read_fd, logs_write_fd = os.pipe()
        xray_read_fd, xray_write_fd = os.pipe()
        log_offset = 0
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = {**os.environ, "MOTO_PORT": str(self.port)}  # moto builds its own URLs from it
        try:
            with open(self.log_path or os.devnull, "ab") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _BOOTSTRAP, str(read_fd), str(logs_read_fd),
                     str(xray_read_fd), self.region, "-H", self.host, "-p", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(read_fd, logs_read_fd, xray_read_fd),
                    env=env,
                    # Ctrl-C in a terminal reaches the local cloud, which stops moto in order.
                    start_new_session=True,
                )  # fmt: skip
        except BaseException:
            for fd in (write_fd, logs_write_fd, xray_write_fd):
                os.close(fd)
            raise
        finally:
            for fd in (read_fd, logs_read_fd, xray_read_fd):
                os.close(fd)
        self._watch_fd = write_fd
        self.logs_fd = logs_write_fd
        self.xray_fd = xray_write_fd
        try:
            self._wait_until_answering(timeout_s, log_offset)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop moto and reap it; kills it if it does not exit in time. Safe to call twice."""
        proc, self._proc = self._proc, None
        for fd in (self._watch_fd, self.logs_fd, self.xray_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._watch_fd = self.logs_fd = self.xray_fd = None
        terminate(proc, timeout_s)

    def _check_port_free(self) -> None:
        problem = port_problem(self.host, self.port)
        if problem is not None:
            raise AwsEndpointError(self._explain(problem)) from None

    def _port_in_use(self) -> str:
        return self._explain(f"port {self.port} on {self.host} is in use by another program")

    def _explain(self, problem: str) -> str:
        if "in use" not in problem:
            return problem
        return (
            problem + " (LocalStack?): stop it or choose another port "
            "(--aws-port / EVENTSTREAM_AWS_PORT)"
        )

    def _wait_until_answering(self, timeout_s: float, log_offset: int) -> None:
        deadline = time.monotonic() + timeout_s
        url = f"{self.endpoint_url}/moto-api/"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                tail = self._log_since(log_offset)
                if "Address already in use" in tail:
                    raise AwsEndpointError(self._port_in_use())
                raise AwsEndpointError(
                    f"moto exited with status {self._proc.returncode} while starting"
                    + (f":\n{tail[-2000:]}" if tail else "")
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0):  # noqa: S310 (our own http URL)
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AwsEndpointError(
                    f"moto did not answer on {self.endpoint_url} in {timeout_s:.0f} s"
                )
            time.sleep(0.05)

    def _log_since(self, offset: int) -> str:
        if self.log_path is None:
            return ""
        try:
            with self.log_path.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""


def aws_client(service: str, endpoint_url: str, region: str, *, validate: bool = True) -> Any:
    """A boto3 client for the local endpoint, with the fake keys and short timeouts.

    `validate=False` skips botocore's client-side check of every field, for the X-Ray daemon,
    whose requests our own code builds: the check is CPU taken from the cores the requests need
    (it was 37% of the old log shipper's, on the same kind of batched request).
    """
    import boto3  # here: ~150 ms, and only the local cloud's AWS side needs it
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"max_attempts": 2},
        parameter_validation=validate,
    )
    return boto3.session.Session().client(
        service, endpoint_url=endpoint_url, region_name=region, config=config, **LOCAL_CREDENTIALS
    )


def seed_secret(endpoint_url: str, region: str, name: str, value: Mapping[str, Any] | str) -> str:
    """Create the secret, or store a new value in it if it exists; its ARN."""
    client = aws_client("secretsmanager", endpoint_url, region)
    text = value if isinstance(value, str) else json.dumps(dict(value))
    try:
        return str(client.create_secret(Name=name, SecretString=text)["ARN"])
    except client.exceptions.ResourceExistsException:
        return str(client.put_secret_value(SecretId=name, SecretString=text)["ARN"])
