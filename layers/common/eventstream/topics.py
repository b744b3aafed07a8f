"""The one topic grammar, and the ACL patterns over it.

A topic is levels of lower-case ASCII letters, digits, ``_`` and ``-`` joined by ``/``, 1-255
characters in all. Every entry point (publish, subscribe, ACL grant, the core) checks topics with
this module, so a pattern can never be escaped by a name another component reads differently.
Nothing is normalised: look-alikes (Cyrillic, fullwidth), case and percent-encoding are refused,
because normalising here and not elsewhere is exactly how two components disagree on a name.

An ACL pattern uses the same grammar per level, except that a level may be exactly ``*`` (one
level) and the last level may be ``#`` (one or more levels).
"""

from __future__ import annotations

import functools
import re

MAX_TOPIC_LENGTH = 255
SINGLE_LEVEL = "*"
MULTI_LEVEL = "#"

# fullmatch (not match + $) so a trailing newline is not accepted; an explicit ASCII class so
# no Unicode letter or digit slips in.
_LEVEL_RE = re.compile(r"[a-z0-9_-]+")
_TOPIC_RE = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")


class TopicError(ValueError):
    """A topic or pattern outside the grammar; the message says why, for the API's 422."""


def _bad_char_reason(level: str, index: int, what: str) -> str:
    for ch in level:
        if not _LEVEL_RE.fullmatch(ch):
            if "A" <= ch <= "Z":
                why = "upper-case letters are not allowed"
            elif ch.isascii() and ch.isprintable():
                why = "only a-z, 0-9, '_' and '-' are allowed"
            else:
                why = "only ASCII a-z, 0-9, '_' and '-' are allowed"
            # the code point, not the character: look-alikes print like the real thing
            return f"{what} level {index} contains {ch!r} (U+{ord(ch):04X}): {why}"
    return f"{what} level {index} is invalid"  # pragma: no cover - every caller has a bad char


def _check_levels(name: object, what: str, *, wildcards: bool) -> tuple[str, ...]:
    """The levels of ``name``, or a TopicError saying what is wrong with it."""
    if not isinstance(name, str):
        raise TopicError(f"{what} must be a string")
    if not name:
        raise TopicError(f"{what} must not be empty")
    if len(name) > MAX_TOPIC_LENGTH:
        raise TopicError(f"{what} is {len(name)} characters long; at most {MAX_TOPIC_LENGTH}")
    levels = tuple(name.split("/"))
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if _LEVEL_RE.fullmatch(level):
            continue
        n = i + 1
        if not level:
            raise TopicError(f"{what} has an empty level {n} (leading, trailing or double '/')")
        if wildcards and level == SINGLE_LEVEL:
            continue
        if wildcards and level == MULTI_LEVEL:
            if i == last:
                continue
            raise TopicError(f"'#' is only allowed as the last level of a {what}")
        if wildcards and (SINGLE_LEVEL in level or MULTI_LEVEL in level):
            raise TopicError(f"{what} level {n}: a wildcard must be a whole level ('*' or '#')")
        if level in (".", ".."):
            raise TopicError(f"{what} level {n} is {level!r}: relative levels are not allowed")
        raise TopicError(_bad_char_reason(level, n, what))
    return levels


def validate_topic(name: str) -> str:
    """Return ``name`` if it is a valid topic, else raise TopicError with the reason."""
    # The fast path is one regex: the common case (a valid topic) pays nothing more.
    if isinstance(name, str) and len(name) <= MAX_TOPIC_LENGTH and _TOPIC_RE.fullmatch(name):
        return name
    _check_levels(name, "topic", wildcards=False)
    raise TopicError("topic is invalid")  # pragma: no cover - _check_levels raised already


def is_valid_topic(name: object) -> bool:
    return (
        isinstance(name, str) and len(name) <= MAX_TOPIC_LENGTH and bool(_TOPIC_RE.fullmatch(name))
    )


@functools.lru_cache(maxsize=1024)
def _parse_pattern(pattern: str) -> tuple[str, ...]:
    # Cached: a user's ACL has a handful of patterns checked on every request of a warm worker.
    # Only valid patterns are cached (lru_cache does not store raised exceptions).
    return _check_levels(pattern, "pattern", wildcards=True)


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid ACL pattern, else raise TopicError with the reason."""
    if not isinstance(pattern, str):
        raise TopicError("pattern must be a string")
    _parse_pattern(pattern)
    return pattern


def is_valid_pattern(pattern: object) -> bool:
    try:
        validate_pattern(pattern)  # type: ignore[arg-type]
    except TopicError:
        return False
    return True


def pattern_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` falls under ``pattern``; an invalid pattern or topic never matches."""
    if not isinstance(pattern, str) or not is_valid_topic(topic):
        return False
    try:
        levels = _parse_pattern(pattern)
    except TopicError:
        return False
    parts = topic.split("/")
    if levels[-1] == MULTI_LEVEL:
        levels = levels[:-1]
        # '#' needs at least one level of its own: 'sensor/#' does not match 'sensor'.
        if len(parts) <= len(levels):
            return False
    elif len(parts) != len(levels):
        return False
    return all(p in (SINGLE_LEVEL, t) for p, t in zip(levels, parts, strict=False))
