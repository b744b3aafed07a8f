"""A CloudWatch alarm state change, as CloudWatch publishes it to SNS (the message is JSON)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
SEVERITIES = ("critical", "error", "warning", "info")  # PagerDuty's, most severe first
DEFAULT_SEVERITY = "error"
_SEVERITY_TAG = re.compile(r"^\[(critical|error|warning|info)\]\s*", re.IGNORECASE)


class AlarmMessageError(ValueError):
    """An SNS record that is not a CloudWatch alarm state change."""


@dataclass(frozen=True)
class AlarmChange:
    name: str
    arn: str
    description: str
    severity: str  # from a leading "[critical]"-style tag of the description
    new_state: str
    old_state: str
    reason: str
    changed_at: str  # ISO 8601, as CloudWatch wrote it
    region: str
    account_id: str
    metric: str

    @property
    def dedup_key(self) -> str:
        """One PagerDuty incident per alarm: its trigger and its resolve share this key."""
        return (self.arn or self.name)[:255]

    @property
    def console_url(self) -> str:
        region = self.region_code or "us-east-1"
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#alarmsV2:alarm/{self.name}"
        )

    @property
    def region_code(self) -> str:
        # The ARN holds the code (us-east-1); the message's Region is a display name.
        parts = self.arn.split(":")
        return parts[3] if len(parts) > 3 and parts[3] else ""


def parse_alarm(message: str | dict[str, Any]) -> AlarmChange:
    try:
        doc = json.loads(message) if isinstance(message, str) else message
        name = str(doc["AlarmName"])
        new_state = str(doc["NewStateValue"])
    except (ValueError, KeyError, TypeError) as e:
        raise AlarmMessageError(f"not a CloudWatch alarm message: {e}") from e
    raw_description = str(doc.get("AlarmDescription") or "")
    tag = _SEVERITY_TAG.match(raw_description)
    trigger = doc.get("Trigger") or {}
    metric = str(trigger.get("MetricName") or "")
    if not metric and trigger.get("Metrics"):
        metric = "metric math"
    return AlarmChange(
        name=name,
        arn=str(doc.get("AlarmArn") or ""),
        description=raw_description[tag.end() :] if tag else raw_description,
        severity=tag.group(1).lower() if tag else DEFAULT_SEVERITY,
        new_state=new_state,
        old_state=str(doc.get("OldStateValue") or ""),
        reason=str(doc.get("NewStateReason") or ""),
        changed_at=str(doc.get("StateChangeTime") or ""),
        region=str(doc.get("Region") or ""),
        account_id=str(doc.get("AWSAccountId") or ""),
        metric=metric,
    )


def alarms_from_sns_event(event: dict[str, Any]) -> list[AlarmChange]:
    """Every alarm change of an SNS event (one record per message)."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise AlarmMessageError("not an SNS event: no Records")
    return [parse_alarm(record["Sns"]["Message"]) for record in records]
