"""Standard Webhooks (https://www.standardwebhooks.com/) signatures: sign, verify, new secrets.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the secret's bytes
after the ``whsec_`` prefix, base64-decoded; the signature header is a space-separated list of
``v1,<base64 HMAC-SHA256>`` (several while a secret is being rotated).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
TOLERANCE_S = 5 * 60  # the spec's suggested window against replays


class SignatureError(ValueError):
    """A delivery whose headers or signature do not check out; the message says which."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the secret is not whsec_ followed by base64") from None


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers a delivery carries."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature(secret, msg_id, ts, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Check a delivery as a receiver would; raise SignatureError if it does not verify."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    raw_ts = lower.get("webhook-timestamp")
    sig_header = lower.get("webhook-signature")
    if not msg_id or not raw_ts or not sig_header:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not raw_ts.isascii() or not raw_ts.isdigit():
        raise SignatureError("webhook-timestamp is not an integer")
    ts = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise SignatureError("webhook-timestamp is outside the tolerance window")
    expected = signature(secret, msg_id, ts, body).encode("ascii")
    for candidate in sig_header.split(" "):
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode("ascii", "replace"), expected):
            return
    raise SignatureError("no signature matches")
