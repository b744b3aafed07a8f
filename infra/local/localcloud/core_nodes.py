"""The local stand-in for the core's ECS service: N core nodes as processes on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from localcloud.ports import free_ports, port_problem


class CoreNodesError(Exception):
    """A core node cannot start; the message says why and where its log is."""


class CoreNode:
    """One `python -m eventstream_core` process, its address and log."""

    def __init__(
        self, index: int, host: str, port: int, log_path: Path, metrics_port: int = 0
    ) -> None:
        self.index = index
        self.host = host
        self.port = port
        self.log_path = log_path
        self.metrics_port = metrics_port  # its Prometheus /metrics; 0: none
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str | None:
        return f"http://{self.host}:{self.metrics_port}/metrics" if self.metrics_port else None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class CoreNodes:
    """Start nodes on consecutive ports, wait until each answers a ping, stop them with SIGTERM.

    SIGTERM is what ECS sends: a node stops accepting, commits what it queued, then exits.
    """

    def __init__(
        self,
        count: int,
        database_url: str,
        *,
        host: str = "127.0.0.1",
        ports: Sequence[int],
        log_dir: Path,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        metrics_ports: Sequence[int] | None = None,
    ) -> None:
        """metrics_ports: one per node (0: no /metrics); None picks free ones, so nodes on
        one machine never fight over the default 8081."""
        if count < 1 or len(ports) != count:
            raise CoreNodesError(f"{count} core nodes need {count} ports, got {list(ports)}")
        if metrics_ports is None:
            metrics_ports = free_ports(count, host)
        if len(metrics_ports) != count:
            raise CoreNodesError(f"{count} core nodes need {count} metrics ports")
        self.database_url = database_url
        self.args = list(args)
        self.env = dict(env or {})
        self.nodes = [
            CoreNode(i, host, port, log_dir / f"core-{i}.log", metrics)
            for i, (port, metrics) in enumerate(zip(ports, metrics_ports, strict=True))
        ]

    @property
    def addresses(self) -> str:
        """CORE_NODES for the functions: host:port,host:port."""
        return ",".join(node.address for node in self.nodes)

    def start(self, timeout_s: float = 30.0) -> None:
        for node in self.nodes:
            problem = port_problem(node.host, node.port)
            if problem is not None:
                raise CoreNodesError(f"core node {node.index}: {problem} (choose --core-port)")
            problem = node.metrics_port and port_problem(node.host, node.metrics_port)
            if problem:
                raise CoreNodesError(f"core node {node.index} metrics: {problem}")
        try:
            for node in self.nodes:
                self._spawn(node)
            deadline = time.monotonic() + timeout_s
            for node in self.nodes:
                self._wait_until_answering(node, deadline)
        except BaseException:
            self.stop()
            raise

    def start_node(self, node: CoreNode, timeout_s: float = 30.0) -> None:
        """Start one node again (after a test killed it)."""
        self._spawn(node)
        self._wait_until_answering(node, time.monotonic() + timeout_s)

    def _spawn(self, node: CoreNode) -> None:
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": self.database_url,
            "CORE_NODE_ID": f"core-{node.index}",
        }
        env.pop("DB_SECRET_ARN", None)  # the URL names the local database; a secret would win
        with node.log_path.open("ab") as log:
            node.proc = subprocess.Popen(
                [sys.executable, "-m", "eventstream_core", "--host", node.host,
                 "--port", str(node.port), "--metrics-port", str(node.metrics_port),
                 *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the cloud, which stops nodes in order
            )  # fmt: skip

    def _wait_until_answering(self, node: CoreNode, deadline: float) -> None:
        from eventstream.events.core_client import CoreClient, CoreError

        client = CoreClient([node.address], connect_timeout_s=0.5, request_timeout_s=1.0, retries=0)
        try:
            while True:
                assert node.proc is not None
                if node.proc.poll() is not None:
                    tail = node.log_path.read_text(errors="replace")[-2000:]
                    raise CoreNodesError(
                        f"core node {node.index} exited with status {node.proc.returncode} "
                        f"while starting:\n{tail}"
                    )
                try:
                    client.ping(node.address)
                    return
                except CoreError:
                    pass
                if time.monotonic() > deadline:
                    raise CoreNodesError(
                        f"core node {node.index} did not answer on {node.address}; "
                        f"see {node.log_path}"
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout_s: float = 30.0) -> dict[int, int | None]:
        """SIGTERM every node, wait for each to drain; kill what is still up. Exit codes."""
        for node in self.nodes:
            if node.is_running():
                assert node.proc is not None
                node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        codes: dict[int, int | None] = {}
        for node in self.nodes:
            if node.proc is None:
                continue
            try:
                codes[node.index] = node.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                codes[node.index] = node.proc.wait()
        return codes
