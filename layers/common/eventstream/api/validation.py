"""Field checks for JSON bodies and query strings: every failure collected into one 422."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eventstream.api.problems import Problem


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Fields:
    """Read fields of one body; `done()` raises a 422 listing every bad field at once."""

    def __init__(self, data: Mapping[str, Any], *, allowed: set[str] | None = None) -> None:
        self.data = data
        self.errors: list[dict[str, str]] = []
        if allowed is not None:
            for name in sorted(set(data) - allowed):
                self.error(name, "is not a known field")

    def error(self, name: str, message: str) -> None:
        self.errors.append({"field": name, "message": message})

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        max_len: int = 255,
        min_len: int = 1,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return None
        if not isinstance(value, str):
            self.error(name, "must be a string")
            return None
        if not min_len <= len(value) <= max_len:
            self.error(name, f"must be {min_len} to {max_len} characters")
            return None
        if "\x00" in value:
            self.error(name, "must not contain NUL characters")
            return None
        if not value.isascii() and not _encodable(value):
            # A lone surrogate (legal in JSON, not in UTF-8) would fail deep in a query: a 500.
            self.error(name, "must be valid Unicode text")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.error(name, hint or "has an invalid format")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error(name, "must be true or false")
            return None
        return value

    def string_list(
        self, name: str, *, choices: frozenset[str], required: bool = False
    ) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(name, "must be a list of strings")
            return None
        unknown = sorted(set(value) - choices)
        if unknown:
            self.error(name, f"unknown values {unknown}; allowed: {sorted(choices)}")
            return None
        return sorted(set(value))

    def done(self) -> None:
        if self.errors:
            raise Problem(422, "the request has invalid fields", errors=self.errors)


def query_int(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(422, f"{name} must be an integer from {low} to {high}")
    return int(raw)
