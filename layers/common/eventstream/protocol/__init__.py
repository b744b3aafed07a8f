"""The core's binary wire protocol (docs/protocol.md): one codec for the client and the server."""

from eventstream.protocol.codec import (
    decode_body,
    encode_ack,
    encode_nack,
    encode_ping,
    encode_pong,
    encode_publish,
    encode_publish_batch,
    encode_stats,
    encode_stats_reply,
)
from eventstream.protocol.constants import (
    MAX_BATCH_ENTRIES,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    FrameType,
    NackCode,
)
from eventstream.protocol.errors import FrameError, StreamError
from eventstream.protocol.messages import (
    Ack,
    AckEntry,
    BatchEntry,
    Message,
    Nack,
    Ping,
    Pong,
    Publish,
    PublishBatch,
    Stats,
    StatsReply,
)
from eventstream.protocol.reader import FrameReader, RawFrame

__all__ = [
    "MAX_BATCH_ENTRIES",
    "MAX_FRAME_BYTES",
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "Ack",
    "AckEntry",
    "BatchEntry",
    "FrameError",
    "FrameReader",
    "FrameType",
    "Message",
    "Nack",
    "NackCode",
    "Ping",
    "Pong",
    "Publish",
    "PublishBatch",
    "RawFrame",
    "Stats",
    "StatsReply",
    "StreamError",
    "decode_body",
    "encode_ack",
    "encode_nack",
    "encode_ping",
    "encode_pong",
    "encode_publish",
    "encode_publish_batch",
    "encode_stats",
    "encode_stats_reply",
]
