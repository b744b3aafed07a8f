"""Numbers of the wire protocol: version, frame types, nack codes and limits (docs/protocol.md)."""

from __future__ import annotations

import enum
import struct

PROTOCOL_VERSION = 1

# length (bytes after this field), version, type, flags, request id
HEADER = struct.Struct(">IBBHI")
HEADER_BYTES = HEADER.size  # 12
LENGTH_BYTES = 4
MIN_FRAME_LENGTH = HEADER_BYTES - LENGTH_BYTES  # a frame with an empty body

MAX_FRAME_BYTES = 1024 * 1024  # the whole frame, length prefix included
MAX_PAYLOAD_BYTES = 256 * 1024  # one event's payload, as the API promises
MAX_BATCH_ENTRIES = 1000
MAX_TRACE_HEADER_BYTES = 1024
MAX_REQUEST_ID = 2**32 - 1
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 0, 9, 5

# On PUBLISH and PUBLISH_BATCH: every event carries the id the client chose for it (a ULID), so
# a resend is known by its id. A receiver refuses unknown bits rather than ignore their meaning.
FLAG_EVENT_IDS = 0x0001
KNOWN_FLAGS = FLAG_EVENT_IDS
ULID_BYTES = 26


class FrameType(enum.IntEnum):
    PUBLISH = 1
    PUBLISH_BATCH = 2
    ACK = 3
    NACK = 4
    STATS = 5
    STATS_REPLY = 6
    PING = 7
    PONG = 8


class NackCode(enum.IntEnum):
    """Why a request was refused; `retryable` codes may succeed if sent again unchanged."""

    BUSY = 1  # the queue is full: retry after retry_after_ms
    INVALID = 2  # malformed frame or a field outside its grammar
    TOO_LARGE = 3  # frame, payload or batch over its limit
    UNSUPPORTED_VERSION = 4
    INTERNAL = 5  # a bug or an unexpected failure in the core
    UNAVAILABLE = 6  # the database cannot commit, or the node is shutting down
    UNSUPPORTED_TYPE = 7  # a frame type this node does not serve

    @property
    def retryable(self) -> bool:
        return self in (NackCode.BUSY, NackCode.UNAVAILABLE)

    @property
    def label(self) -> str:
        return self.name.lower()
