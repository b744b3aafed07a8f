"""Shared by the benchmarks: percentiles, the machine line, and a local cloud to measure."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventstream.db.credentials import DbCredentials
from localcloud.cloud import CloudConfig, LocalCloud
from tests.support import PROJECT_DIR, RunningCloud, free_port, free_udp_port, new_cloud

__all__ = [
    "PROJECT_DIR",
    "KeepAliveClient",
    "RunningCloud",
    "encode_request",
    "in_threads",
    "interleaved",
    "lambda_only_cloud",
    "machine",
    "migrated_database",
    "new_cloud",
    "percentile",
    "response_frame",
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


def encode_request(
    method: str,
    host: str,
    path: str,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes on the wire (a JSON body when there is one)."""
    data = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def response_frame(buffer: bytes | bytearray) -> tuple[int, int] | None:
    """(status, size of the whole answer) once `buffer` starts with a complete answer, else None.

    The benchmarks' clients share the two cores with what they measure, so they read only the
    status line and Content-Length: http.client parses every header with the email package,
    about 0.2 ms of CPU an answer here, which would count as the gateway's overhead.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    if "transfer-encoding" in fields:
        raise RuntimeError("the benchmarks' clients read Content-Length answers only")
    size = end + 4 + int(fields.get("content-length", "0"))
    if len(buffer) < size:
        return None
    return int(head[0].split(" ", 2)[1]), size


class KeepAliveClient:
    """One keep-alive connection, kept across calls; requests encoded before the clock starts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()

    def timed(self, method: str, path: str, n: int, body: bytes | str | None = None) -> list[float]:
        """Latencies (ms) of `n` requests one after another; each must answer 200."""
        request = encode_request(method, f"127.0.0.1:{self.port}", path, body)
        buffer, sock = self._buffer, self.sock
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            sock.sendall(request)
            while (frame := response_frame(buffer)) is None:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            samples.append((time.perf_counter() - t0) * 1000)
            status, size = frame
            assert status == 200, (status, bytes(buffer[:size])[-200:])
            del buffer[:size]
        return samples

    def close(self) -> None:
        self.sock.close()


def timed_requests(
    port: int, method: str, path: str, n: int, body: bytes | str | None = None
) -> list[float]:
    """Latencies (ms) of `n` requests on one new keep-alive connection; each must answer 200."""
    client = KeepAliveClient(port)
    try:
        return client.timed(method, path, n, body)
    finally:
        client.close()


def interleaved(n: int, block: int, *series: Callable[[int], list[float]]) -> list[list[float]]:
    """`n` samples of each series, taken `block` at a time in turn. The VM's speed drifts from
    second to second; a baseline measured before or after what it is compared with would see
    another machine."""
    out: list[list[float]] = [[] for _ in series]
    while len(out[0]) < n:
        k = min(block, n - len(out[0]))
        for samples, take in zip(out, series, strict=True):
            samples.extend(take(k))
    return out


def in_threads(count: int, work: Callable[[int], list[float]]) -> tuple[list[float], float]:
    """`work(i)` in threads i = 0..count-1 at once: all their samples, and samples per second
    overall."""
    results: list[list[float]] = [[] for _ in range(count)]

    def run(i: int) -> None:
        results[i] = work(i)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    flat = [s for r in results for s in r]
    return flat, len(flat) / elapsed
