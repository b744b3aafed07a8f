"""CloudWatch alarm → SNS → here → Slack (incoming webhook) and PagerDuty (Events API v2)."""

from __future__ import annotations

import os
from typing import Any

from eventstream.alerts.models import alarms_from_sns_event
from eventstream.alerts.service import deliver, load_targets
from eventstream.observability.powertools import logger, observed


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    targets = load_targets(os.environ["ALERTS_SECRET_ARN"])
    delivered = []
    for alarm in alarms_from_sns_event(event):
        sent = deliver(alarm, targets)
        logger().info(
            "alarm delivered",
            extra={"alarm": alarm.name, "state": alarm.new_state, "targets": sent},
        )
        delivered.append({"alarm": alarm.name, "state": alarm.new_state, "targets": sent})
    return {"delivered": delivered}
