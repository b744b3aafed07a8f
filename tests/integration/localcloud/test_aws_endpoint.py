"""moto in server mode: secrets seeded idempotently, clear errors, and never an orphan."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from localcloud.aws_endpoint import AwsEndpointError, MotoServer, aws_client, seed_secret
from tests.conftest import REGION
from tests.support import PROJECT_DIR, free_port


def process_gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_seed_secret_creates_then_updates_under_the_same_arn(moto_server: MotoServer) -> None:
    name = f"eventstream/test/{time.monotonic_ns()}"
    arn = seed_secret(moto_server.endpoint_url, REGION, name, {"password": "one"})
    again = seed_secret(moto_server.endpoint_url, REGION, name, {"password": "two"})
    assert arn == again
    assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    client = aws_client("secretsmanager", moto_server.endpoint_url, REGION)
    value = client.get_secret_value(SecretId=arn)["SecretString"]
    assert json.loads(value) == {"password": "two"}


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AwsEndpointError, match=f"port {port}"):
            MotoServer("127.0.0.1", port).start()


def test_stop_reaps_the_server(tmp_path) -> None:
    server = MotoServer("127.0.0.1", free_port(), log_path=tmp_path / "moto.log")
    server.start()
    pid = server.pid
    assert pid is not None
    server.stop()
    server.stop()
    assert not server.is_running()
    assert process_gone(pid)


def test_the_server_ends_when_its_parent_is_killed() -> None:
    # The parent dies without running any cleanup; moto must not outlive it.
    script = (
        "import os, signal\n"
        "from localcloud.aws_endpoint import MotoServer\n"
        f"m = MotoServer('127.0.0.1', {free_port()})\n"
        "m.start()\n"
        "print(m.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    moto_pid = int(parent.stdout.split()[0])
    assert process_gone(moto_pid), "moto outlived the process that started it"
