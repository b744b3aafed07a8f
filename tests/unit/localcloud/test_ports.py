"""Free ports for local servers: outside the kernel's ephemeral range, distinct, really free."""

from __future__ import annotations

import itertools
import socket

import pytest

from localcloud import ports
from localcloud.ports import free_ports


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = ports._ephemeral_low()
    picked = free_ports(20) + free_ports(20)  # two calls: no port twice
    assert len(set(picked)) == 40
    assert all(ports.PORTS_FROM <= p < low for p in picked)
    for port in picked[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    (udp,) = free_ports(1, kind=socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", udp))


def test_a_port_in_use_is_never_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # the kernel's pick is in the ephemeral range; force it
        taken.listen()
        busy = taken.getsockname()[1]
        candidates = itertools.chain([busy, busy], itertools.count(20_001))
        monkeypatch.setattr(ports, "_ephemeral_low", lambda: 60_000)
        monkeypatch.setattr(ports.random, "randrange", lambda *_: next(candidates))
        (port,) = free_ports(1)
    assert port != busy


def test_an_ipv6_host_gets_ports_too() -> None:
    (port,) = free_ports(1, "::1")
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", port))
