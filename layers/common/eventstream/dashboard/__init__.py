"""The live dashboard page (GET /dashboard): one self-contained HTML file and its headers."""

from eventstream.dashboard.page import content_security_policy, headers, html

__all__ = ["content_security_policy", "headers", "html"]
