"""EMF log lines to PutMetricData, as CloudWatch Logs extracts them on AWS."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from localcloud.runtime.emf import MAX_DISTINCT_VALUES, aggregate, metric_data


def emf(**root: object) -> str:
    doc = {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "EventStream",
                    "Dimensions": [["service"], ["service", "function_name"]],
                    "Metrics": [
                        {"Name": "PublishLatency", "Unit": "Milliseconds"},
                        {"Name": "EventsPublished", "Unit": "Count", "StorageResolution": 1},
                    ],
                }
            ],
        },
        "service": "eventstream",
        "function_name": "fn",
        **root,
    }
    return json.dumps(doc)


def test_each_metric_goes_out_once_per_dimension_set() -> None:
    data = metric_data(emf(PublishLatency=[1.5, 2.5], EventsPublished=3), 0)
    (namespace,) = data
    assert namespace == "EventStream"
    by_key = {(d["MetricName"], len(d["Dimensions"])): d for d in data[namespace]}
    assert set(by_key) == {
        ("PublishLatency", 1),
        ("PublishLatency", 2),
        ("EventsPublished", 1),
        ("EventsPublished", 2),
    }
    latency = by_key[("PublishLatency", 2)]
    assert latency["Values"] == [1.5, 2.5]
    assert latency["Unit"] == "Milliseconds"
    assert latency["Dimensions"] == [
        {"Name": "service", "Value": "eventstream"},
        {"Name": "function_name", "Value": "fn"},
    ]
    assert latency["Timestamp"].timestamp() == 1_700_000_000
    assert by_key[("EventsPublished", 1)]["StorageResolution"] == 1


def test_a_metric_missing_from_the_line_is_skipped() -> None:
    data = metric_data(emf(EventsPublished=1), 0)["EventStream"]
    assert {d["MetricName"] for d in data} == {"EventsPublished"}


def test_plain_and_malformed_lines_give_nothing() -> None:
    assert metric_data("START RequestId: x", 0) == {}
    assert metric_data('{"level": "INFO", "message": "hello"}', 0) == {}
    assert metric_data('{"_aws": {"CloudWatchMetrics": "nope"}}', 0) == {}
    assert metric_data(emf(PublishLatency="fast"), 0) == {}


def at(seconds: float) -> list[dict[str, Any]]:
    """The data of one line like the ones a request writes, `seconds` after a whole minute."""
    line = emf(PublishLatency=[round(seconds % 7, 1)], EventsPublished=1)
    line = line.replace("1700000000000", str(int((1_700_000_040 + seconds) * 1000)))
    return metric_data(line, 0)["EventStream"]


def points(data: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Every data point a list of data stands for, whatever its packing."""
    out: Counter[tuple[Any, ...]] = Counter()
    for d in data:
        dims = tuple((x["Name"], x["Value"]) for x in d["Dimensions"])
        counts = d.get("Counts") or [1.0] * len(d["Values"])
        for value, count in zip(d["Values"], counts, strict=True):
            out[(d["MetricName"], dims, d.get("Unit"), d.get("StorageResolution"), value)] += int(
                count
            )
    return out


def test_aggregating_keeps_every_point_and_packs_them_per_period() -> None:
    # 200 request lines over the first 10 s of a minute.
    data = [d for i in range(200) for d in at(i * 0.05)]
    packed = aggregate(data)
    assert points(packed) == points(data)
    by_key: Counter[tuple[str, int]] = Counter(
        (d["MetricName"], len(d["Dimensions"])) for d in packed
    )
    # Standard resolution: one datum per dimension set for the minute. High resolution
    # (EventsPublished, 1 s): one per second.
    assert by_key[("PublishLatency", 1)] == by_key[("PublishLatency", 2)] == 1
    assert by_key[("EventsPublished", 1)] == by_key[("EventsPublished", 2)] == 10
    first = min(d["Timestamp"] for d in data)
    assert all(d["Timestamp"] >= first for d in packed)
    latency = next(d for d in packed if d["MetricName"] == "PublishLatency")
    assert latency["Timestamp"] == first  # the earliest point's time, inside the minute


def test_a_new_minute_is_a_new_datum() -> None:
    packed = aggregate(at(59.0) + at(61.0))
    assert len([d for d in packed if d["MetricName"] == "PublishLatency"]) == 4


def test_more_distinct_values_than_a_datum_takes_are_split() -> None:
    stamp = datetime.fromtimestamp(1_700_000_000, UTC)
    data = [
        {"MetricName": "Latency", "Dimensions": [], "Timestamp": stamp, "Values": [float(i)]}
        for i in range(MAX_DISTINCT_VALUES + 10)
    ]
    packed = aggregate(data + data[:3])
    assert [len(d["Values"]) for d in packed] == [MAX_DISTINCT_VALUES, 10]
    assert packed[0]["Counts"][:4] == [2.0, 2.0, 2.0, 1.0]
    assert points(packed) == points(data + data[:3])
