"""The topic grammar and ACL patterns: what is a topic, what a pattern matches, what is refused."""

from __future__ import annotations

import pytest

from eventstream.topics import (
    MAX_TOPIC_LENGTH,
    TopicError,
    is_valid_pattern,
    is_valid_topic,
    pattern_matches,
    validate_pattern,
    validate_topic,
)

VALID_TOPICS = [
    "a",
    "sensor",
    "sensor/temp",
    "sensor/a/b",
    "orders_eu-west-1/created",
    "0/1/2",
    "a" * MAX_TOPIC_LENGTH,
    "/".join(["ab"] * 85),  # 254 characters, 85 levels
]

# (topic, words the reason must contain)
INVALID_TOPICS = [
    ("", "empty"),
    ("/sensor", "empty level"),
    ("sensor/", "empty level"),
    ("sensor//temp", "empty level"),
    ("sensor/../admin", "relative"),
    ("sensor/./temp", "relative"),
    ("..", "relative"),
    ("Sensor/temp", "upper-case"),
    ("SENSOR", "upper-case"),
    ("sensor/t\u0435mp", "U+0435"),  # Cyrillic '\u0435'
    ("sensor/temp\u0430", "U+0430"),  # Cyrillic '\u0430'
    ("\uff53\uff45\uff4e\uff53\uff4f\uff52", "U+FF53"),  # fullwidth
    ("sensor/temp\n", "U+000A"),
    ("sensor/temp\x00", "U+0000"),
    ("sensor temp", "U+0020"),
    ("sensor/te%6Dp", "U+0025"),  # percent-encoding is not decoded
    ("sensor/+", "U+002B"),
    ("sensor/*", "U+002A"),  # wildcards are for patterns, not topics
    ("sensor/#", "U+0023"),
    ("sensor.temp", "U+002E"),
    ("\u00df", "U+00DF"),
    ("a" * (MAX_TOPIC_LENGTH + 1), "at most 255"),
]


@pytest.mark.parametrize("topic", VALID_TOPICS)
def test_valid_topics_pass(topic: str) -> None:
    assert validate_topic(topic) == topic
    assert is_valid_topic(topic)


@pytest.mark.parametrize(
    ("topic", "reason"), INVALID_TOPICS, ids=[repr(t) for t, _ in INVALID_TOPICS]
)
def test_invalid_topics_are_refused_with_a_reason(topic: str, reason: str) -> None:
    assert not is_valid_topic(topic)
    with pytest.raises(TopicError) as caught:
        validate_topic(topic)
    assert reason in str(caught.value)


@pytest.mark.parametrize("value", [None, 7, b"sensor", ["sensor"]])
def test_non_strings_are_not_topics(value: object) -> None:
    assert not is_valid_topic(value)
    with pytest.raises(TopicError, match="must be a string"):
        validate_topic(value)  # type: ignore[arg-type]
    assert not pattern_matches("#", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pattern", ["sensor/*", "sensor/#", "*", "#", "*/temp", "*/*/#", "sensor/*/temp", "a/b/c"]
)
def test_valid_patterns(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern
    assert is_valid_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("sensor/#/temp", "last level"),
        ("#/sensor", "last level"),
        ("sensor/te*", "whole level"),
        ("sensor/#x", "whole level"),
        ("sensor/**", "whole level"),
        ("sensor//*", "empty level"),
        ("sensor/*/", "empty level"),
        ("", "empty"),
        ("Sensor/*", "upper-case"),
        ("sensor/*\n", "whole level"),
        ("sensor/a\n", "U+000A"),
        ("sensor/../#", "relative"),
        ("\u0455ensor/#", "U+0455"),  # Cyrillic '\u0455'
        ("sensor/+", "U+002B"),  # MQTT's single-level wildcard is not ours
        ("a/" * 128 + "#", "at most 255"),
    ],
)
def test_invalid_patterns_are_refused(pattern: str, reason: str) -> None:
    assert not is_valid_pattern(pattern)
    with pytest.raises(TopicError) as caught:
        validate_pattern(pattern)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "topic", "matches"),
    [
        ("sensor/temp", "sensor/temp", True),
        ("sensor/temp", "sensor/temp2", False),
        ("sensor/temp", "sensor", False),
        # '*' is exactly one level
        ("sensor/*", "sensor/a", True),
        ("sensor/*", "sensor/a/b", False),
        ("sensor/*", "sensor", False),
        ("*/temp", "sensor/temp", True),
        ("*/temp", "temp", False),
        ("sensor/*/temp", "sensor/x/temp", True),
        ("sensor/*/temp", "sensor/x/y/temp", False),
        # '#' is one or more levels, and only at the end
        ("sensor/#", "sensor/a", True),
        ("sensor/#", "sensor/a/b/c", True),
        ("sensor/#", "sensor", False),
        ("sensor/#", "sensors/a", False),
        ("#", "anything/at/all", True),
        ("*/#", "a", False),
        ("*/#", "a/b", True),
        # no prefix or substring matching
        ("sensor", "sensor/a", False),
        ("sens", "sensor", False),
        # a topic outside the grammar never matches, even '#'
        ("#", "Sensor/a", False),
        ("#", "sensor/../admin", False),
        ("sensor/#", "sensor/\u0430", False),  # Cyrillic '\u0430'
        ("sensor/#", "sensor//a", False),
        ("sensor/#", "sensor/a\n", False),
        ("#", "a" * (MAX_TOPIC_LENGTH + 1), False),
        # an invalid pattern never matches
        ("sensor/#/a", "sensor/x/a", False),
        ("Sensor/*", "sensor/a", False),
        ("sensor/te*", "sensor/temp", False),
        ("", "sensor", False),
    ],
)
def test_pattern_matching(pattern: str, topic: str, matches: bool) -> None:
    assert pattern_matches(pattern, topic) is matches


def test_an_invalid_pattern_keeps_failing_after_valid_ones_are_cached() -> None:
    # Valid patterns are cached; an error must not be cached as a result.
    for _ in range(3):
        assert pattern_matches("sensor/*", "sensor/a")
        with pytest.raises(TopicError):
            validate_pattern("sensor/#/a")
