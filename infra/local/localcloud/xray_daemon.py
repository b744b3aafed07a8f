"""A local stand-in for the X-Ray daemon: UDP segments in, moto's X-Ray service out.

The SDKs send `{"format":"json","version":1}\\n<segment>` datagrams to 127.0.0.1:2000; the real
daemon batches them to the X-Ray API, and so does this one. Like the real daemon it is a process of
its own: in the local cloud's process its work took the GIL from the gateway for
milliseconds at a time, which showed in every request's p99.

Its batches go to moto's X-Ray service through a pipe, to a thread in moto's process
(`localcloud.xray_store`) that hands the documents to moto's X-Ray backend, as its
`PutTraceSegments` does, when traces are read. On
AWS the API is on other machines; here a `PutTraceSegments` call of 50 documents cost ~3 ms of
CPU on the cores the requests need (boto3 building and signing it, moto's HTTP server and
JSON), and those bursts were the slowest 1 % of requests. `eventstream local traces` and boto3
read the traces back through the API as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import socket
import sys
import time
from typing import TextIO

from localcloud.priority import BACKGROUND_NICENESS, lower_priority

HEADER = b'{"format":"json","version":1}'
BATCH_MAX = 50  # the real daemon's batch: PutTraceSegments takes at most 50 documents a call
# Gather for one window after the first segment, as the real daemon does: one call per request's
# few segments cost the whole cloud ~2 ms of CPU a request under load.
BATCH_WINDOW_S = 0.25
# Once a batch is open, the socket is read at most this often: a wake-up per datagram cost the
# daemon 35-40 µs a datagram, 5-9 µs read together; six per traced request. The kernel holds
# what arrives meanwhile.
READ_PACE_S = 0.02
RECEIVE_BUFFER = 1 << 20
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class XRayDaemonError(Exception):
    pass


class XRayDaemon:
    """The daemon's child process, seen from the local cloud: start, address, stop, counts.

    `sink_fd` is the write end of the pipe to moto's X-Ray service (`MotoServer.xray_fd`)."""

    def __init__(self, sink_fd: int, host: str = "127.0.0.1", port: int = 2000) -> None:
        self.sink_fd = sink_fd
        self.host = host
        self.port = port
        self._proc: asyncio.subprocess.Process | None = None
        self.forwarded = 0
        self.failed = 0
        self.malformed = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "localcloud.xray_daemon",
            str(self.sink_fd),
            self.host,
            str(self.port),
            stdin=asyncio.subprocess.PIPE,  # its EOF (we stopped or died) ends the daemon
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(self.sink_fd,),
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        word, _, rest = line.decode(errors="replace").strip().partition(" ")
        if word != "ready":
            await self.stop()
            raise XRayDaemonError(
                f"X-Ray daemon: {rest or 'did not start'}; "
                "is another daemon running? choose another with --xray-port"
            )
        self.port = int(rest)

    async def stop(self) -> None:
        """Flush what is batched, read the daemon's counts, and wait for it to exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        try:
            out = await asyncio.wait_for(proc.stdout.read(), STOP_TIMEOUT_S)
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("counts "):
                counts = json.loads(line[len("counts ") :])
                self.forwarded, self.failed = counts["forwarded"], counts["failed"]
                self.malformed = counts["malformed"]


def segment_line(datagram: bytes) -> bytes | None:
    """The segment document of one datagram as one line for the pipe, or None when it has no
    JSON-format header. The document itself is the X-Ray service's to check, as with the real
    daemon: moto's log names one it refuses."""
    header, newline, body = datagram.partition(b"\n")
    if not newline:
        return None
    if header != HEADER:
        try:
            if json.loads(header).get("format") != "json":
                return None
        except (ValueError, AttributeError):
            return None
    # Lines frame the pipe. A newline in JSON can only be whitespace between tokens (inside a
    # string it is escaped), so a space in its place leaves the document as it was.
    return body.replace(b"\n", b" ")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(sink_fd: int, host: str, port: int, out: TextIO) -> None:
    """The daemon process: runs until its stdin reaches EOF, then flushes and prints counts."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as e:
        print(f"error cannot listen on UDP {host}:{port} ({e.strerror})", file=out, flush=True)
        return
    sock.setblocking(False)
    with contextlib.suppress(OSError):  # the kernel caps it at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    print(f"ready {sock.getsockname()[1]}", file=out, flush=True)
    counts = {"forwarded": 0, "failed": 0, "malformed": 0}
    batch: list[bytes] = []
    deadline = 0.0
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    closing = False
    while not closing:
        timeout = max(0.0, deadline - time.monotonic()) if batch else None
        for key, _ in selector.select(timeout):
            if key.fileobj is sock:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        line = segment_line(sock.recv(65536))
                        if line is None:
                            counts["malformed"] += 1
                            continue
                        if not batch:
                            deadline = time.monotonic() + BATCH_WINDOW_S
                        batch.append(line)
            elif not os.read(sys.stdin.fileno(), 4096):
                closing = True
        if batch and (closing or len(batch) >= BATCH_MAX or time.monotonic() >= deadline):
            for i in range(0, len(batch), BATCH_MAX):
                chunk = batch[i : i + BATCH_MAX]
                try:
                    write_all(sink_fd, b"\n".join(chunk) + b"\n")
                    counts["forwarded"] += len(chunk)
                except OSError:  # moto is gone: traces must never take anything down
                    counts["failed"] += len(chunk)
            batch.clear()
        if batch and not closing:
            time.sleep(max(0.0, min(READ_PACE_S, deadline - time.monotonic())))
    sock.close()
    print(f"counts {json.dumps(counts)}", file=out, flush=True)


if __name__ == "__main__":
    lower_priority(BACKGROUND_NICENESS)
    serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.stdout)
