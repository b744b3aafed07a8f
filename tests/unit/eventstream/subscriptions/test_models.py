"""Pattern rules: the SQL regex agrees with topics.pattern_matches; coverage for access checks."""

from __future__ import annotations

import itertools
import re

import pytest

from eventstream.subscriptions.models import pattern_covers, pattern_regex
from eventstream.topics import pattern_matches

TOPICS = [
    "a",
    "b",
    "a/b",
    "a/c",
    "a/b/c",
    "a/b/c/d",
    "b/b",
    "sensor/temp",
    "sensor/temp/1",
    "sensor",
    "a-b/c_d",
    "ab",
    "a/bc",
]
PATTERNS = ["a", "a/b", "a/*", "a/#", "*", "#", "*/b", "a/*/c", "*/#", "sensor/#", "a/b/#", "ab/#"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_regex_matches_exactly_what_pattern_matches_does(pattern: str) -> None:
    # Python's re and Postgres' POSIX regex agree on this subset (anchors, classes, groups, *).
    regex = re.compile(pattern_regex(pattern))
    for topic in TOPICS:
        assert bool(regex.search(topic)) == pattern_matches(pattern, topic), (pattern, topic)


@pytest.mark.parametrize(("outer", "inner"), list(itertools.product(PATTERNS, PATTERNS + TOPICS)))
def test_coverage_agrees_with_matching_on_every_topic(outer: str, inner: str) -> None:
    covered = pattern_covers(outer, inner)
    inner_topics = [t for t in TOPICS if pattern_matches(inner, t)]
    if covered:
        # Sound: every topic the inner pattern matches, the outer one matches too.
        assert all(pattern_matches(outer, t) for t in inner_topics), (outer, inner)
    if inner in TOPICS:
        assert covered == pattern_matches(outer, inner)


def test_coverage_examples() -> None:
    assert pattern_covers("a/#", "a/*")
    assert pattern_covers("a/#", "a/b/#")
    assert pattern_covers("*/#", "a/#")
    assert not pattern_covers("a/*", "a/#")
    assert not pattern_covers("a/b", "a/*")
    assert not pattern_covers("a/#", "a")
    assert not pattern_covers("a/#", "#")
