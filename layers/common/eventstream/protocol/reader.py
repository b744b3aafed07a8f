"""Split a byte stream into frames, however the bytes arrive (one at a time or many at once)."""

from __future__ import annotations

from typing import NamedTuple

from eventstream.protocol.constants import (
    HEADER,
    HEADER_BYTES,
    LENGTH_BYTES,
    MAX_FRAME_BYTES,
    MIN_FRAME_LENGTH,
    NackCode,
)
from eventstream.protocol.errors import StreamError


class RawFrame(NamedTuple):
    version: int
    type: int
    flags: int
    request_id: int
    body: bytes


class FrameReader:
    """Buffers partial frames; `feed` returns the frames completed so far.

    A length outside [MIN_FRAME_LENGTH, MAX_FRAME_BYTES - 4] is a StreamError: past it, nothing
    tells where the next frame starts, so the connection must close. The check happens on the
    first four bytes, so an oversized frame is refused before any of it is buffered.
    """

    __slots__ = ("_buf", "broken")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.broken = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[RawFrame]:
        if self.broken:
            raise StreamError(NackCode.INVALID, "stream already failed")
        buf = self._buf
        buf += data
        frames: list[RawFrame] = []
        pos = 0
        size = len(buf)
        unpack = HEADER.unpack_from
        while size - pos >= LENGTH_BYTES:
            length = int.from_bytes(buf[pos : pos + LENGTH_BYTES], "big")
            if not MIN_FRAME_LENGTH <= length <= MAX_FRAME_BYTES - LENGTH_BYTES:
                self.broken = True
                code = NackCode.TOO_LARGE if length > MIN_FRAME_LENGTH else NackCode.INVALID
                raise StreamError(
                    code,
                    f"frame length {length} is outside {MIN_FRAME_LENGTH}.."
                    f"{MAX_FRAME_BYTES - LENGTH_BYTES}",
                )
            end = pos + LENGTH_BYTES + length
            if end > size:
                break
            _, version, ftype, flags, request_id = unpack(buf, pos)
            frames.append(
                RawFrame(version, ftype, flags, request_id, bytes(buf[pos + HEADER_BYTES : end]))
            )
            pos = end
        if pos:
            del buf[:pos]
        return frames
