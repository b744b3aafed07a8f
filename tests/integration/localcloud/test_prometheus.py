"""The local cloud's Prometheus: optional, so a taken port is a warning, not a failed start."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import yaml

from localcloud.cloud import CloudConfig, LocalCloud
from localcloud.prometheus import write_local_config
from tests.support import PROJECT_DIR, free_port


def test_a_taken_port_leaves_prometheus_out_with_a_warning(
    prometheus_binary: str, tmp_path: Path
) -> None:
    lines: list[str] = []
    port = free_port()
    config = CloudConfig([PROJECT_DIR / "template.yaml"], tmp_path, prometheus_port=port)
    cloud = LocalCloud(config, progress=lines.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        cloud._start_prometheus()
    assert cloud.prometheus is None
    assert lines == [
        f"  prometheus   not started: Prometheus: port {port} on 127.0.0.1 is in use by another "
        "program (--prometheus-port chooses another)"
    ]


def test_the_local_config_passes_promtool_and_scrapes_only_up(
    prometheus_binary: str, tmp_path: Path
) -> None:
    path = write_local_config(tmp_path / "prometheus.yml", ["127.0.0.1:18081", "127.0.0.1:18082"])
    promtool = shutil.which("promtool", path=str(Path(prometheus_binary).parent))
    assert promtool is not None
    check = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 1 rule files found" in check.stdout + check.stderr  # the shipped rules
    [job] = yaml.safe_load(path.read_text())["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:18081", "127.0.0.1:18082"]
    assert job["metric_relabel_configs"][0]["action"] == "drop"
