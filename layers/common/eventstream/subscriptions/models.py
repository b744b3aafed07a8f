"""A subscription as the API shows it, and the pattern rules fan-out and access need."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from eventstream.topics import MULTI_LEVEL, SINGLE_LEVEL, validate_pattern

Mode = Literal["webhook", "pull"]
MODES: frozenset[str] = frozenset(("webhook", "pull"))
_LEVEL_RE = "[a-z0-9_-]+"


@dataclass(frozen=True)
class Subscription:
    id: str
    user_id: str
    topic_pattern: str
    mode: str
    webhook_url: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        return cls(
            id=str(row["id"]),
            user_id=str(row["user_id"]),
            topic_pattern=row["topic_pattern"],
            mode=row["mode"],
            webhook_url=row.get("webhook_url"),
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "topic_pattern": self.topic_pattern,
            "mode": self.mode,
            "webhook_url": self.webhook_url,
            "created_at": self.created_at,
        }


def pattern_regex(pattern: str) -> str:
    """The POSIX regex (for Postgres `~`) matching exactly the topics topics.pattern_matches does.

    Levels are `[a-z0-9_-]`, so a literal level needs no escaping; `*` is one level and a final
    `#` one or more.
    """
    levels = validate_pattern(pattern).split("/")
    parts: list[str] = []
    for i, level in enumerate(levels):
        sep = "/" if i else ""
        if level == MULTI_LEVEL:
            parts.append(f"{sep}{_LEVEL_RE}(/{_LEVEL_RE})*")
        elif level == SINGLE_LEVEL:
            parts.append(sep + _LEVEL_RE)
        else:
            parts.append(sep + re.escape(level))
    return "^" + "".join(parts) + "$"


def pattern_covers(outer: str, inner: str) -> bool:
    """Whether every topic `inner` matches is also matched by `outer` (both valid patterns).

    A topic is a pattern without wildcards, so this is pattern_matches for a plain topic.
    """
    o, i = validate_pattern(outer).split("/"), validate_pattern(inner).split("/")
    for n, level in enumerate(o):
        if level == MULTI_LEVEL:
            return len(i) > n  # '#' needs one level at least; an inner '#' gives one or more
        if n >= len(i) or i[n] == MULTI_LEVEL:
            return False
        if level != SINGLE_LEVEL and level != i[n]:
            return False
    return len(i) == len(o)
