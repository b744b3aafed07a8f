"""The delivery's settings from the environment and the body a receiver gets."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from eventstream.webhooks.retry import SVIX_SCHEDULE, ScheduleError
from eventstream.webhooks.store import DueDelivery
from eventstream_core.delivery import DeliverySettings, request_body


def test_defaults_are_svix_schedule_a_10_s_timeout_and_no_private_targets() -> None:
    s = DeliverySettings.from_env({})
    assert s.enabled
    assert s.schedule == SVIX_SCHEDULE
    assert s.timeout_s == 10.0
    assert not s.allow_private


def test_the_environment_compresses_the_schedule_for_tests() -> None:
    s = DeliverySettings.from_env(
        {
            "WEBHOOK_RETRY_SCHEDULE": "0,0.05,0.1",
            "WEBHOOK_TIMEOUT_S": "2",
            "WEBHOOK_POLL_S": "0.05",
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "WEBHOOK_DELIVERY": "0",
        }
    )
    assert s.schedule == (0, 0.05, 0.1)
    assert (s.timeout_s, s.poll_s, s.allow_private, s.enabled) == (2.0, 0.05, True, False)
    with pytest.raises(ScheduleError):
        DeliverySettings.from_env({"WEBHOOK_RETRY_SCHEDULE": "soon"})


def test_the_body_is_a_standard_webhooks_envelope_around_the_event() -> None:
    created = dt.datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=dt.UTC)
    delivery = DueDelivery(
        id=1,
        attempt=1,
        subscription_id="s",
        webhook_url="https://example.com/",
        signing_secret="whsec_x",
        event_id="evt_01JABC",
        topic="orders/eu",
        payload={"total": 12.5, "items": ["a"], "note": "caf\u00e9"},
        priority=7,
        created_at=created,
    )
    body = json.loads(request_body(delivery))
    assert body == {
        "type": "event.published",
        "timestamp": "2026-11-24T12:00:00.123456Z",
        "data": {
            "event_id": "evt_01JABC",
            "topic": "orders/eu",
            "payload": {"total": 12.5, "items": ["a"], "note": "caf\u00e9"},
            "priority": 7,
            "created_at": "2026-11-24T12:00:00.123456Z",
        },
    }
