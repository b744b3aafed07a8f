"""The Lambda runtime emulator seen from outside: timeouts, concurrency, memory, REPORT lines."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
from botocore.config import Config

from tests.support import RunningCloud

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>[\d.]+) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB(\tInit Duration: (?P<init>[\d.]+) ms)?"
)


def stats(cloud: RunningCloud) -> dict:
    return httpx.get(f"{cloud.lambda_url}/_local/functions").json()


def lambda_client(cloud: RunningCloud):
    return boto3.client(
        "lambda",
        endpoint_url=cloud.lambda_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def test_report_line_per_invoke_with_init_duration_on_cold_start(cloud: RunningCloud) -> None:
    client = lambda_client(cloud)
    mark = len(cloud.lines)
    first = client.invoke(FunctionName="ColdFunction", Payload=b'{"path": "/cold"}')
    second = client.invoke(FunctionName="ColdFunction", Payload=b'{"path": "/warm"}')
    pids = [json.loads(json.loads(r["Payload"].read())["body"])["pid"] for r in (first, second)]
    assert pids[0] == pids[1]  # the second call is served warm by the same worker
    cloud.wait_for_line(r"ColdFunction\] REPORT.*\n?", since=mark)
    reports = [
        REPORT.search(line)
        for line in cloud.output_since(mark)
        if line.startswith("[eventstream-local-ColdFunction] REPORT")
    ]
    assert len(reports) == 2
    cold, warm = reports
    assert cold is not None
    assert warm is not None
    assert cold["init"] is not None
    assert float(cold["init"]) > 0
    assert warm["init"] is None
    assert cold["size"] == warm["size"] == "256"
    assert int(cold["used"]) > 0
    assert int(cold["billed"]) >= float(cold["duration"]) + float(cold["init"])
    assert cold["id"] != warm["id"]


def test_timeout_is_504_and_a_fresh_worker_takes_over(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    before = api.get("/test/slow?seconds=0").json()["pid"]
    mark = len(cloud.lines)
    timed_out = api.get("/test/slow?seconds=30")
    assert timed_out.status_code == 504
    assert timed_out.json() == {"message": "Endpoint request timed out"}
    cloud.wait_for_line(r"Task timed out after 2\.00 seconds", since=mark)
    after = api.get("/test/slow?seconds=0")
    assert after.status_code == 200
    assert after.json()["pid"] != before


def test_parallel_requests_scale_workers_to_the_concurrency_limit(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    def call(_: int) -> httpx.Response:
        return httpx.get(f"{cloud.api_url}/test/sleep?seconds=0.6", timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(call, range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    sleep = stats(cloud)["SleepFunction"]
    assert sleep["concurrency_limit"] == 4
    assert sleep["peak_workers"] == 4
    assert len({r.json()["pid"] for r in responses}) == 4


def test_memory_over_memory_size_kills_the_worker(cloud: RunningCloud, api: httpx.Client) -> None:
    mark = len(cloud.lines)
    resp = api.get("/test/memory?mb=400")
    assert resp.status_code == 502
    line = cloud.wait_for_line(r"MemoryHogFunction\] REPORT", since=mark)
    assert "Max Memory Used: 128 MB" in line
    assert api.get("/test/memory?mb=1").status_code == 200


def test_lambda_invoke_api_works_with_boto3(cloud: RunningCloud) -> None:
    client = lambda_client(cloud)
    resp = client.invoke(
        FunctionName="eventstream-local-CrashFunction", Payload=b"{}", LogType="Tail"
    )
    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    failed = client.invoke(
        FunctionName="CrashFunction", Payload=b'{"queryStringParameters": {"raise": "1"}}'
    )
    assert failed["FunctionError"] == "Unhandled"
    assert b"BoomError" in failed["Payload"].read()


def test_function_output_reaches_cloudwatch_logs(cloud: RunningCloud, api: httpx.Client) -> None:
    api.get("/test/echo/logged")
    logs = boto3.client(
        "logs",
        endpoint_url=cloud.aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(
                logGroupName="/aws/lambda/eventstream-local-EchoFunction"
            )
            messages = [e["message"] for e in events["events"]]
        except logs.exceptions.ResourceNotFoundException:
            messages = []
        if any("echo /test/echo/logged" in m for m in messages):
            break
        time.sleep(0.2)
    assert any("echo /test/echo/logged" in m for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)
