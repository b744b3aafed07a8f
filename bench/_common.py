"""Shared by the benchmarks: percentiles, the machine line, and a local cloud to measure."""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventstream.db.credentials import DbCredentials
from localcloud.cloud import CloudConfig, LocalCloud
from tests.support import PROJECT_DIR, RunningCloud, free_port, free_udp_port, new_cloud

__all__ = [
    "PROJECT_DIR",
    "RunningCloud",
    "in_threads",
    "lambda_only_cloud",
    "machine",
    "migrated_database",
    "new_cloud",
    "percentile",
    "summary",
    "timed_requests",
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):.3f} ms  p99 {percentile(samples, 99):.3f} ms  "
        f"mean {statistics.fmean(samples):.3f} ms  n={len(samples)}"
    )


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"{mem_gib:.0f} GiB, Python {platform.python_version()}"
    )


@contextlib.contextmanager
def migrated_database(prefix: str) -> Iterator[tuple[DbCredentials, Path]]:
    """A new, migrated database (on DATABASE_URL's server, else an embedded Postgres) and a
    temporary folder; both gone afterwards."""
    from eventstream.db.connection import connect
    from eventstream.db.migrations import apply_migrations
    from localcloud.postgres import EmbeddedPostgres
    from tests.support import free_port

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        database_url = os.environ.get("DATABASE_URL")
        postgres = None
        if database_url:
            admin = DbCredentials.from_url(database_url)
        else:
            postgres = EmbeddedPostgres(Path(tmp) / "pgdata", port=free_port())
            postgres.start()
            admin = postgres.credentials
        name = f"bench_{uuid.uuid4().hex[:8]}"
        conn = connect(admin)
        conn.run(f'CREATE DATABASE "{name}"')
        conn.close()
        try:
            creds = DbCredentials(admin.host, admin.port, admin.username, admin.password, name)
            apply_migrations(creds, PROJECT_DIR / "infra" / "migrations")
            yield creds, Path(tmp)
        finally:
            conn = connect(admin)
            conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()
            if postgres is not None:
                postgres.stop()


async def lambda_only_cloud(tmp: Path) -> LocalCloud:
    """A started local cloud without the gateway (the Lambda side only), quiet, on free ports."""
    config = CloudConfig(
        templates=[PROJECT_DIR / "template.yaml"],
        state_dir=tmp / "state",
        lambda_port=free_port(),
        aws_port=free_port(),
        xray_port=free_udp_port(),
        db_port=free_port(),
    )
    cloud = LocalCloud(config, progress=lambda _line: None)
    await cloud.start(gateway=False)
    return cloud


def timed_requests(
    port: int, method: str, path: str, n: int, body: bytes | str | None = None
) -> list[float]:
    """Latencies (ms) of `n` requests one after another on one keep-alive connection; each must
    answer 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"} if body is not None else {}
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


def in_threads(count: int, work: Callable[[], list[float]]) -> tuple[list[float], float]:
    """`work` in `count` threads at once: all their samples, and samples per second overall."""
    results: list[list[float]] = [[] for _ in range(count)]

    def run(i: int) -> None:
        results[i] = work()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    flat = [s for r in results for s in r]
    return flat, len(flat) / elapsed
