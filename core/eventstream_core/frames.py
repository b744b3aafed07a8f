"""The batch frames a node is sent, their events decoded by the native layer.

`eventstream.protocol.codec.decode_publish_batch` is the reference, in Python, for the client and
the tests; the node runs the same loop in C (`eventstream_native.batch_entries`): in Python it
took a third of the event loop's time.
"""

from __future__ import annotations

from eventstream.protocol import FrameError, NackCode
from eventstream.protocol.codec import decode_batch_head
from eventstream.protocol.constants import FLAG_EVENT_IDS, MAX_PAYLOAD_BYTES
from eventstream.protocol.messages import EventFields
from eventstream_native import batch_entries


def decode_batch(rid: int, body: bytes, flags: int) -> tuple[str, str, list[EventFields]]:
    """Producer, trace header and events of a PUBLISH_BATCH body; FrameError if it is wrong."""
    producer, trace, count, start = decode_batch_head(rid, body)
    with_ids = bool(flags & FLAG_EVENT_IDS)
    try:
        events = batch_entries(body, start, count, with_ids, MAX_PAYLOAD_BYTES)
    except ValueError as e:
        code, message = e.args
        raise FrameError(NackCode(code), message, rid) from None
    return producer, trace, events
