"""The node's Prometheus samples: cumulative buckets on the `le` bounds, escaping, the flags."""

from __future__ import annotations

from eventstream_core.config import parse_config
from eventstream_core.metrics import collect, render
from eventstream_core.stats import NodeStats


def test_histogram_buckets_are_cumulative_and_inclusive_of_their_bound() -> None:
    stats = NodeStats("n1", writers=1)
    # 1 ms sits in le="0.001" (a bound is inclusive); 30 s only in +Inf.
    stats.record_batch(["t"] * 3, [0.2, 1.0, 30_000.0], stored=3, duplicates=0, busy_s=0.1)
    text = render(collect(stats, queue_depth=4)).decode()
    assert 'eventstream_latency_seconds_bucket{node="n1",le="0.0005"} 1\n' in text
    assert 'eventstream_latency_seconds_bucket{node="n1",le="0.001"} 2\n' in text
    assert 'eventstream_latency_seconds_bucket{node="n1",le="10"} 2\n' in text
    assert 'eventstream_latency_seconds_bucket{node="n1",le="+Inf"} 3\n' in text
    assert 'eventstream_latency_seconds_count{node="n1"} 3\n' in text
    assert 'eventstream_latency_seconds_sum{node="n1"} 30.0012\n' in text
    assert 'eventstream_events_total{node="n1"} 3\n' in text
    assert 'eventstream_queue_depth{node="n1"} 4\n' in text


def test_label_values_are_escaped() -> None:
    stats = NodeStats('a"b\\c', writers=1)
    stats.record_error("busy", 2)
    text = render(collect(stats, queue_depth=0)).decode()
    assert 'eventstream_errors_total{node="a\\"b\\\\c",type="busy"} 2\n' in text


def test_metrics_and_remote_write_flags() -> None:
    assert parse_config([], {}).metrics_port == 8081
    assert parse_config(["--metrics-port", "0"], {}).metrics_port == 0  # off
    config = parse_config(
        ["--remote-write-url", "https://aps/api/v1/remote_write"],
        {"CORE_REMOTE_WRITE_INTERVAL_S": "5", "CORE_REMOTE_WRITE_SIGV4_REGION": "eu-west-1"},
    )
    assert config.remote_write_url == "https://aps/api/v1/remote_write"
    assert (config.remote_write_interval_s, config.remote_write_sigv4_region) == (5.0, "eu-west-1")
    assert config.remote_write_sigv4_service == "aps"
