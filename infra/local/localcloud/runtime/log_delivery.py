"""Function output into CloudWatch Logs and metrics, from a thread inside the moto process.

On AWS the Lambda service hands a function's output to CloudWatch Logs itself, not through the
public PutLogEvents API, and CloudWatch Logs turns EMF lines into metrics. Locally the local cloud
writes each invocation's lines to a pipe, and this thread, started by moto's bootstrap
(`localcloud.aws_endpoint`), stores them straight into moto's Logs and CloudWatch backends. The
same lines went through boto3 and HTTP before: building and signing the request in one process,
parsing it and decoding its JSON three times in moto, 15 ms of CPU for every 750 lines, taken
from the cores the requests need. What a client reads back through the APIs is the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import time
from datetime import UTC
from typing import Any

from localcloud.runtime.emf import aggregate, metric_data

FLUSH_INTERVAL_S = 0.5  # lines are readable through the API at most this late


def entry(group: str, stream: str, message: str) -> str:
    """One log event as `deliver` reads it: a JSON line."""
    return json.dumps([group, stream, int(time.time() * 1000), message])


def deliver(fd: int, region: str) -> None:
    """Read lines made by `entry` from `fd` until EOF; store what came every FLUSH_INTERVAL_S."""
    batch: dict[tuple[str, str], list[dict[str, Any]]] = {}
    metrics: dict[str, list[dict[str, Any]]] = {}
    pending = b""  # a line not yet complete
    done = False
    while not done:
        deadline = time.monotonic() + FLUSH_INTERVAL_S
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                break
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                done = True
                break
            *complete, pending = (pending + chunk).split(b"\n")
            for raw in complete:
                group, stream, ts, message = json.loads(raw)
                if not message:
                    continue  # CloudWatch Logs keeps no empty events
                batch.setdefault((group, stream), []).append({"timestamp": ts, "message": message})
                for namespace, data in metric_data(message, ts).items():
                    metrics.setdefault(namespace, []).extend(data)
        if batch or metrics:
            store(region, batch, metrics)
            batch, metrics = {}, {}


def store(
    region: str,
    batch: dict[tuple[str, str], list[dict[str, Any]]],
    metrics: dict[str, list[dict[str, Any]]],
) -> None:
    """Log events per (group, stream), creating either when missing, and EMF metric data."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core import DEFAULT_ACCOUNT_ID  # the account of the local cloud's test keys
    from moto.logs.models import logs_backends

    # Looked up each time: a moto reset or a deleted group must not leave us writing nowhere.
    logs = logs_backends[DEFAULT_ACCOUNT_ID][region]
    for (group, stream), events in batch.items():
        try:
            if group not in logs.groups:
                logs.create_log_group(group, {})
            if stream not in logs.groups[group].streams:
                logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, events)
        except Exception as e:  # logs must never take moto down
            report_once(
                f"logs {group} {type(e).__name__}",
                f"log delivery: log events for {group} not stored: {e!r}",
            )
    cloudwatch = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
    for namespace, data in metrics.items():
        packed = aggregate(data)
        for datum in packed:
            # moto keeps the naive UTC datetimes its API parser makes, and compares with them.
            datum["Timestamp"] = datum["Timestamp"].astimezone(UTC).replace(tzinfo=None)
        try:
            cloudwatch.put_metric_data(namespace, packed)
        except Exception as e:
            report_once(
                f"metrics {namespace} {type(e).__name__}",
                f"log delivery: metric data for {namespace} not stored: {e!r}",
            )


_reported: set[str] = set()


def report_once(kind: str, problem: str) -> None:
    """Once per kind of problem, to moto's log (the state folder's moto.log): a delivery thread
    in moto's process has no one else to tell, and must not fill the log with one fault."""
    if kind not in _reported:
        _reported.add(kind)
        with contextlib.suppress(OSError):
            print(problem, file=sys.stderr, flush=True)
