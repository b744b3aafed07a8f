"""One published event, followed the way an operator would: its log line (with the trace id),
its X-Ray trace, and the CloudWatch metric it counted in — all read back from the AWS APIs.
(Prometheus's view of the same events: tests/e2e/test_observability.py.)"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx

from localcloud.aws_endpoint import aws_client
from tests.support import ADMIN_PASSWORD, RunningCloud, eventually

LOG_GROUP = "/aws/lambda/eventstream-dev-events-create"


def test_an_event_is_found_in_logs_trace_and_metrics(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    login = api.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    published = api.post(
        "/v1/events", headers=headers, json={"topic": "followed/e2e", "payload": 1}
    )
    assert published.status_code == 201, published.text
    event_id = published.json()["event_id"]
    trace_id = published.headers["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")

    logs = aws_client("logs", cloud.aws_endpoint_url, "us-east-1")

    def log_line() -> dict[str, Any] | None:
        try:
            found = logs.filter_log_events(logGroupName=LOG_GROUP, filterPattern=f'"{event_id}"')
        except logs.exceptions.ResourceNotFoundException:
            return None  # the function's first lines: the shipper has not created the group yet
        lines = [json.loads(e["message"]) for e in found["events"] if e["message"].startswith("{")]
        return next((line for line in lines if line.get("event_id") == event_id), None)

    line = eventually(log_line)
    assert line is not None, f"no log line for {event_id} in {LOG_GROUP}"
    assert line["message"] == "event published"
    assert line["xray_trace_id"] == trace_id  # the log line leads to the trace

    xray = aws_client("xray", cloud.aws_endpoint_url, "us-east-1")

    def core_segment() -> dict[str, Any] | None:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        docs = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        return next((d for d in docs if d["name"] == "eventstream-core"), None)

    assert eventually(core_segment) is not None, "the core's segment is not in the trace"

    cloudwatch = aws_client("cloudwatch", cloud.aws_endpoint_url, "us-east-1")
    now = dt.datetime.now(dt.UTC)

    def published_count() -> float:
        listed = cloudwatch.list_metrics(Namespace="EventStream", MetricName="EventsPublished")
        total = 0.0
        for metric in listed["Metrics"]:
            stats = cloudwatch.get_metric_statistics(
                Namespace="EventStream",
                MetricName="EventsPublished",
                Dimensions=metric["Dimensions"],
                StartTime=now - dt.timedelta(minutes=10),
                EndTime=now + dt.timedelta(minutes=10),
                Period=60,
                Statistics=["Sum"],
            )
            total += sum(p["Sum"] for p in stats["Datapoints"])
        return total

    assert eventually(published_count) >= 1
