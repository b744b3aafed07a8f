"""page.html and the headers it is served with, including a CSP built from the page itself.

The page's one inline <style> and one inline <script> are allowed by their SHA-256 hashes, so the
policy needs no 'unsafe-inline' and nothing else can run or load: a topic name that carried
markup would still be inert, and the page can only talk to its own origin (the stats API).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

PAGE_FILE = "page.html"


class PageError(RuntimeError):
    """page.html is not in the shape the CSP is computed from (a packaging or editing mistake)."""


@functools.cache
def html() -> str:
    return resources.files("eventstream.dashboard").joinpath(PAGE_FILE).read_text(encoding="utf-8")


def _only_block(tag: str, page: str) -> str:
    # Attribute-less tags only: a nonce or src= would change what the hash has to cover.
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    if len(blocks) != 1 or len(re.findall(rf"<{tag}\b", page)) != 1:
        raise PageError(f"{PAGE_FILE} must hold exactly one <{tag}> block without attributes")
    return str(blocks[0])


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@functools.cache
def content_security_policy() -> str:
    page = html()
    directives = {
        "default-src": "'none'",
        "script-src": _sha256(_only_block("script", page)),
        "style-src": _sha256(_only_block("style", page)),
        "connect-src": "'self'",  # GET v1/stats/realtime on the same API
        "img-src": "data:",  # the empty favicon, so the browser asks for no /favicon.ico
        "base-uri": "'none'",
        "form-action": "'none'",  # the key form is handled in script, never submitted
        "frame-ancestors": "'none'",
        "require-trusted-types-for": "'script'",  # no innerHTML and friends, ever
        "trusted-types": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def headers() -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        # Revalidated each time: a deploy changes page and hashes together.
        "Cache-Control": "no-cache",
    }
