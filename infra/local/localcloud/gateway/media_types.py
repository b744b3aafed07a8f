"""An API's BinaryMediaTypes, matched the way API Gateway matches Content-Type and Accept."""

from __future__ import annotations

from collections.abc import Iterable


class BinaryMediaTypes:
    """Exact types (image/png), type wildcards (image/*) and */*; parameters are ignored."""

    __slots__ = ("_any", "_exact", "_prefixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        any_type = False
        for pattern in patterns:
            pattern = pattern.strip().lower()
            if pattern == "*/*":
                any_type = True
            elif pattern.endswith("/*"):
                prefixes.append(pattern[:-1])  # "image/*" -> "image/"
            elif pattern:
                exact.add(pattern)
        self._any = any_type
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return self._any or bool(self._exact) or bool(self._prefixes)

    def matches(self, media_type: str | None) -> bool:
        if self._any:
            return True
        if not media_type:
            return False
        essence = media_type.split(";", 1)[0].strip().lower()
        return essence in self._exact or essence.startswith(self._prefixes)

    def accepts_binary(self, accept: str | None) -> bool:
        """API Gateway looks only at the first type of Accept to decide to send binary back."""
        if self._any:
            return True
        if not accept:
            return False
        return self.matches(accept.split(",", 1)[0])
