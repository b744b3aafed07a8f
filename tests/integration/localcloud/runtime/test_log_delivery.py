"""Function output written to moto's delivery pipe, read back through the CloudWatch APIs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from typing import Any

from localcloud.aws_endpoint import MotoServer, aws_client
from localcloud.runtime.log_delivery import entry
from localcloud.runtime.logs import CloudWatchShipper
from tests.conftest import REGION
from tests.support import eventually, free_port


def write(server: MotoServer, *lines: str) -> None:
    assert server.logs_fd is not None
    os.write(server.logs_fd, ("\n".join(lines) + "\n").encode())


def messages(server: MotoServer, group: str) -> list[str] | None:
    logs = aws_client("logs", server.endpoint_url, REGION)
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return None
    return [e["message"] for e in events]


def emf_line(function: str, latencies: list[float]) -> str:
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "DeliveryTest",
                        "Dimensions": [["function_name"]],
                        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
                    }
                ],
            },
            "function_name": function,
            "Latency": latencies,
        }
    )


def test_lines_reach_cloudwatch_logs_in_order_and_a_blank_one_costs_nothing(
    moto_server: MotoServer,
) -> None:
    group = f"/aws/lambda/delivery-{uuid.uuid4().hex[:8]}"
    lines = ["START RequestId: 1", "", "hello\nsecond line", "END RequestId: 1"]
    write(moto_server, *(entry(group, "2026/11/25/[$LATEST]abc", m) for m in lines))
    got = eventually(lambda: messages(moto_server, group))
    assert got == ["START RequestId: 1", "hello\nsecond line", "END RequestId: 1"]
    logs = aws_client("logs", moto_server.endpoint_url, REGION)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["2026/11/25/[$LATEST]abc"]


def test_emf_lines_become_metrics_with_every_value(moto_server: MotoServer) -> None:
    function = f"fn-{uuid.uuid4().hex[:8]}"
    group = f"/aws/lambda/{function}"
    write(
        moto_server,
        entry(group, "s", emf_line(function, [1.0, 3.0])),
        entry(group, "s", emf_line(function, [3.0])),
    )
    cloudwatch = aws_client("cloudwatch", moto_server.endpoint_url, REGION)

    def stats() -> dict[str, Any] | None:
        points = cloudwatch.get_metric_statistics(
            Namespace="DeliveryTest",
            MetricName="Latency",
            Dimensions=[{"Name": "function_name", "Value": function}],
            StartTime=time.time() - 600,
            EndTime=time.time() + 600,
            Period=3600,
            Statistics=["SampleCount", "Sum", "Maximum"],
        )["Datapoints"]
        return points[0] if points else None

    point = eventually(stats)
    assert (point["SampleCount"], point["Sum"], point["Maximum"]) == (3.0, 7.0, 3.0)
    assert point["Unit"] == "Milliseconds"


def test_a_deleted_log_group_is_created_again_for_later_lines(moto_server: MotoServer) -> None:
    group = f"/aws/lambda/deleted-{uuid.uuid4().hex[:8]}"
    write(moto_server, entry(group, "s", "before"))
    eventually(lambda: messages(moto_server, group))
    aws_client("logs", moto_server.endpoint_url, REGION).delete_log_group(logGroupName=group)
    write(moto_server, entry(group, "s", "after"))
    assert eventually(lambda: messages(moto_server, group)) == ["after"]


def test_the_shipper_drops_lines_once_moto_is_gone_and_never_blocks() -> None:
    async def scenario() -> int:
        server = MotoServer("127.0.0.1", free_port())
        server.start()
        assert server.logs_fd is not None
        shipper = CloudWatchShipper(server.logs_fd)
        await shipper.start()
        shipper.send([entry("/aws/lambda/x", "s", "while moto runs")])
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)  # the pipe's read end goes with it
        os.waitpid(server.pid, 0)
        try:
            for _ in range(200):  # writes now fail: they must neither raise nor block
                shipper.send([entry("/aws/lambda/x", "s", "x" * 1000)])
                await asyncio.sleep(0)
            await shipper.close(timeout_s=1.0)
        finally:
            server.stop()
        return shipper.dropped

    assert asyncio.run(scenario()) > 0
