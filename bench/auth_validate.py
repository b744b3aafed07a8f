"""POST /auth/token/validate through the local cloud, warm: p50/p99 and req/s.

Target (the seed's auth service): p99 <= 3 ms. Baseline in the same run: the same requests to a
route with no token work at all (GET /.well-known/jwks.json, served from the cached key set), so
the ratio isolates what validation itself costs on top of the gateway and runtime.
Usage: python bench/auth_validate.py [--requests N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import threading
import time
from pathlib import Path

from _common import PROJECT_DIR, machine, new_cloud, percentile, summary

from tests.support import ADMIN_PASSWORD


def timed(port: int, method: str, path: str, body: bytes | None, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        samples.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, (resp.status, payload[:200])
    conn.close()
    return samples


def concurrent(port: int, body: bytes, threads: int, per_thread: int) -> tuple[list[float], float]:
    results: list[list[float]] = [[] for _ in range(threads)]

    def work(i: int) -> None:
        results[i] = timed(port, "POST", "/auth/token/validate", body, per_thread)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    flat = [s for r in results for s in r]
    return flat, len(flat) / (time.perf_counter() - t0)


def login(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD})
    conn.request("POST", "/auth/login", body=body, headers={"Content-Type": "application/json"})
    return json.loads(conn.getresponse().read())["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        cloud = new_cloud(Path(tmp) / "state", [PROJECT_DIR / "template.yaml"])
        cloud.start()
        try:
            body = json.dumps({"token": login(cloud.port)}).encode()
            timed(cloud.port, "POST", "/auth/token/validate", body, 100)  # warm-up
            timed(cloud.port, "GET", "/.well-known/jwks.json", None, 100)
            base = timed(cloud.port, "GET", "/.well-known/jwks.json", None, n)
            c1 = timed(cloud.port, "POST", "/auth/token/validate", body, n)
            c8, rps8 = concurrent(cloud.port, body, 8, n // 8)
        finally:
            cloud.stop()
    print(f"machine: {machine()}")
    print(f"baseline GET /.well-known/jwks.json, conc 1: {summary(base)}")
    print(f"POST /auth/token/validate, conc 1:          {summary(c1)}")
    print(
        f"ratio validate/baseline:  p50 {percentile(c1, 50) / percentile(base, 50):.2f}x  "
        f"p99 {percentile(c1, 99) / percentile(base, 99):.2f}x   "
        f"target p99 <= 3 ms: {'met' if percentile(c1, 99) <= 3 else 'NOT met'}"
    )
    print(f"POST /auth/token/validate, conc 8:          {summary(c8)}  {rps8:.0f} req/s")


if __name__ == "__main__":
    main()
