"""A real node's Prometheus metrics: /metrics passes promtool; remote-write lands in Prometheus."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from eventstream.events.core_client import CoreClient, CoreRejected, Event
from localcloud.prometheus import PrometheusServer
from tests.support import free_port


def _scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - the test's own node
        return resp.headers["Content-Type"], resp.read().decode()


def _samples(text: str) -> dict[str, float]:
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_metrics_pass_promtool_and_count_what_was_stored(start_core, prometheus_binary) -> None:
    nodes = start_core(1)
    node = nodes.nodes[0]
    client = CoreClient(nodes.addresses)
    try:
        client.publish_batch([Event("metrics/t", {"i": i}) for i in range(5)])
        client.publish("metrics/t", {"i": 5}, idempotency_key="k")
        client.publish("metrics/t", {"i": 5}, idempotency_key="k")  # a duplicate: not counted
    finally:
        client.close()
    assert node.metrics_url is not None
    content_type, text = _scrape(node.metrics_url)
    assert content_type.startswith("text/plain; version=0.0.4")
    promtool = shutil.which("promtool", path=str(Path(prometheus_binary).parent))
    assert promtool is not None
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    samples = _samples(text)
    assert samples['eventstream_events_total{node="core-0"}'] == 6
    assert samples['eventstream_latency_seconds_count{node="core-0"}'] == 7  # every ack
    assert samples['eventstream_latency_seconds_bucket{node="core-0",le="+Inf"}'] == 7
    assert samples['eventstream_latency_seconds_sum{node="core-0"}'] > 0
    assert samples['eventstream_queue_depth{node="core-0"}'] == 0
    assert 0 <= samples['eventstream_worker_utilization{node="core-0"}'] <= 1
    for metric in ("events_total", "latency_seconds", "queue_depth", "worker_utilization"):
        assert f"# TYPE eventstream_{metric} " in text
    assert "# TYPE eventstream_errors_total counter" in text


def test_errors_are_counted_by_type(start_core) -> None:
    nodes = start_core(1)
    client = CoreClient(nodes.addresses)
    try:
        for _ in range(2):
            with pytest.raises(CoreRejected):
                client.publish("bad topic!", {"i": 0})
    finally:
        client.close()
    _, text = _scrape(nodes.nodes[0].metrics_url or "")
    errors = {k: v for k, v in _samples(text).items() if k.startswith("eventstream_errors_total")}
    assert errors == {'eventstream_errors_total{node="core-0",type="invalid"}': 2}


def test_a_node_remote_writes_its_counters_to_prometheus(
    start_core, prometheus: PrometheusServer
) -> None:
    nodes = start_core(
        1, "--remote-write-url", prometheus.remote_write_url, "--remote-write-interval-s", "0.2"
    )
    client = CoreClient(nodes.addresses)
    try:
        client.publish_batch([Event("rw/t", {"i": i}) for i in range(9)])
    finally:
        client.close()
    deadline = time.monotonic() + 20
    while True:
        found = prometheus.query('eventstream_events_total{node="core-0"}')
        values = [float(r["value"][1]) for r in found]
        if values == [9.0] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert values == [9.0]
    buckets = prometheus.query('eventstream_latency_seconds_bucket{node="core-0",le="+Inf"}')
    assert [float(r["value"][1]) for r in buckets] == [9.0]


def test_a_taken_metrics_port_stops_the_node_with_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "eventstream_core", "--port", str(free_port()),
             "--metrics-port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert run.returncode == 2
    assert "cannot listen:" in run.stderr
    assert f"('127.0.0.1', {port})" in run.stderr  # the address that was taken
