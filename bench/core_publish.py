"""Core ingest over TCP with durable group commit, beside one INSERT+COMMIT per event.

Figures, against one core node (2 writers) on an embedded Postgres:
- Through `CoreClient`, as the /v1 functions publish: one request at a time, pipelined single
  frames, and pipelined batch frames (the client's own CPU counts: it shares the 2 cores).
- The core alone, fed by a lean load generator that sends batch frames encoded before the clock
  starts and reads only each ack's header and count (as wrk or h2load drive an HTTP server):
  - the highest rate, closed loop: `--connections` sockets with `--window` frames in flight each;
  - ack latency under an open-loop load at `--rates` events/s: frames go out on a fixed
    schedule whatever the acks do, and each latency runs from the frame's scheduled send time,
    so a stall counts for every frame it delays (no coordinated omission).
  Every ack must be an ACK for the whole frame, and every event must be in Postgres after.
The baseline, measured in the same run on the same Postgres, stores the same rows with one
INSERT+COMMIT per event through pg8000, as a service without group commit would.
Usage: python bench/core_publish.py [--events N] [--batch B] [--rates 10000,30000,50000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import socket
import struct
import sys
import time
import uuid

from _common import in_threads, machine, migrated_database, percentile

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.events.core_client import CoreClient, Event, parse_nodes
from eventstream.events.ids import EventIdGenerator, new_ulids
from eventstream.protocol import (
    BatchEntry,
    FrameReader,
    FrameType,
    decode_body,
    encode_publish_batch,
)
from eventstream.protocol.constants import HEADER
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

    def work(t: int) -> list[float]:  # each thread its own topic
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


_ACK_COUNT = struct.Struct(">H")


def batch_frames(count: int, batch: int, topic: str) -> list[bytes]:
    """`count` PUBLISH_BATCH frames of `batch` events, each with its client-made ids."""
    frames = []
    for f in range(count):
        ids = new_ulids(batch)
        entries = [
            BatchEntry(topic, json.dumps(payload(f * batch + i)).encode(), 5, "", ids[i])
            for i in range(batch)
        ]
        frames.append(encode_publish_batch(f + 1, entries, "bench"))
    return frames


class AckReader:
    """Reads a node's replies off a socket; each must be an ACK for a whole frame."""

    def __init__(self, sock: socket.socket, batch: int) -> None:
        self.sock = sock
        self.batch = batch
        self.frames = FrameReader()
        self.ready: list[int] = []

    def feed(self, data: bytes) -> list[int]:
        """The request ids of the acks `data` completes."""
        done = []
        for raw in self.frames.feed(data):
            if raw.type != FrameType.ACK or _ACK_COUNT.unpack_from(raw.body)[0] != self.batch:
                raise RuntimeError(
                    f"request {raw.request_id} not acked in full: {decode_body(*raw)}"
                )
            done.append(raw.request_id)
        return done

    def next(self) -> int:
        """The request id of the next ack, waiting for it."""
        while not self.ready:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("the node closed the connection")
            self.ready += self.feed(data)
        return self.ready.pop(0)


def _connect(address: str) -> socket.socket:
    sock = socket.create_connection(parse_nodes(address)[0])
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _rid(frame: bytes) -> int:
    return int(HEADER.unpack_from(frame)[4])


def closed_loop(address: str, frames: list[bytes], batch: int, window: int) -> list[float]:
    """Keep `window` frames in flight; each frame's ack latency in ms from its send."""
    sock = _connect(address)
    acks = AckReader(sock, batch)
    sent: dict[int, float] = {}
    pending = iter(frames)

    def send_next() -> None:
        frame = next(pending, None)
        if frame is not None:
            sent[_rid(frame)] = time.perf_counter()
            sock.sendall(frame)

    for _ in range(window):
        send_next()
    latencies = []
    for _ in frames:
        rid = acks.next()
        latencies.append((time.perf_counter() - sent.pop(rid)) * 1000)
        send_next()
    sock.close()
    return latencies


