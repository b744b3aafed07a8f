"""Helpers the test suites share: free ports, polling, and a real `eventstream local up` in a
subprocess."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from localcloud.ports import free_ports

PROJECT_DIR = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_DIR / "tests" / "fixtures"
EVENTSTREAM = str(Path(sys.executable).parent / "eventstream")
# The first admin's password in every test cloud (the local cloud reads it on first start).
ADMIN_PASSWORD = "test-admin-password-0123"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """The probe's first truthy answer; log delivery and the X-Ray daemon batch for a moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout_s} s from {probe}")
        time.sleep(0.2)


def damaged(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """`data` after each (position, byte, how) edit: how 0 replaces, 1 inserts, 2 deletes."""
    out = bytearray(data)
    for where, byte, how in edits:
        at = where % (len(out) + 1)
        if how == 0 and at < len(out):
            out[at] = byte
        elif how == 1:
            out.insert(at, byte)
        elif how == 2 and at < len(out):
            del out[at]
    return bytes(out)


def function_module(name: str) -> ModuleType:
    """functions/<name>/app.py as a module, for calling its handler as Lambda would."""
    path = PROJECT_DIR / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"{name}_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class LambdaContext:
    """The context object Lambda passes a handler (the attributes Powertools reads)."""

    function_name: str = "eventstream-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:eventstream-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/eventstream-test"
    log_stream_name: str = "2026/11/24/[$LATEST]0123456789abcdef"


def free_port() -> int:
    return free_ports(1)[0]


def free_udp_port() -> int:
    return free_ports(1, kind=socket.SOCK_DGRAM)[0]


@dataclass
class RunningCloud:
    """`eventstream local up` as a user runs it, with its console captured line by line."""

    state_dir: Path
    port: int
    lambda_port: int
    aws_port: int
    xray_port: int
    db_port: int
    templates: list[Path]
    prometheus_port: int = 0  # 0: `local up` starts no Prometheus
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of os.environ
    parameters: dict[str, str] = field(default_factory=dict)  # --parameter-overrides
    warm: bool = False  # --warm: every function's first environment starts before Ready
    xray_sampling: str = "default"  # --xray-sampling: "all" traces every request

    @property
    def console_path(self) -> Path:
        # A file, not a pipe: a reader thread in the measuring process would skew benchmarks.
        return self.state_dir.parent / "console.log"

    @property
    def lines(self) -> list[str]:
        try:
            return self.console_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lambda_url(self) -> str:
        return f"http://127.0.0.1:{self.lambda_port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def args(self) -> list[str]:
        args = [
            EVENTSTREAM,
            "local",
            "up",
            "--state-dir",
            str(self.state_dir),
            "--port",
            str(self.port),
            "--lambda-port",
            str(self.lambda_port),
            "--aws-port",
            str(self.aws_port),
            "--xray-port",
            str(self.xray_port),
            "--core-port",
            "0",  # free ports: clouds of tests running side by side must not collide
            "--db-port",
            str(self.db_port),
            "--prometheus-port",
            str(self.prometheus_port),
            "--api-key",
            "test-api-key-0123456789",
            "--xray-sampling",
            self.xray_sampling,
        ]
        for template in self.templates:
            args += ["--template", str(template)]
        if self.warm:
            args.append("--warm")
        if self.parameters:
            args += ["--parameter-overrides", *(f"{k}={v}" for k, v in self.parameters.items())]
        return args

    def start(self, timeout_s: float = 90.0) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.setdefault("EVENTSTREAM_ADMIN_PASSWORD", ADMIN_PASSWORD)
        env.update(self.env)
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.console_path.open("wb") as console:
            self.proc = subprocess.Popen(
                self.args(), cwd=PROJECT_DIR, env=env, stdout=console, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(line.startswith("Ready in") for line in self.lines):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("local up exited early:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("local up not ready in time:\n" + "\n".join(self.lines))

    def output_since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def wait_for_line(self, pattern: str, since: int = 0, timeout_s: float = 10.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines[since:]:
                if regex.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(
            f"no line matching {pattern!r}; got:\n" + "\n".join(self.lines[since:])
        )

    def stop(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C, as a developer stops it."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def new_cloud(state_dir: Path, templates: list[Path] | None = None) -> RunningCloud:
    return RunningCloud(
        state_dir=state_dir,
        port=free_port(),
        lambda_port=free_port(),
        aws_port=free_port(),
        xray_port=free_udp_port(),
        db_port=free_port(),
        templates=templates or [PROJECT_DIR / "template.yaml", FIXTURES / "template.yaml"],
    )
