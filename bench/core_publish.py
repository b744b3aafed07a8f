"""Core ingest over TCP with durable group commit, beside one INSERT+COMMIT per event.

Figures: events/s and ack latency p50/p99 through CoreClient to one core node, for one request
at a time, pipelined single-event frames and pipelined batch frames. The baseline, measured in
the same run on the same Postgres, stores the same rows (event + idempotency key) with one
INSERT+COMMIT per event through pg8000, as a service without group commit would.
Usage: python bench/core_publish.py [--events N] [--batch B] [--inflight F] [--window W]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import uuid

from _common import in_threads, machine, migrated_database, percentile

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, Event
from eventstream.events.ids import EventIdGenerator
from localcloud.core_nodes import CoreNodes
from tests.support import free_port

BASELINE_SQL = """
WITH claimed AS (
    INSERT INTO event_idempotency (producer, idempotency_key, event_id, created_at)
    VALUES (:producer, :key, :id, now()) ON CONFLICT DO NOTHING RETURNING event_id
)
INSERT INTO events (id, topic, payload, priority, producer, idempotency_key, created_at)
SELECT :id, :topic, CAST(:payload AS jsonb), :priority, :producer, :key, now()
FROM claimed
"""


def payload(i: int) -> dict:
    return {"sensor": f"s-{i % 100}", "value": i * 0.5, "unit": "celsius", "seq": i}


def baseline(creds: DbCredentials, n: int) -> tuple[float, list[float]]:
    conn = connect(creds)
    conn.run("SET jit = off")
    ids = EventIdGenerator()
    samples = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        conn.run("START TRANSACTION")
        conn.run(
            BASELINE_SQL,
            id=ids.new(),
            topic=f"bench/baseline-{i % 10}",
            payload=json.dumps(payload(i)),
            priority=5,
            producer="bench",
            key=uuid.uuid4().hex,
        )
        conn.run("COMMIT")
        samples.append((time.perf_counter() - s) * 1000)
    elapsed = time.perf_counter() - t0
    conn.close()
    return n / elapsed, samples


def singles(client: CoreClient, n: int, window: int) -> tuple[float, list[float]]:
    events = [Event(f"bench/single-{i % 10}", payload(i)) for i in range(n)]
    t0 = time.perf_counter()
    results = client.publish_many(events, producer="bench", window=window)
    elapsed = time.perf_counter() - t0
    return n / elapsed, [r.latency_ms for r in results]


def batches(address: str, n: int, batch: int, inflight: int) -> tuple[float, list[float]]:
    """`inflight` client threads, each sending batch frames one after another."""
    per_thread = n // inflight
    thread_numbers = itertools.count()

    def work() -> list[float]:
        t = next(thread_numbers)  # each thread its own topic
        client = CoreClient(address)
        latencies = []
        for start in range(0, per_thread, batch):
            events = [Event(f"bench/batch-{t}", payload(start + i)) for i in range(batch)]
            results = client.publish_batch(events, producer="bench")
            latencies.append(results[0].latency_ms)
        client.close()
        return latencies

    flat, batches_per_s = in_threads(inflight, work)
    return batches_per_s * batch, flat


def line(name: str, rate: float, samples: list[float]) -> str:
    return (
        f"{name:<42} {rate:>9,.0f} events/s   ack p50 {percentile(samples, 50):7.2f} ms   "
        f"p99 {percentile(samples, 99):7.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--baseline-events", type=int, default=2_000)
    parser.add_argument("--window", type=int, default=256, help="single frames in flight")
    parser.add_argument("--batch", type=int, default=200, help="events per batch frame")
    parser.add_argument("--inflight", type=int, default=4, help="batch frames in flight")
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()

    with migrated_database("bench-core-") as (creds, tmp):
        nodes = CoreNodes(
            1, creds.to_url(), ports=[free_port()], log_dir=tmp,
            args=["--writers", str(args.writers)],
        )  # fmt: skip
        nodes.start()
        try:
            client = CoreClient(nodes.addresses, request_timeout_s=60)
            client.publish_many([Event("bench/warm", payload(i)) for i in range(2000)])  # warm-up
            base_rate, base = baseline(creds, args.baseline_events)
            one_rate, one = singles(client, args.baseline_events, 1)
            single_rate, single = singles(client, args.events, args.window)
            batch_rate, batch = batches(nodes.addresses, args.events, args.batch, args.inflight)
            client.close()
        finally:
            nodes.stop()

    print(f"machine: {machine()}")
    print(line("baseline: INSERT+COMMIT per event (pg8000)", base_rate, base))
    print(line("core, single frames, 1 in flight", one_rate, one))
    print(line(f"core, single frames, {args.window} in flight", single_rate, single))
    print(
        line(f"core, {args.batch}-event batches, {args.inflight} in flight", batch_rate, batch)
        + "  (latency per batch)"
    )
    one_vs_base = percentile(one, 50) / percentile(base, 50)
    print(f"ratio singles/baseline {single_rate / base_rate:.1f}x, "
          f"batches/baseline {batch_rate / base_rate:.1f}x; "
          f"1 in flight: p50 {one_vs_base:.2f}x the baseline's")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
