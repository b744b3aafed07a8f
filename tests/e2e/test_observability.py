"""One health request followed through CloudWatch Logs, CloudWatch metrics and X-Ray, locally."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from eventstream.events.core_client import CoreClient, Event
from localcloud.aws_endpoint import aws_client
from tests.support import EVENTSTREAM, PROJECT_DIR, RunningCloud, eventually, free_port, new_cloud

HEALTH = "eventstream-dev-health"


def health_trace_id(api: httpx.Client) -> str:
    resp = api.get("/v1/health")
    assert resp.status_code == 200
    return resp.headers["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")


def test_handler_log_lines_are_json_with_the_lambda_context(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    trace_id = health_trace_id(api)
    logs = aws_client("logs", cloud.aws_endpoint_url, "us-east-1")

    since_ms = int((time.time() - 60) * 1000)

    def our_line() -> dict[str, Any] | None:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{HEALTH}", startTime=since_ms
        )
        try:
            events = [e for page in pages for e in page["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return None  # the shipper has not created the group yet
        for event in events:
            if event["message"].startswith("{") and trace_id in event["message"]:
                doc = json.loads(event["message"])
                if doc.get("message") == "health checked":
                    return doc
        return None

    line = eventually(our_line)
    assert line["level"] == "INFO"
    assert line["service"] == "eventstream"
    assert line["function_name"] == HEALTH
    assert isinstance(line["cold_start"], bool)
    assert len(line["function_request_id"]) == 36
    assert line["xray_trace_id"] == trace_id
    assert line["status"] == "ok"
    assert line["checks"]["database"] == "ok"


def test_emf_lines_become_cloudwatch_metrics(cloud: RunningCloud, api: httpx.Client) -> None:
    health_trace_id(api)  # at least one cold start of the health function in this cloud
    cloudwatch = aws_client("cloudwatch", cloud.aws_endpoint_url, "us-east-1")
    dimensions = [
        {"Name": "function_name", "Value": HEALTH},
        {"Name": "service", "Value": "eventstream"},
    ]

    def cold_starts() -> float | None:
        points = cloudwatch.get_metric_statistics(
            Namespace="EventStream",
            MetricName="ColdStart",
            Dimensions=dimensions,
            StartTime=time.time() - 3600,
            EndTime=time.time() + 60,
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert eventually(cold_starts) >= 1


def test_traces_command_prints_the_request_as_a_waterfall(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    trace_id = health_trace_id(api)
    xray = aws_client("xray", cloud.aws_endpoint_url, "us-east-1")

    def segment_names() -> set[str] | None:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        docs = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        names = {d["name"] for d in docs}
        return names if {"## handler", "health.database"} <= names else None

    eventually(segment_names)
    summaries = xray.get_trace_summaries(StartTime=time.time() - 300, EndTime=time.time() + 5)
    assert trace_id in {s["Id"] for s in summaries["TraceSummaries"]}

    out = subprocess.run(
        [EVENTSTREAM, "local", "traces", "--state-dir", str(cloud.state_dir), "-n", "50"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    block = next(b for b in out.split("\n\n") if b.startswith(f"trace {trace_id}"))
    rows = block.splitlines()[2:]
    cells = [row.split(" ms", 2)[2].split("|")[0] for row in rows]  # after start and duration
    labels = [cell.strip() for cell in cells]
    # The gateway's stage segment, the Lambda service's under it, the function's, the handler,
    # the check under that.
    assert labels[0].endswith("/dev (AWS::ApiGateway::Stage)")
    service = labels.index(f"{HEALTH} (AWS::Lambda)")
    function = labels.index(f"{HEALTH} (AWS::Lambda::Function)")
    assert "## handler (local)" in labels
    handler, check = labels.index("## handler (local)"), labels.index("health.database (local)")

    def indent(i: int) -> int:
        return len(cells[i]) - len(cells[i].lstrip())

    assert check > handler
    assert indent(check) > indent(handler) > indent(function) > indent(service) > indent(0)
    assert "█" in rows[check]


def test_local_up_starts_prometheus_with_the_shipped_config(
    prometheus_binary: str, tmp_path: Path
) -> None:
    cloud = new_cloud(tmp_path / "state")
    cloud.prometheus_port = free_port()
    cloud.start()
    try:
        line = cloud.wait_for_line(r"^  prometheus ")
        assert f"http://127.0.0.1:{cloud.prometheus_port}" in line
        url = f"http://127.0.0.1:{cloud.prometheus_port}"

        def jobs() -> set[str]:
            targets = httpx.get(f"{url}/api/v1/targets", timeout=10).json()["data"]
            return {t["labels"]["job"] for t in targets["activeTargets"]}

        assert "eventstream-core" in eventually(jobs)
        rules = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert "EventStreamP99LatencyHigh" in {r["name"] for g in rules for r in g["rules"]}

        # The core nodes remote-write to it, and it scrapes their `up`.
        state = json.loads((cloud.state_dir / "cloud.json").read_text())
        client = CoreClient(state["core_nodes"])
        try:
            client.publish_batch([Event("prom/t", {"i": i}) for i in range(3)])
        finally:
            client.close()

        def query(expr: str) -> list[float]:
            params = {"query": expr}
            found = httpx.get(f"{url}/api/v1/query", params=params, timeout=10).json()
            return [float(r["value"][1]) for r in found["data"]["result"]]

        # The nodes push every 5 s; one scrape of `up` takes up to 5 s as well.
        assert eventually(lambda: query('eventstream_events_total{node="core-0"}') == [3.0])
        assert eventually(lambda: query('up{job="eventstream-core"}') == [1.0])
        assert query('eventstream_events_total{job="eventstream-core"}') == []  # no double count
        [metrics_url] = state["core_metrics"]  # each node's own /metrics, on a free port
        assert 'eventstream_events_total{node="core-0"} 3\n' in httpx.get(metrics_url).text
    finally:
        cloud.stop()
    assert not httpx_reachable(f"http://127.0.0.1:{cloud.prometheus_port}/-/ready")


def httpx_reachable(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True
