"""The cost of fan-out in the events' transaction: the core's batch insert with migration 004's
trigger (topic counts, deliveries) beside the same insert with the trigger disabled, same run.

Figures: ms per 1000-event batch (p50/p99) and events/s, for no subscriptions and for 20 webhook
subscriptions (10 of them match one of the 10 topics each, so every event gets one delivery),
on one embedded Postgres (or DATABASE_URL).
Usage: python bench/fanout_trigger.py [--batches N] [--batch B]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import machine, migrated_database, percentile
from pg8000.native import Connection

from eventstream.db.connection import connect
from eventstream.events.ids import EventIdGenerator
from eventstream.events.store import NewEvent, insert_events
from eventstream.subscriptions.models import pattern_regex

IDS = EventIdGenerator()


def batch(size: int) -> list[NewEvent]:
    now_us = time.time_ns() // 1000
    return [
        NewEvent(
            IDS.new(),
            f"bench/topic-{i % 10}",
            json.dumps({"sensor": f"s-{i}", "value": i * 0.5}),
            5,
            "bench",
            None,
            now_us,
            None,
        )
        for i in range(size)
    ]


def run(conn: Connection, batches: int, size: int) -> list[float]:
    samples = []
    for _ in range(batches):
        events = batch(size)
        t0 = time.perf_counter()
        insert_events(conn, events, "bench")  # autocommit: one statement, one commit
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def line(label: str, samples: list[float], size: int) -> str:
    rate = size * len(samples) / (sum(samples) / 1000)
    return (
        f"{label:<44} {rate:>9,.0f} events/s   batch p50 {percentile(samples, 50):6.2f} ms"
        f"   p99 {percentile(samples, 99):6.2f} ms"
    )


def subscribe(conn: Connection, count: int) -> None:
    [[user]] = conn.run(
        "INSERT INTO users (username, password_hash) VALUES ('bench', 'x') RETURNING id"
    )
    for i in range(count):
        # half match one topic each, half match nothing
        pattern = f"bench/topic-{i}" if i < count // 2 else f"elsewhere/{i}/#"
        conn.run(
            "INSERT INTO subscriptions (user_id, topic_pattern, topic_regex, mode, webhook_url,"
            " signing_secret) VALUES (:u, :p, :r, 'webhook', 'https://example.com/', 'whsec_x')",
            u=user,
            p=pattern,
            r=pattern_regex(pattern),
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    with migrated_database("bench-fanout-") as (creds, _tmp):
        conn = connect(creds)
        conn.run("SET jit = off")
        run(conn, 20, args.batch)  # warm up
        print(f"machine: {machine()}")
        print(f"{args.batches} batches of {args.batch} events over 10 topics, autocommit")
        # Interleaved rounds so drift on a busy machine hits both sides alike.
        off: list[float] = []
        on: list[float] = []
        for _ in range(4):
            conn.run("ALTER TABLE events DISABLE TRIGGER events_fan_out")
            off += run(conn, args.batches // 4, args.batch)
            conn.run("ALTER TABLE events ENABLE TRIGGER events_fan_out")
            on += run(conn, args.batches // 4, args.batch)
        print(line("baseline: trigger disabled", off, args.batch))
        print(line("fan-out trigger, no subscriptions", on, args.batch))
        subscribe(conn, 20)
        subs: list[float] = []
        for _ in range(4):
            subs += run(conn, args.batches // 4, args.batch)
        print(line("fan-out trigger, 20 subscriptions", subs, args.batch))
        [[deliveries]] = conn.run("SELECT count(*) FROM webhook_deliveries")
        p50 = percentile(off, 50)
        print(
            f"ratio (p50 batch time / baseline): no subscriptions "
            f"{percentile(on, 50) / p50:.2f}x, 20 subscriptions "
            f"{percentile(subs, 50) / p50:.2f}x ({deliveries:,} deliveries made)"
        )
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
