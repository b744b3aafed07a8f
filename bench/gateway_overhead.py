"""Warm overhead of the local gateway + runtime on GET /v1/health.

Figure: p50/p99 of the request through the local cloud (HTTP, gateway, Runtime API, worker)
minus the same handler called in-process on the same Postgres, at concurrency 1 and 8.
Usage: python bench/gateway_overhead.py [--requests N]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import (
    PROJECT_DIR,
    KeepAliveClient,
    in_threads,
    interleaved,
    machine,
    new_cloud,
    percentile,
    summary,
    timed_requests,
)

from localcloud.sampling import Sampler
from tests.support import LambdaContext, function_module


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


def worker_environment(function_dir: str) -> dict[str, str]:
    """The environment of the running worker for functions/<function_dir>: Powertools, secret
    and X-Ray daemon address as the handler sees them in the local cloud."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            worker = b"localcloud.runtime.lambda_python" in cmdline
            if worker and os.readlink(proc / "cwd").endswith(function_dir):
                pairs = (proc / "environ").read_bytes().split(b"\0")
                env = dict(p.decode().split("=", 1) for p in pairs if b"=" in p)
                env.pop("AWS_LAMBDA_RUNTIME_API", None)
                return env
        except OSError:
            continue
    raise RuntimeError(f"no running worker for functions/{function_dir}")


def in_process() -> Callable[[int], list[float]]:
    """The baseline: the very handler, imported here and called directly with the worker's
    environment (so Powertools logs, traces and flushes metrics as it does there), traced when
    the local cloud's default sampling would trace the request. Returns: take k samples."""
    os.environ.update(worker_environment("functions/health"))
    sys.path.insert(0, str(PROJECT_DIR / "layers" / "common"))
    event = json.loads((PROJECT_DIR / "events" / "health_get.json").read_text())
    context = LambdaContext(function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    sink = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    with contextlib.redirect_stdout(sink):
        module = function_module("health")
        module.handler(event, context)  # warm: connection and secret cached, as in a warm worker
    sampler = Sampler()
    calls = itertools.count()

    def take(k: int) -> list[float]:
        samples = []
        # Powertools writes a log line and an EMF line per call, as the worker does to its pipe.
        with contextlib.redirect_stdout(sink):
            for _ in range(k):
                sampled = int(sampler.sample())
                os.environ["_X_AMZN_TRACE_ID"] = (
                    f"Root=1-{int(time.time()):08x}-{next(calls):024x};Sampled={sampled}"
                )
                t0 = time.perf_counter()
                resp = module.handler(event, context)
                samples.append((time.perf_counter() - t0) * 1000)
                assert resp["statusCode"] == 200
        return samples

    return take


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    n = args.requests
    with tempfile.TemporaryDirectory() as tmp:
        cloud = new_cloud(Path(tmp) / "state", [PROJECT_DIR / "template.yaml"])
        cloud.start()
        try:
            port = cloud.port
            timed_requests(port, "GET", "/v1/health", 50)  # warm-up: cold start, secret cache
            client = KeepAliveClient(port)
            base, c1 = interleaved(
                n, 100, in_process(), lambda k: client.timed("GET", "/v1/health", k)
            )
            client.close()
            c8, rps8 = in_threads(8, lambda _: timed_requests(port, "GET", "/v1/health", n // 8))
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


if __name__ == "__main__":
    main()
