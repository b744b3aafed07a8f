"""The dashboard page is self-contained and its CSP allows exactly its own inline code."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from eventstream.dashboard import content_security_policy, headers, html
from eventstream.dashboard import page as page_module


def directives() -> dict[str, list[str]]:
    out = {}
    for part in content_security_policy().split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


class Inline(HTMLParser):
    """Collects what a browser would see: inline blocks, URL-bearing attributes, style= uses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: dict[str, list[str]] = {"script": [], "style": []}
        self.urls: list[tuple[str, str, str]] = []
        self.blocked_attributes = 0
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.blocks:
            self._open = tag
            self.blocks[tag].append("")
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "poster", "data", "formaction"}:
                self.urls.append((tag, name, value or ""))
            if name == "style" or name.startswith("on"):
                self.blocked_attributes += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.blocks[self._open][-1] += data


@pytest.fixture(scope="module")
def parsed() -> Inline:
    parser = Inline()
    parser.feed(html())
    return parser


def test_nothing_external_is_referenced() -> None:
    page = html()
    assert not re.search(r"(?i)\b(?:https?|wss?|ftp):", page)
    assert "//" not in re.sub(r"(?m)^\s*//.*$|\s//.*$", "", page), "protocol-relative URL?"
    assert "@import" not in page
    assert not re.search(r"(?i)url\(", page)


def test_the_only_url_attribute_is_the_data_favicon(parsed: Inline) -> None:
    assert parsed.urls == [("link", "href", "data:,")]


def test_no_style_or_event_handler_attributes_which_the_csp_would_block(parsed: Inline) -> None:
    assert parsed.blocked_attributes == 0


def test_the_csp_allows_exactly_the_inline_script_and_style(parsed: Inline) -> None:
    (script,) = parsed.blocks["script"]
    (style,) = parsed.blocks["style"]
    csp = directives()
    assert csp["script-src"] == [sha256_source(script)]
    assert csp["style-src"] == [sha256_source(style)]


def test_the_csp_is_strict() -> None:
    csp = directives()
    assert csp["default-src"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["require-trusted-types-for"] == ["'script'"]
    policy = content_security_policy()
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "blob:"):
        assert loose not in policy.split(), loose


def test_the_page_never_writes_markup_from_data(parsed: Inline) -> None:
    (script,) = parsed.blocks["script"]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_the_key_is_read_from_the_fragment_and_kept_in_session_storage(parsed: Inline) -> None:
    (script,) = parsed.blocks["script"]
    assert "location.hash" in script
    assert "sessionStorage" in script
    assert "localStorage" not in script
    assert "URLSearchParams(location.search" not in script  # a query string reaches logs


def test_response_headers() -> None:
    h = headers()
    assert h["Content-Type"] == "text/html; charset=utf-8"
    assert h["Content-Security-Policy"] == content_security_policy()
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    "broken",
    [
        "<html><style>a{}</style></html>",  # no script
        "<script>1</script><script>2</script><style>a{}</style>",  # two scripts
        '<script nonce="x">1</script><style>a{}</style>',  # an attribute the hash cannot cover
    ],
)
def test_a_page_the_hashes_cannot_describe_is_refused(
    broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_module, "html", lambda: broken)
    page_module.content_security_policy.cache_clear()
    try:
        with pytest.raises(page_module.PageError):
            page_module.content_security_policy()
    finally:
        page_module.content_security_policy.cache_clear()