def lean_highest(address: str, n: int, batch: int, connections: int, window: int) -> tuple:
    """The closed-loop rate and batch ack latencies; the generator's CPU per event (µs)."""
    per = max(1, n // batch // connections)
    work = [batch_frames(per, batch, f"bench/closed-{c}") for c in range(connections)]
    cpu = time.process_time()
    flat, frames_per_s = in_threads(
        connections, lambda c: closed_loop(address, work[c], batch, window)
    )
    cpu = time.process_time() - cpu
    return frames_per_s * batch, flat, 1e6 * cpu / (per * connections * batch)


def lean_open(address: str, rate: float, seconds: float, batch: int, connections: int) -> tuple:
    """Achieved events/s and ack latencies (ms) at `rate` offered events/s.

    One thread sends every socket's frames on a fixed schedule and reads the acks in between:
    no thread of the generator waits for another to time an ack. Sends never block (a node that
    stops reading must not stop the acks being read), and latencies run from each frame's
    scheduled time.
    """
    per = max(1, int(rate * seconds / batch / connections))
    socks = [_connect(address) for _ in range(connections)]
    work = [batch_frames(per, batch, f"bench/open-{c}") for c in range(connections)]
    start = time.perf_counter() + 0.05
    # Frame k of all goes out at start + k * batch / rate, on socket k % connections.
    schedule = [(c, work[c][f]) for f in range(per) for c in range(connections)]
    readers = [AckReader(sock, batch) for sock in socks]
    outgoing = [bytearray() for _ in socks]
    due: list[dict[int, float]] = [{} for _ in socks]
    by_fd = {sock.fileno(): c for c, sock in enumerate(socks)}
    for sock in socks:
        sock.setblocking(False)
    latencies: list[float] = []
    sent = 0
    last_ack = start
    while len(latencies) < len(schedule):
        now = time.perf_counter()
        while sent < len(schedule) and start + sent * batch / rate <= now:
            c, frame = schedule[sent]
            due[c][_rid(frame)] = start + sent * batch / rate
            outgoing[c] += frame
            sent += 1
            with contextlib.suppress(BlockingIOError):
                del outgoing[c][: socks[c].send(outgoing[c])]
        wait = max(0.0, start + sent * batch / rate - now) if sent < len(schedule) else 1.0
        writable = [socks[c] for c in range(connections) if outgoing[c]]
        ready, can_write, _ = select.select(socks, writable, [], wait)
        for sock in can_write:
            c = by_fd[sock.fileno()]
            with contextlib.suppress(BlockingIOError):
                del outgoing[c][: sock.send(outgoing[c])]
        for sock in ready:
            c = by_fd[sock.fileno()]
            data = sock.recv(1 << 20)
            if not data:
                raise ConnectionError("the node closed the connection")
            last_ack = time.perf_counter()
            latencies += [(last_ack - due[c].pop(rid)) * 1000 for rid in readers[c].feed(data)]
    for sock in socks:
        sock.close()
    return len(schedule) * batch / (last_ack - start), latencies


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
    parser.add_argument("--inflight", type=int, default=4, help="CoreClient batch frames in flight")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4, help="lean generator sockets")
    parser.add_argument("--lean-window", type=int, default=1, help="frames in flight per socket")
    parser.add_argument("--rates", default="10000,30000,50000", help="open-loop events/s")
    parser.add_argument("--open-batch", type=int, default=50, help="events per open-loop frame")
    parser.add_argument("--seconds", type=float, default=3.0, help="per open-loop rate")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    load = os.getloadavg()[0]

    with migrated_database("bench-core-") as (creds, tmp):
        nodes = CoreNodes(
            1, creds.to_url(), ports=[free_port()], log_dir=tmp,
            args=["--writers", str(args.writers)],
        )  # fmt: skip
        nodes.start()
        address = nodes.addresses
        try:
            client = CoreClient(address, request_timeout_s=60)
            client.publish_many([Event("bench/warm", payload(i)) for i in range(2000)])  # warm-up
            base_rate, base = baseline(creds, args.baseline_events)
            one_rate, one = singles(client, args.baseline_events, 1)
            single_rate, single = singles(client, args.events, args.window)
            batch_rate, batch = batches(address, args.events, args.batch, args.inflight)
            client.close()
            print("core alone, lean generator …", file=sys.stderr, flush=True)
            warm = lean_highest(address, 10_000, args.batch, args.connections, args.lean_window)
            lean = lean_highest(
                address, args.events, args.batch, args.connections, args.lean_window
            )
            opened = []
            for rate in rates:
                print(f"open loop at {rate:,.0f} events/s …", file=sys.stderr, flush=True)
                opened.append(
                    lean_open(address, rate, args.seconds, args.open_batch, args.connections)
                )
        finally:
            nodes.stop()
        conn = connect(creds)
        stored = conn.run(
            "SELECT count(*) FILTER (WHERE topic LIKE 'bench/closed-%'),"
            " count(*) FILTER (WHERE topic LIKE 'bench/open-%') FROM events"
        )[0]
        conn.close()

    # One latency per frame acked, so the events each run stored are known from its results.
    closed_events = (len(warm[1]) + len(lean[1])) * args.batch
    open_events = sum(len(latencies) for _, latencies in opened) * args.open_batch
    if list(stored) != [closed_events, open_events]:
        raise SystemExit(f"stored {stored}, expected {[closed_events, open_events]}")

    print(f"machine: {machine()}; load average at start {load:.2f}")
    print(line("baseline: INSERT+COMMIT per event (pg8000)", base_rate, base))
    print(line("CoreClient, single frames, 1 in flight", one_rate, one))
    print(line(f"CoreClient, single frames, {args.window} in flight", single_rate, single))
    print(
        line(
            f"CoreClient, {args.batch}-event batches, {args.inflight} in flight", batch_rate, batch
        )
        + "  (latency per batch)"
    )
    lean_rate, lean_lat, lean_cpu = lean
    in_flight = args.connections * args.lean_window
    print(
        line(f"core alone, {args.batch}-event batches, {in_flight} in flight", lean_rate, lean_lat)
        + f"  (latency per batch; generator {lean_cpu:.1f} µs CPU an event)"
    )
    for rate, (achieved, latencies) in zip(rates, opened, strict=True):
        name = f"core alone, open loop at {rate:,.0f}/s ({args.open_batch}/frame)"
        print(line(name, achieved, latencies) + f"  max {max(latencies):.1f} ms")
    one_vs_base = percentile(one, 50) / percentile(base, 50)
    print(f"ratio singles/baseline {single_rate / base_rate:.1f}x, "
          f"batches/baseline {batch_rate / base_rate:.1f}x, "
          f"core alone/baseline {lean_rate / base_rate:.1f}x; "
          f"1 in flight: p50 {one_vs_base:.2f}x the baseline's")  # fmt: skip
    print(f"every acked event is in Postgres: {closed_events + open_events} of the lean runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
