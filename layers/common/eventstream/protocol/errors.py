"""Protocol errors: one frame that cannot be served, or a stream that cannot go on."""

from __future__ import annotations

from eventstream.protocol.constants import NackCode


class FrameError(ValueError):
    """One frame is wrong, but its boundaries are known: answer it with a nack and go on."""

    def __init__(
        self, code: NackCode, message: str, request_id: int = 0, retry_after_ms: int = 0
    ) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id
        self.retry_after_ms = retry_after_ms


class StreamError(FrameError):
    """The byte stream itself is broken (bad length): answer with a nack, then close."""
