"""What tracing and metrics cost POST /v1/events through the whole local cloud (target <= 10 %).

Two local clouds from the same template run side by side; requests alternate between them, one
at a time, so drift in the machine hits both alike.
  on:  as shipped, but with `--xray-sampling all`: the gateway, the Lambda service, Powertools
       and the core record X-Ray segments for every request; Powertools writes EMF; the core
       serves /metrics and remote-writes to a real Prometheus (when installed) every 5 s.
  off: PowertoolsObservabilityDisabled=true (POWERTOOLS_TRACE_DISABLED and
       POWERTOOLS_METRICS_DISABLED in every function), and each request carries
       `X-Amzn-Trace-Id: …;Sampled=0`, so no hop records a segment; no Prometheus.
Figure: p50/p99 of each and the ratio on/off. Usage:
  python bench/observability_overhead.py [--requests N] [--warmup N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import httpx
from _common import PROJECT_DIR, RunningCloud, machine, new_cloud, percentile
from events_publish_load import setup_users

from localcloud.prometheus import prometheus_binary
from tests.support import free_port


def unsampled_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Sampled=0"


def publish(client: httpx.Client, headers: dict[str, str], i: int, traced: bool) -> float:
    body = {"topic": f"bench/t{i % 16}", "payload": {"i": i, "pad": "x" * 64}}
    extra = {} if traced else {"X-Amzn-Trace-Id": unsampled_header()}
    started = time.perf_counter()
    r = client.post("/v1/events", json=body, headers={**headers, **extra})
    ms = (time.perf_counter() - started) * 1000
    if r.status_code != 201:
        raise RuntimeError(f"POST /v1/events: {r.status_code} {r.text}")
    return ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="per configuration")
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        on = new_cloud(Path(tmp) / "on" / "state", [PROJECT_DIR / "template.yaml"])
        on.xray_sampling = "all"  # the cost of tracing each request, not AWS's 5 % of them
        if prometheus_binary() is not None:
            on.prometheus_port = free_port()
        off = new_cloud(Path(tmp) / "off" / "state", [PROJECT_DIR / "template.yaml"])
        off.parameters = {"PowertoolsObservabilityDisabled": "true"}
        clouds: list[RunningCloud] = []
        try:
            for cloud in (on, off):
                cloud.start()
                clouds.append(cloud)
            runs = {"on": (on, True), "off": (off, False)}
            users = {name: setup_users(c.api_url, 1)[0] for name, (c, _) in runs.items()}
            clients = {
                name: httpx.Client(base_url=c.api_url, timeout=30) for name, (c, _) in runs.items()
            }
            samples: dict[str, list[float]] = {"on": [], "off": []}
            for i in range(args.warmup + args.requests):
                for name, (_, traced) in runs.items():
                    ms = publish(clients[name], users[name], i, traced)
                    if i >= args.warmup:
                        samples[name].append(ms)
            for client in clients.values():
                client.close()
        finally:
            for cloud in clouds:
                cloud.stop()
    print(f"machine: {machine()}")
    print(
        f"POST /v1/events through the local cloud, {args.requests} each, one at a time, "
        f"alternating (after {args.warmup} warm-up each); prometheus: "
        f"{'on' if on.prometheus_port else 'not installed'}"
    )
    for name, lat in samples.items():
        print(f"  {name:3s}  p50 {percentile(lat, 50):7.2f} ms  p99 {percentile(lat, 99):7.2f} ms")
    p50 = percentile(samples["on"], 50) / percentile(samples["off"], 50)
    p99 = percentile(samples["on"], 99) / percentile(samples["off"], 99)
    verdict = "within" if p99 <= 1.10 else "OVER"
    print(f"ratio on/off: p50 {p50:.3f}x  p99 {p99:.3f}x ({verdict} the 10 % target)")


if __name__ == "__main__":
    main()
