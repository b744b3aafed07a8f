"""Warm overhead of the local gateway + runtime on GET /v1/health.

Figure: p50/p99 of the request through the local cloud (HTTP, gateway, Runtime API, worker)
minus the same handler called in-process on the same Postgres, at concurrency 1 and 8.
Usage: python bench/gateway_overhead.py [--requests N]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import PROJECT_DIR, machine, new_cloud, percentile, summary


def through_gateway(port: int, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("GET", "/v1/health")
        resp = conn.getresponse()
        resp.read()
        samples.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, resp.status
    conn.close()
    return samples


def concurrent(port: int, threads: int, per_thread: int) -> tuple[list[float], float]:
    results: list[list[float]] = [[] for _ in range(threads)]

    def work(i: int) -> None:
        results[i] = through_gateway(port, per_thread)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    flat = [s for r in results for s in r]
    return flat, len(flat) / elapsed


def loopback_round_trips(n: int) -> list[float]:
    """The machine's own floor: one small TCP round trip between two processes."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    pid = os.fork()
    if pid == 0:  # the echoing peer
        peer = socket.create_connection(server.getsockname())
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := peer.recv(256):
            peer.sendall(data)
        os._exit(0)
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.sendall(b"x" * 64)
        conn.recv(256)
        samples.append((time.perf_counter() - t0) * 1000)
    conn.close()
    server.close()
    os.waitpid(pid, 0)
    return samples


def in_process(secret_arn: str, aws_endpoint: str, n: int) -> list[float]:
    """The baseline: the very handler, imported here and called directly."""
    os.environ.update(
        {
            "DB_SECRET_ARN": secret_arn,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    sys.path.insert(0, str(PROJECT_DIR / "layers" / "common"))
    spec = importlib.util.spec_from_file_location(
        "health_app", PROJECT_DIR / "functions/health/app.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((PROJECT_DIR / "events" / "health_get.json").read_text())
    module.handler(event, None)  # warm: connection and secret cached, as in a warm worker
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = module.handler(event, None)
        samples.append((time.perf_counter() - t0) * 1000)
        assert resp["statusCode"] == 200
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        cloud = new_cloud(Path(tmp) / "state", [PROJECT_DIR / "template.yaml"])
        cloud.start()
        try:
            state = json.loads((cloud.state_dir / "cloud.json").read_text())
            secret_arn = _secret_arn(cloud.aws_endpoint_url)
            through_gateway(cloud.port, 50)  # warm-up: cold start, connection, secret cache
            base = in_process(secret_arn, state["aws_endpoint_url"], n)
            c1 = through_gateway(cloud.port, n)
            c8, rps8 = concurrent(cloud.port, 8, n // 8)
        finally:
            cloud.stop()
    floor = loopback_round_trips(n)
    print(f"machine: {machine()}")
    print(f"machine floor, 1 loopback round trip: {summary(floor)}")
    print(f"baseline in-process handler:      {summary(base)}")
    print(f"through local cloud, conc 1:      {summary(c1)}")
    over50 = percentile(c1, 50) - percentile(base, 50)
    over99 = percentile(c1, 99) - percentile(base, 99)
    print(
        f"overhead at concurrency 1:        p50 {over50:.3f} ms  p99 {over99:.3f} ms  "
        f"(ratio p99 {percentile(c1, 99) / percentile(base, 99):.2f}x)"
    )
    print(f"through local cloud, conc 8:      {summary(c8)}  {rps8:.0f} req/s")
    print(
        f"overhead at concurrency 8:        p99 {percentile(c8, 99) - percentile(base, 99):.3f} ms"
    )


def _secret_arn(endpoint: str) -> str:
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client.describe_secret(SecretId="eventstream/dev/database")["ARN"]


if __name__ == "__main__":
    main()
