"""CloudWatch Embedded Metric Format: the log lines CloudWatch Logs turns into metrics.

On AWS, a function's log line that is a JSON object with an `_aws.CloudWatchMetrics` directive
becomes metric data points without any API call from the function. The local cloud does the
same by turning each such line into PutMetricData data, which the log delivery thread stores in
moto's CloudWatch backend (`log_delivery`). Specification:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

MAX_VALUES_PER_DATUM = 100  # EMF allows 100 values per metric; PutMetricData takes as many


def metric_data(message: str, received_ms: int) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData `MetricData` per namespace for one log line; empty if it is not EMF.

    A malformed directive yields nothing, as CloudWatch drops it (the line stays in the logs).
    """
    if not message.startswith("{") or '"_aws"' not in message:
        return {}
    try:
        doc = json.loads(message)
        meta = doc["_aws"]
        directives = meta["CloudWatchMetrics"]
        timestamp = datetime.fromtimestamp(int(meta.get("Timestamp", received_ms)) / 1000, UTC)
        out: dict[str, list[dict[str, Any]]] = {}
        for directive in directives:
            data = _directive_data(doc, directive, timestamp)
            if data:
                out.setdefault(str(directive["Namespace"]), []).extend(data)
        return out
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def _directive_data(
    doc: dict[str, Any], directive: dict[str, Any], timestamp: datetime
) -> list[dict[str, Any]]:
    dimension_sets = directive.get("Dimensions") or [[]]
    data = []
    for metric in directive["Metrics"]:
        name = metric["Name"]
        values = _values(doc.get(name))
        if not values:
            continue  # a metric named in the directive but absent from the line
        for keys in dimension_sets:
            datum: dict[str, Any] = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": str(doc[k])} for k in keys],
                "Timestamp": timestamp,
                "Values": values,
            }
            if metric.get("Unit"):
                datum["Unit"] = metric["Unit"]
            if metric.get("StorageResolution"):
                datum["StorageResolution"] = int(metric["StorageResolution"])
            data.append(datum)
    return data


def _values(raw: Any) -> list[float]:
    items = raw if isinstance(raw, list) else [raw]
    values = [
        float(v)
        for v in items
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    return values[:MAX_VALUES_PER_DATUM]


MAX_DISTINCT_VALUES = 150  # PutMetricData's limit on Values (and Counts) per datum


def aggregate(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same data points in as few data as CloudWatch keeps them apart: one datum per metric,
    dimensions, unit and period (the minute, or the second at high resolution), its values as
    `Values` with `Counts`. Every statistic comes out as from the separate points, and the
    backend stores a few data instead of one per log line."""
    groups: dict[tuple[Any, ...], tuple[datetime, dict[float, float]]] = {}
    for datum in data:
        resolution = datum.get("StorageResolution", 60)
        ts: datetime = datum["Timestamp"]
        key = (
            datum["MetricName"],
            tuple((d["Name"], d["Value"]) for d in datum["Dimensions"]),
            datum.get("Unit"),
            resolution,
            int(ts.timestamp()) // (1 if resolution == 1 else 60),
        )
        first, counts = groups.setdefault(key, (ts, {}))
        if ts < first:
            groups[key] = (ts, counts)
        for value in datum["Values"]:
            counts[value] = counts.get(value, 0.0) + 1.0
    out = []
    for (name, dims, unit, resolution, _), (ts, counts) in groups.items():
        values = list(counts.items())
        for i in range(0, len(values), MAX_DISTINCT_VALUES):
            chunk = values[i : i + MAX_DISTINCT_VALUES]
            datum = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": ts,
                "Values": [v for v, _ in chunk],
                "Counts": [c for _, c in chunk],
            }
            if unit:
                datum["Unit"] = unit
            if resolution != 60:
                datum["StorageResolution"] = resolution
            out.append(datum)
    return out
