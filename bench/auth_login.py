"""POST /auth/login through the local cloud, warm: p50/p99 with argon2id at the shipped parameters.

Target: p99 <= 50 ms. Baseline in the same run: one argon2id verification in-process at the same
parameters (the floor a login cannot go under); the ratio is what the route adds around it
(gateway, runtime, Postgres reads and writes, token signing, the audit entry).
Usage: python bench/auth_login.py [--requests N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import PROJECT_DIR, machine, new_cloud, percentile, summary, timed_requests

from eventstream.auth import passwords
from tests.support import ADMIN_PASSWORD


def argon2_alone(n: int) -> list[float]:
    stored = passwords.hash_password(ADMIN_PASSWORD)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert passwords.verify_password(stored, ADMIN_PASSWORD).ok
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    n = parser.parse_args().requests
    base = argon2_alone(n)
    with tempfile.TemporaryDirectory() as tmp:
        cloud = new_cloud(Path(tmp) / "state", [PROJECT_DIR / "template.yaml"])
        cloud.start()
        try:
            body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD})
            # Warm-up: the cold start, the key set.
            timed_requests(cloud.port, "POST", "/auth/login", 20, body)
            routed = timed_requests(cloud.port, "POST", "/auth/login", n, body)
        finally:
            cloud.stop()
    params = (
        f"m={passwords.MEMORY_COST_KIB} KiB, t={passwords.TIME_COST}, p={passwords.PARALLELISM}"
    )
    print(f"machine: {machine()}")
    print(f"argon2id parameters: {params}")
    print(f"baseline argon2id verify in-process: {summary(base)}")
    print(f"POST /auth/login through local cloud: {summary(routed)}")
    print(
        f"ratio p50 {percentile(routed, 50) / percentile(base, 50):.2f}x  "
        f"p99 {percentile(routed, 99) / percentile(base, 99):.2f}x   "
        f"target p99 <= 50 ms: {'met' if percentile(routed, 99) <= 50 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
