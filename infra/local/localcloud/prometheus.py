"""A real Prometheus (Debian's `prometheus` package) for the local cloud and the tests.

It scrapes the core nodes with infra/monitoring/prometheus.yml and accepts remote-write (as
Amazon Managed Prometheus does on AWS) on /api/v1/write.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from localcloud.lifecycle import ServerProcess, terminate
from localcloud.ports import port_problem

PROJECT_DIR = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = PROJECT_DIR / "infra" / "monitoring" / "prometheus.yml"


def write_local_config(path: Path, core_targets: list[str]) -> Path:
    """The shipped config, aimed at this machine's core nodes, for the local cloud's Prometheus.

    Locally the nodes remote-write their samples (as to Amazon Managed Prometheus on AWS), so
    the scrape keeps only `up` (the node-down alert): scraping the samples too would count
    every event twice in the rules' `sum by (node)`.
    """
    import yaml

    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    base = DEFAULT_CONFIG.parent
    config["rule_files"] = [str(base / pattern) for pattern in config.get("rule_files", [])]
    for job in config.get("scrape_configs", []):
        if job.get("job_name") != "eventstream-core":
            continue
        job["static_configs"] = [{"targets": core_targets, "labels": {"env": "local"}}]
        job.pop("file_sd_configs", None)
        job["metric_relabel_configs"] = [
            {"source_labels": ["__name__"], "regex": "eventstream_.*", "action": "drop"}
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class PrometheusError(Exception):
    """Prometheus cannot start; the message says why."""


def prometheus_binary() -> str | None:
    """The `prometheus` executable, if installed (`apt-get install prometheus`)."""
    return shutil.which("prometheus")


class PrometheusServer(ServerProcess):
    def __init__(
        self,
        storage_dir: Path,
        *,
        port: int = 9090,
        host: str = "127.0.0.1",
        config: Path = DEFAULT_CONFIG,
        log_path: Path | None = None,
        binary: str | None = None,
    ) -> None:
        self.storage_dir = storage_dir
        self.port = port
        self.host = host
        self.config = config
        self.log_path = log_path or storage_dir.parent / "prometheus.log"
        self.binary = binary or prometheus_binary()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start it and return once it reports ready."""
        if self.binary is None:
            raise PrometheusError("prometheus is not installed (apt-get install prometheus)")
        problem = port_problem(self.host, self.port)
        if problem is not None:
            raise PrometheusError(f"Prometheus: {problem}")
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.storage_dir}",
                    f"--web.listen-address={self.host}:{self.port}",
                    "--web.enable-remote-write-receiver",
                    "--storage.tsdb.retention.time=2d",  # a laptop's disk, not a server's
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the local cloud, which stops it
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise PrometheusError(f"prometheus exited with {self._proc.returncode}:\n{tail}")
            ready = f"{self.url}/-/ready"
            with contextlib.suppress(OSError), urllib.request.urlopen(ready, timeout=1.0) as resp:  # noqa: S310
                if resp.status == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise PrometheusError(f"prometheus not ready on {self.url} in {timeout_s:.0f} s")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        terminate(proc, timeout_s)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query through the HTTP API; its `data.result`."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5.0) as resp:  # noqa: S310 - our own server
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            raise PrometheusError(f"query {expr!r}: {e.read().decode(errors='replace')}") from e
        return list(body["data"]["result"])
