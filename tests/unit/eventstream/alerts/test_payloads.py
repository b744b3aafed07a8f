"""Slack and PagerDuty bodies built from a CloudWatch alarm's SNS message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventstream.alerts.models import AlarmMessageError, alarms_from_sns_event, parse_alarm
from eventstream.alerts.payloads import pagerduty_event, slack_message
from eventstream.alerts.service import AlertTargets, DeliveryError, deliver
from tests.support import PROJECT_DIR

SAMPLE = json.loads((PROJECT_DIR / "events" / "notifier_alarm.json").read_text())


def alarm_message(**changes: Any) -> dict[str, Any]:
    return {**json.loads(SAMPLE["Records"][0]["Sns"]["Message"]), **changes}


def test_the_sample_event_is_one_critical_alarm() -> None:
    (alarm,) = alarms_from_sns_event(SAMPLE)
    assert alarm.name == "eventstream-dev-p99-latency"
    assert alarm.new_state == "ALARM"
    assert alarm.severity == "critical"
    assert alarm.description.startswith("POST /v1/events p99")  # the tag is not shown
    assert alarm.metric == "PublishLatency"
    assert alarm.dedup_key == alarm.arn


def test_untagged_description_defaults_to_error_severity() -> None:
    assert parse_alarm(alarm_message(AlarmDescription="no tag")).severity == "error"


def test_a_message_that_is_not_an_alarm_is_refused() -> None:
    with pytest.raises(AlarmMessageError):
        parse_alarm('{"hello": "world"}')
    with pytest.raises(AlarmMessageError):
        alarms_from_sns_event({"body": "{}"})


def test_slack_message_has_fallback_text_and_blocks() -> None:
    body = slack_message(parse_alarm(alarm_message()))
    assert body["text"].startswith(":rotating_light: ALARM: eventstream-dev-p99-latency")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "*State*\nOK → ALARM" in fields
    assert "*Severity*\ncritical" in fields


def test_pagerduty_trigger_then_resolve_share_the_dedup_key() -> None:
    trigger = pagerduty_event(parse_alarm(alarm_message()), "R0UT1NGKEY")
    resolve = pagerduty_event(
        parse_alarm(alarm_message(NewStateValue="OK", OldStateValue="ALARM")), "R0UT1NGKEY"
    )
    assert trigger is not None
    assert resolve is not None
    assert trigger["event_action"] == "trigger"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "eventstream:us-east-1"
    assert trigger["payload"]["summary"].startswith("ALARM: eventstream-dev-p99-latency — POST")
    assert resolve == {
        "routing_key": "R0UT1NGKEY",
        "dedup_key": trigger["dedup_key"],
        "event_action": "resolve",
    }


def test_insufficient_data_pages_no_one() -> None:
    alarm = parse_alarm(alarm_message(NewStateValue="INSUFFICIENT_DATA"))
    assert pagerduty_event(alarm, "key") is None


def test_one_failing_target_does_not_stop_the_other() -> None:
    calls: list[str] = []

    def post(url: str, body: dict[str, Any]) -> int:
        calls.append(url)
        return 500 if "slack" in url else 202

    targets = AlertTargets("http://127.0.0.1/slack", "key", "http://127.0.0.1/pagerduty")
    with pytest.raises(DeliveryError, match="slack: HTTP 500"):
        deliver(parse_alarm(alarm_message()), targets, post)
    assert calls == ["http://127.0.0.1/slack", "http://127.0.0.1/pagerduty"]
