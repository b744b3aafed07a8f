"""EMF log lines to PutMetricData, as CloudWatch Logs extracts them on AWS."""

from __future__ import annotations

import json

from localcloud.runtime.emf import metric_data


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
