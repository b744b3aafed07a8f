"""The JSON bodies Slack's incoming webhooks and PagerDuty's Events API v2 take.

Slack: https://api.slack.com/messaging/webhooks (`text` is the fallback, `blocks` the layout).
PagerDuty: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ and
.../resolve-events/: `trigger` opens an incident, `resolve` with the same `dedup_key` closes it.
"""

from __future__ import annotations

from typing import Any

from eventstream.alerts.models import ALARM, OK, AlarmChange

SOURCE = "eventstream"
SUMMARY_MAX = 1024  # PagerDuty truncates the summary at 1024 characters
_EMOJI = {ALARM: ":rotating_light:", OK: ":white_check_mark:"}


def summary(alarm: AlarmChange) -> str:
    text = f"{alarm.new_state}: {alarm.name}"
    if alarm.description:
        text += f" — {alarm.description}"
    return text[:SUMMARY_MAX]


def slack_message(alarm: AlarmChange) -> dict[str, Any]:
    emoji = _EMOJI.get(alarm.new_state, ":grey_question:")
    headline = f"{emoji} {alarm.new_state}: {alarm.name}"
    fields = [
        f"*State*\n{alarm.old_state or '?'} → {alarm.new_state}",
        f"*Severity*\n{alarm.severity}",
        f"*Metric*\n{alarm.metric or '-'}",
        f"*Since*\n{alarm.changed_at or '-'}",
    ]
    return {
        "text": f"{headline} — {alarm.reason}" if alarm.reason else headline,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": alarm.description or alarm.name},
                "fields": [{"type": "mrkdwn", "text": f} for f in fields],
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{alarm.reason or '-'} <{alarm.console_url}|alarm>"}
                ],
            },
        ],
    }


def pagerduty_event(alarm: AlarmChange, routing_key: str) -> dict[str, Any] | None:
    """`trigger` on ALARM, `resolve` on OK, None otherwise (INSUFFICIENT_DATA pages no one)."""
    base = {"routing_key": routing_key, "dedup_key": alarm.dedup_key}
    if alarm.new_state == OK:
        return {**base, "event_action": "resolve"}
    if alarm.new_state != ALARM:
        return None
    payload = {
        "summary": summary(alarm),
        "source": f"{SOURCE}:{alarm.region_code or alarm.region}",
        "severity": alarm.severity,
        "timestamp": alarm.changed_at or None,
        "component": SOURCE,
        "group": alarm.metric or None,
        "class": "cloudwatch-alarm",
        "custom_details": {
            "alarm": alarm.name,
            "reason": alarm.reason,
            "old_state": alarm.old_state,
            "account": alarm.account_id,
        },
    }
    return {
        **base,
        "event_action": "trigger",
        "payload": {k: v for k, v in payload.items() if v is not None},
        "links": [{"href": alarm.console_url, "text": "CloudWatch alarm"}],
        "client": "EventStream notifier",
    }
