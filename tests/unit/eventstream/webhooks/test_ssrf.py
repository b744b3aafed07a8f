"""The SSRF guard: only http(s) to public hosts, unless local development allows private ones."""

from __future__ import annotations

import pytest

from eventstream.webhooks.ssrf import UnsafeUrlError, check_url, is_public_address, private_allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "http://hooks.example.org:8443/a?b=c",
        "https://93.184.216.34/x",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/x",
    ],
)
def test_public_targets_are_accepted(url: str) -> None:
    assert check_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1.2.3:8080/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://017700000001/",
        "http://intranet/",
        "http://db.internal/",
        "http://printer.local/",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://example.com:99999/",
        "https://exa mple.com/",
        "https://example.com/\r\nX-Injected: 1",
        "",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_malformed_urls_are_refused_even_in_local_development(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url(url, allow_private=True)


def test_local_development_may_target_loopback() -> None:
    assert check_url("http://127.0.0.1:9000/hook", allow_private=True)
    assert private_allowed({"WEBHOOK_ALLOW_PRIVATE": "1"})
    assert not private_allowed({"WEBHOOK_ALLOW_PRIVATE": "true"})
    assert not private_allowed({})


def test_resolved_addresses_are_judged_the_same_way() -> None:
    assert is_public_address("8.8.8.8")
    assert not is_public_address("10.1.2.3")
    assert not is_public_address("::ffff:10.1.2.3")
    assert not is_public_address("224.0.0.1")
    assert not is_public_address("not-an-ip")
