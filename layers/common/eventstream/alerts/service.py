"""Deliver alarm changes to the configured targets; the targets come from Secrets Manager.

The secret is a JSON object: `slack_webhook_url`, `pagerduty_routing_key` and optionally
`pagerduty_events_url` (default PagerDuty's); an empty value turns that target off.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventstream.alerts.models import AlarmChange
from eventstream.alerts.payloads import pagerduty_event, slack_message
from eventstream.observability.powertools import subsegment

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SECRET_MAX_AGE_S = 300


class DeliveryError(Exception):
    """One or more targets refused or could not be reached; the message names them."""


@dataclass(frozen=True)
class AlertTargets:
    slack_webhook_url: str = ""
    pagerduty_routing_key: str = ""
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL

    @classmethod
    def from_secret(cls, doc: dict[str, Any]) -> AlertTargets:
        return cls(
            slack_webhook_url=str(doc.get("slack_webhook_url") or ""),
            pagerduty_routing_key=str(doc.get("pagerduty_routing_key") or ""),
            pagerduty_events_url=str(doc.get("pagerduty_events_url") or PAGERDUTY_EVENTS_URL),
        )


def load_targets(secret_id: str) -> AlertTargets:
    from eventstream.secrets import json_secret

    return AlertTargets.from_secret(json_secret(secret_id, max_age_s=SECRET_MAX_AGE_S))


Post = Callable[[str, dict[str, Any]], int]


def post_json(url: str, body: dict[str, Any], timeout_s: float = 5.0) -> int:
    """POST JSON; the HTTP status. Slack answers 200 "ok", PagerDuty 202."""
    request = urllib.request.Request(  # noqa: S310 - URLs from our own secret
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def deliver(alarm: AlarmChange, targets: AlertTargets, post: Post = post_json) -> list[str]:
    """Send to every configured target; the names of those that took it.

    Raises DeliveryError after trying all, so one target's outage does not silence the other
    and the invocation fails (SNS retries it; PagerDuty's dedup_key absorbs a repeat).
    """
    sent, failed = [], []
    outgoing: list[tuple[str, str, dict[str, Any]]] = []
    if targets.slack_webhook_url:
        outgoing.append(("slack", targets.slack_webhook_url, slack_message(alarm)))
    if targets.pagerduty_routing_key:
        event = pagerduty_event(alarm, targets.pagerduty_routing_key)
        if event is not None:
            outgoing.append(("pagerduty", targets.pagerduty_events_url, event))
    for name, url, body in outgoing:
        with subsegment(f"notify.{name}"):
            try:
                status = post(url, body)
            except OSError as e:
                failed.append(f"{name}: {e}")
                continue
        if 200 <= status < 300:
            sent.append(name)
        else:
            failed.append(f"{name}: HTTP {status}")
    if failed:
        raise DeliveryError(f"{alarm.name} {alarm.new_state}: " + "; ".join(failed))
    return sent
