"""The SSRF guard: a webhook may only reach public addresses, checked at creation and at connect.

Checking the URL when a subscription is created is not enough (the name may resolve elsewhere
later: DNS rebinding), so the core's resolver filters every address it connects to as well.
Local development sets WEBHOOK_ALLOW_PRIVATE=1, where receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

ALLOW_PRIVATE_ENV = "WEBHOOK_ALLOW_PRIVATE"
MAX_URL_LENGTH = 2048
# Names that always mean this machine or its private network, whatever DNS says.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrlError(ValueError):
    """A webhook URL the service refuses; the message says why (shown in the API's 422)."""


def private_allowed(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get(ALLOW_PRIVATE_ENV) == "1"


def is_public_address(address: str | Address) -> bool:
    """Whether a connection to `address` leaves for the public internet."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 64:ff9b::7f00:1 (NAT64) reach the IPv4 address inside them.
        inner = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if ip in ipaddress.IPv6Network("64:ff9b::/96")
            else None
        )
        if inner is not None:
            return is_public_address(inner)
    # is_global excludes private, loopback, link-local (169.254.169.254: cloud metadata),
    # shared (100.64/10), reserved and unspecified ranges; multicast is not a web server.
    return ip.is_global and not ip.is_multicast


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton's forms that ipaddress refuses but resolvers accept: 2130706433, 0x7f.1, 017.0.0.1
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: object, *, allow_private: bool) -> str:
    """Return `url` if it is an acceptable webhook target, else raise UnsafeUrlError."""
    if not isinstance(url, str) or not url:
        raise UnsafeUrlError("webhook_url must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"webhook_url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrlError("webhook_url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeUrlError(f"webhook_url is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrlError("webhook_url must be an http or https URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrlError("webhook_url has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("webhook_url must not carry credentials")
    if port == 0:
        raise UnsafeUrlError("webhook_url has port 0")
    if allow_private:
        return url
    literal = _literal_address(host)
    if literal is not None:
        if not is_public_address(literal):
            raise UnsafeUrlError("webhook_url points at a private, loopback or link-local address")
        return url
    name = host.lower()
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES) or "." not in name:
        raise UnsafeUrlError("webhook_url must name a public host")
    return url


def public_only(addresses: Iterable[str]) -> list[str]:
    """The addresses among `addresses` a delivery may connect to."""
    return [a for a in addresses if is_public_address(a)]
