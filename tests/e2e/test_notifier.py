"""The notifier Lambda in the local cloud: its secret in moto, Slack and PagerDuty on a local
receiver that records the exact requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from localcloud.aws_endpoint import seed_secret
from tests.support import PROJECT_DIR, RunningCloud, free_port

NOTIFIER = "eventstream-dev-notifier"
SAMPLE = json.loads((PROJECT_DIR / "events" / "notifier_alarm.json").read_text())


class Receiver(ThreadingHTTPServer):
    requests: list[tuple[str, dict[str, str], Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, dict(self.headers), body))
        if self.path == "/slack":
            status, answer, kind = 200, b"ok", "text/plain"
        else:  # PagerDuty's answer to an accepted event
            answer = json.dumps(
                {"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}
            ).encode()
            status, kind = 202, "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", free_port()), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sns_event(**changes: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(SAMPLE))
    sns = event["Records"][0]["Sns"]
    sns["Message"] = json.dumps({**json.loads(sns["Message"]), **changes})
    return event


def invoke(cloud: RunningCloud, event: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{cloud.lambda_url}/2015-03-31/functions/{NOTIFIER}/invocations",
        json=event,
        timeout=60,
    )


def test_alarm_then_recovery_reach_slack_and_pagerduty(
    cloud: RunningCloud, receiver: Receiver
) -> None:
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    seed_secret(
        cloud.aws_endpoint_url,
        "us-east-1",
        "eventstream/dev/alerts",
        {
            "slack_webhook_url": f"{base}/slack",
            "pagerduty_routing_key": "e93facc04764012d7bfb002500d5d1a6",
            "pagerduty_events_url": f"{base}/v2/enqueue",
        },
    )
    fired = invoke(cloud, sns_event())
    assert fired.status_code == 200
    assert "x-amz-function-error" not in fired.headers, fired.text
    assert fired.json()["delivered"][0]["targets"] == ["slack", "pagerduty"]
    recovered = invoke(cloud, sns_event(NewStateValue="OK", OldStateValue="ALARM"))
    assert "x-amz-function-error" not in recovered.headers, recovered.text

    paths = [path for path, _, _ in receiver.requests]
    assert paths == ["/slack", "/v2/enqueue", "/slack", "/v2/enqueue"]
    for _, headers, _ in receiver.requests:
        assert headers["Content-Type"] == "application/json"
    slack_alarm, trigger = receiver.requests[0][2], receiver.requests[1][2]
    slack_ok, resolve = receiver.requests[2][2], receiver.requests[3][2]

    assert slack_alarm["text"].startswith(":rotating_light: ALARM: eventstream-dev-p99-latency")
    assert slack_alarm["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":rotating_light: ALARM: eventstream-dev-p99-latency",
        },
    }
    assert slack_ok["text"].startswith(":white_check_mark: OK: eventstream-dev-p99-latency")

    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:eventstream-dev-p99-latency"
    assert trigger["routing_key"] == "e93facc04764012d7bfb002500d5d1a6"
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == arn
    assert trigger["payload"]["summary"].startswith("ALARM: eventstream-dev-p99-latency — ")
    assert trigger["payload"]["source"] == "eventstream:us-east-1"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["timestamp"] == "2026-11-24T20:00:12.345+0000"
    assert resolve == {
        "routing_key": "e93facc04764012d7bfb002500d5d1a6",
        "dedup_key": arn,
        "event_action": "resolve",
    }


def test_an_unreachable_target_fails_the_invocation(cloud: RunningCloud) -> None:
    # A warm worker may still hold the other test's secret (cached 300 s), whose receiver is
    # gone too: either way the target is a closed port.
    closed = f"http://127.0.0.1:{free_port()}"
    seed_secret(
        cloud.aws_endpoint_url,
        "us-east-1",
        "eventstream/dev/alerts",
        {"slack_webhook_url": f"{closed}/slack", "pagerduty_routing_key": ""},
    )
    failed = invoke(cloud, sns_event(AlarmName="unreachable"))
    if "x-amz-function-error" not in failed.headers:
        pytest.fail(f"delivery to a closed port succeeded: {failed.text}")
    assert failed.headers["x-amz-function-error"] == "Unhandled"
    assert failed.json()["errorType"] == "DeliveryError"
