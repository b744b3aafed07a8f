"""A core node's settings: command-line flags over environment variables over defaults."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"  # local; the ECS task definition sets CORE_HOST=0.0.0.0
DEFAULT_PORT = 7070
DEFAULT_METRICS_PORT = 8081  # the seed's Prometheus port


@dataclass(frozen=True)
class CoreConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    node_id: str = ""
    queue_capacity: int = 100_000
    # Payload characters queued or being committed: events are counted by the C queue, bytes
    # here, so 100,000 events of 256 KiB cannot take 25 GiB.
    queue_max_bytes: int = 256 * 1024 * 1024
    writers: int = 2
    batch_size: int = 1000
    # How long a writer waits to fill a batch once it has one event. 0: commit what is there;
    # under load a batch is what queued during the previous commit anyway (measured: a lone
    # event's ack p50 4.4 ms with 1 ms, 2.6 ms with 0, and no loss of throughput).
    batch_max_wait_ms: float = 0.0
    shutdown_timeout_s: float = 30.0  # ECS gives 30 s between SIGTERM and SIGKILL by default
    metrics_port: int = DEFAULT_METRICS_PORT  # GET /metrics; 0 serves none
    remote_write_url: str = ""  # Prometheus remote-write endpoint; empty pushes nothing
    remote_write_interval_s: float = 15.0
    # SigV4 for Amazon Managed Prometheus: a region signs the pushes with the task role.
    remote_write_sigv4_region: str = ""
    remote_write_sigv4_service: str = "aps"

    @property
    def effective_node_id(self) -> str:
        return self.node_id or f"{socket.gethostname()}:{self.port}"


def _positive(kind: type, name: str) -> object:
    def parse(raw: str) -> object:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {raw!r}") from None
        if value < 0 or (kind is int and value == 0 and not name.endswith("port")):
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {raw!r}")
        return value

    return parse


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> CoreConfig:
    env = os.environ if env is None else env
    d = CoreConfig()

    def default(name: str, fallback: object) -> object:
        return env.get(name) or fallback

    p = argparse.ArgumentParser(
        prog="eventstream-core",
        description="An EventStream core node. The database comes from DB_SECRET_ARN or "
        "DATABASE_URL, as for the functions.",
    )
    p.add_argument("--host", default=default("CORE_HOST", d.host))
    p.add_argument("--port", type=_positive(int, "port"), default=default("CORE_PORT", d.port))
    p.add_argument("--node-id", default=default("CORE_NODE_ID", d.node_id))
    p.add_argument(
        "--queue-capacity",
        type=_positive(int, "queue capacity"),
        default=default("CORE_QUEUE_CAPACITY", d.queue_capacity),
    )
    p.add_argument(
        "--queue-max-bytes",
        type=_positive(int, "queue max bytes"),
        default=default("CORE_QUEUE_MAX_BYTES", d.queue_max_bytes),
    )
    p.add_argument(
        "--writers", type=_positive(int, "writers"), default=default("CORE_WRITERS", d.writers)
    )
    p.add_argument(
        "--batch-size",
        type=_positive(int, "batch size"),
        default=default("CORE_BATCH_SIZE", d.batch_size),
    )
    p.add_argument(
        "--batch-max-wait-ms",
        type=_positive(float, "batch max wait"),
        default=default("CORE_BATCH_MAX_WAIT_MS", d.batch_max_wait_ms),
    )
    p.add_argument(
        "--shutdown-timeout-s",
        type=_positive(float, "shutdown timeout"),
        default=default("CORE_SHUTDOWN_TIMEOUT_S", d.shutdown_timeout_s),
    )
    p.add_argument(
        "--metrics-port",
        type=_positive(int, "metrics port"),
        default=default("CORE_METRICS_PORT", d.metrics_port),
        help="Prometheus /metrics port (0: none)",
    )
    p.add_argument("--remote-write-url", default=default("CORE_REMOTE_WRITE_URL", ""))
    p.add_argument(
        "--remote-write-interval-s",
        type=_positive(float, "remote-write interval"),
        default=default("CORE_REMOTE_WRITE_INTERVAL_S", d.remote_write_interval_s),
    )
    p.add_argument(
        "--remote-write-sigv4-region", default=default("CORE_REMOTE_WRITE_SIGV4_REGION", "")
    )
    p.add_argument(
        "--remote-write-sigv4-service",
        default=default("CORE_REMOTE_WRITE_SIGV4_SERVICE", d.remote_write_sigv4_service),
    )
    a = p.parse_args(argv)
    if not float(a.remote_write_interval_s):
        p.error("remote-write interval must be positive")
    return CoreConfig(
        host=a.host,
        port=int(a.port),
        node_id=a.node_id,
        queue_capacity=int(a.queue_capacity),
        queue_max_bytes=int(a.queue_max_bytes),
        writers=int(a.writers),
        batch_size=int(a.batch_size),
        batch_max_wait_ms=float(a.batch_max_wait_ms),
        shutdown_timeout_s=float(a.shutdown_timeout_s),
        metrics_port=int(a.metrics_port),
        remote_write_url=a.remote_write_url,
        remote_write_interval_s=float(a.remote_write_interval_s),
        remote_write_sigv4_region=a.remote_write_sigv4_region,
        remote_write_sigv4_service=a.remote_write_sigv4_service,
    )
