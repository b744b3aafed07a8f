"""Remote-write to a real Prometheus (its receiver decodes our protobuf), read back by PromQL."""

from __future__ import annotations

import time

from eventstream.observability.remote_write import Series, remote_write
from localcloud.prometheus import PrometheusServer


def test_written_samples_are_queryable(prometheus: PrometheusServer) -> None:
    now_ms = int(time.time() * 1000)
    status = remote_write(
        prometheus.remote_write_url,
        [
            Series(
                "eventstream_events_total",
                {"node": "node-1", "job": "eventstream-core"},
                ((now_ms - 1000, 41.0), (now_ms, 42.0)),
            ),
            Series("eventstream_queue_depth", {"node": "node-1"}, ((now_ms, 7.0),)),
            Series("eventstream_queue_depth", {"node": "node-2"}, ((now_ms, -3.5),)),
        ],
    )
    assert status == 204
    at = now_ms / 1000
    events = prometheus.query('eventstream_events_total{node="node-1"}', at=at)
    assert [(r["metric"]["job"], float(r["value"][1])) for r in events] == [
        ("eventstream-core", 42.0)
    ]
    depth = prometheus.query("eventstream_queue_depth", at=at)
    assert {r["metric"]["node"]: float(r["value"][1]) for r in depth} == {
        "node-1": 7.0,
        "node-2": -3.5,
    }
