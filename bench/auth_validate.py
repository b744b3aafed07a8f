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

from tests.support import ADMIN_PASSWORD


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
            port, validate = cloud.port, "/auth/token/validate"
            timed_requests(port, "POST", validate, 100, body)  # warm-up
            timed_requests(port, "GET", "/.well-known/jwks.json", 100)
            client = KeepAliveClient(port)
            base, c1 = interleaved(
                n,
                100,
                lambda k: client.timed("GET", "/.well-known/jwks.json", k),
                lambda k: client.timed("POST", validate, k, body),
            )
            client.close()
            c8, rps8 = in_threads(8, lambda _: timed_requests(port, "POST", validate, n // 8, body))
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
