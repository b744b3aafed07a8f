"""What the /v1 event routes do: validate, rate-limit, check the ACL, publish through the core,
and read events back for callers allowed to subscribe to their topic."""

from __future__ import annotations

import os
import re
from typing import Any

from eventstream.api.problems import Problem, forbidden, not_found
from eventstream.api.request import Caller
from eventstream.api.validation import Fields
from eventstream.auth import permissions
from eventstream.events import core_client, reads
from eventstream.events.ids import is_event_id
from eventstream.json_text import compact_json
from eventstream.observability.metrics import MetricName, count, milliseconds
from eventstream.observability.powertools import subsegment
from eventstream.protocol.constants import MAX_PAYLOAD_BYTES
from eventstream.ratelimit import service as ratelimit
from eventstream.topics import TopicError, validate_topic

DEFAULT_PRIORITY = 5
# Printable ASCII without spaces: keys travel in the core's frames and in logs.
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


def _publish_body(body: dict[str, Any]) -> tuple[str, bytes, int]:
    fields = Fields(body, allowed={"topic", "payload", "priority"})
    topic = fields.string("topic", max_len=255)
    if topic is not None:
        try:
            validate_topic(topic)
        except TopicError as e:
            fields.error("topic", str(e))
    if "payload" not in body:
        fields.error("payload", "is required (any JSON value)")
    payload = compact_json(body.get("payload")).encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Problem(413, f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    priority = body.get("priority", DEFAULT_PRIORITY)
    # bool is an int: `true` must not pass as priority 1.
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
        fields.error("priority", "must be an integer from 0 to 9")
    fields.done()
    assert topic is not None
    return topic, payload, int(priority)


def publish(
    caller: Caller, body: dict[str, Any], idempotency_key: str | None, trace_header: str
) -> tuple[dict[str, Any], dict[str, str], bool]:
    """(the 201 body, headers to send, whether it was a replay of an idempotency key)."""
    topic, payload, priority = _publish_body(body)
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key):
        raise Problem(422, "Idempotency-Key must be 1-255 printable ASCII characters")
    decision = ratelimit.enforce(caller, "publish")
    if not permissions.may(caller, topic, "publish"):
        raise forbidden(f"no publish permission on topic {topic!r}")
    try:
        with subsegment("core.publish"):  # the hop to the core, beside the core's own segment
            result = core_client.get_client().publish(
                topic,
                payload,
                priority,
                idempotency_key,
                producer=caller.sub,
                trace_header=trace_header,
            )
    except core_client.CoreBusy as e:
        raise Problem(
            503, "the event core is busy; try again", headers={"Retry-After": _seconds(e)}
        ) from None
    except core_client.CoreUnavailable:
        raise Problem(503, "the event core is unavailable", headers={"Retry-After": "1"}) from None
    except core_client.CoreRejected as e:
        raise Problem(422, f"the event core refused the event: {e.reason}") from None
    count(MetricName.EVENTS_PUBLISHED)
    milliseconds(MetricName.PUBLISH_LATENCY, result.latency_ms)
    answer = {
        "event_id": result.event_id,
        "status": "accepted",
        "timestamp": result.created_at,
        "latency_ms": round(result.latency_ms, 3),
    }
    return answer, decision.headers(), result.duplicate


def _seconds(busy: core_client.CoreBusy) -> str:
    return str(max(1, round(busy.retry_after_s)))


def get_event(caller: Caller, event_id: str) -> dict[str, Any]:
    """The event, if the caller may subscribe to its topic; 404 either way otherwise."""
    if not is_event_id(event_id):
        raise not_found("event")
    event = reads.event_by_id(event_id)
    # Same answer whether it does not exist or is not yours: ids reveal nothing.
    if event is None or not permissions.may(caller, event["topic"], "subscribe"):
        raise not_found("event")
    return event


def trace_header_from_env() -> str:
    """The X-Ray trace header of this invocation, which the core continues."""
    return os.environ.get("_X_AMZN_TRACE_ID", "")
