"""Pull cursors: a position in the stream order (txid, seq), opaque to clients.

The text is base64url of "txid.seq"; only the exact encoding this module writes decodes, so a
client cannot hand in a cursor we never issued in some other spelling.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_RAW_RE = re.compile(r"(0|[1-9][0-9]{0,19})\.(0|[1-9][0-9]{0,18})")
_MAX_XID8 = 2**64 - 1
_MAX_SEQ = 2**63 - 1


class CursorError(ValueError):
    """Not a cursor this API returned."""


@dataclass(frozen=True, order=True)
class Position:
    """Everything at or before (txid, seq) in the stream order has been read."""

    txid: int
    seq: int


START = Position(0, 0)


def encode(position: Position) -> str:
    raw = f"{position.txid}.{position.seq}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(cursor: str) -> Position:
    if not isinstance(cursor, str) or not 1 <= len(cursor) <= 64:
        raise CursorError("cursor is not one this API returned")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("cursor is not one this API returned") from None
    match = _RAW_RE.fullmatch(raw)
    if match is None:
        raise CursorError("cursor is not one this API returned")
    position = Position(int(match[1]), int(match[2]))
    if position.txid > _MAX_XID8 or position.seq > _MAX_SEQ or encode(position) != cursor:
        raise CursorError("cursor is not one this API returned")
    return position
