"""Ports for local servers: checking one before starting a server on it (one clear message
instead of a crash), and picking free ones."""

from __future__ import annotations

import errno
import random
import socket
from pathlib import Path

PORTS_FROM = 10_000  # free ports are picked from here up to the ephemeral range
_handed_out: set[int] = set()  # never the same port twice in one process


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, bad host), or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"cannot listen on host {host!r}: {e.strerror}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The option servers set, so sockets in TIME_WAIT do not count as in use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use by another program"
            return f"cannot listen on {host}:{port}: {e}"
    return None


def _ephemeral_low() -> int:
    """Where the kernel's range for outgoing connections' local ports begins."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_ports(
    count: int, host: str = "127.0.0.1", kind: socket.SocketKind = socket.SOCK_STREAM
) -> list[int]:
    """`count` different ports nothing is bound to now, below the ephemeral range.

    A port the kernel picks for binding port 0 comes from that range, and until the server meant
    for it binds, any process's next outgoing connection (a worker's to Postgres) may take it:
    a cloud then failed to start with "port ... is in use".
    """
    high = _ephemeral_low()
    family = socket.getaddrinfo(host, 0, type=kind)[0][0]  # IPv6 hosts too
    odd_range = high <= PORTS_FROM + 1000  # then the kernel's pick after all
    ports: list[int] = []
    for _ in range(1000 * count):
        port = 0 if odd_range else random.randrange(PORTS_FROM, high)  # noqa: S311 (not a secret)
        if port in _handed_out:
            continue
        with socket.socket(family, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            port = int(s.getsockname()[1])
        _handed_out.add(port)
        ports.append(port)
        if len(ports) == count:
            return ports
    raise OSError(f"no {count} free ports on {host} between {PORTS_FROM} and {high}")
