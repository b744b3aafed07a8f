"""Our Standard Webhooks signatures against the reference implementation (PyPI standardwebhooks)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from eventstream.webhooks import signing
from eventstream.webhooks.signing import SignatureError


def test_a_new_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) <= 64
    assert signing.new_secret() != secret


@pytest.mark.parametrize(
    "body", [b'{"type":"event.published","data":{"x":1}}', '{"t":"\u00e9\u6f22"}'.encode()]
)
def test_our_signature_verifies_with_the_reference_library(body: bytes) -> None:
    secret = signing.new_secret()
    headers = signing.sign(secret, "evt_01JABCDEF", body)
    # The reference library takes the secret with its prefix and the body as text or bytes.
    Webhook(secret).verify(body, headers)
    Webhook(secret).verify(body.decode(), headers)


def test_the_reference_library_signs_what_we_verify() -> None:
    secret = signing.new_secret()
    now = int(time.time())
    body = b'{"a":1}'
    theirs = Webhook(secret).sign("msg_1", _dt(now), body.decode())
    signing.verify(
        secret,
        {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": theirs},
        body,
    )


def _dt(ts: int):
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def test_a_changed_body_id_or_secret_does_not_verify_with_either() -> None:
    secret = signing.new_secret()
    body = b'{"a":1}'
    headers = signing.sign(secret, "evt_1", body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(SignatureError):
        signing.verify(secret, {**headers, "webhook-id": "evt_2"}, body)
    with pytest.raises(SignatureError):
        signing.verify(secret, headers, b'{"a":2}')


def test_old_timestamps_and_missing_headers_are_refused() -> None:
    secret = signing.new_secret()
    body = b"{}"
    old = signing.sign(secret, "evt_1", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(SignatureError, match="tolerance"):
        signing.verify(secret, old, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, old)
    with pytest.raises(SignatureError, match="missing"):
        signing.verify(secret, {"webhook-id": "evt_1"}, body)


def test_any_of_several_signatures_may_match_during_a_rotation() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b"{}"
    headers = signing.sign(new, "evt_1", body)
    stale = signing.sign(old, "evt_1", body, timestamp=int(headers["webhook-timestamp"]))
    both = {
        **headers,
        "webhook-signature": f"{stale['webhook-signature']} {headers['webhook-signature']}",
    }
    signing.verify(new, both, body)
    signing.verify(old, both, body)


def test_the_signature_is_the_documented_hmac() -> None:
    # Fixed inputs so a change in what is signed is caught, not just a change in both sides.
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    sig = signing.signature(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    import hashlib
    import hmac

    expected = hmac.new(
        b"k" * 24, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', hashlib.sha256
    ).digest()
    assert sig == "v1," + base64.b64encode(expected).decode()
