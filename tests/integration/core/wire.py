"""A raw protocol connection for tests that need frames the client would never send."""

from __future__ import annotations

import socket

from eventstream.protocol import FrameReader, decode_body
from eventstream.protocol.messages import Message


class RawConnection:
    def __init__(self, address: str, timeout_s: float = 10.0) -> None:
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.reader = FrameReader()
        self.pending: list[Message] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, count: int) -> list[Message]:
        """The next `count` replies, in the order they arrive."""
        while len(self.pending) < count:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the node")
            self.pending += [decode_body(*raw) for raw in self.reader.feed(data)]
        out, self.pending = self.pending[:count], self.pending[count:]
        return out

    def at_eof(self) -> bool:
        """True once the node has closed the connection (after any replies already sent)."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return True
            self.pending += [decode_body(*raw) for raw in self.reader.feed(data)]

    def close(self) -> None:
        self.sock.close()
